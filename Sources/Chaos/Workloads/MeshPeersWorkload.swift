import SimKernel
import SimServices
import Yams

/// Operator tools talking to the admin service over mutual TLS, from the `client` node, straight
/// to the admin service's address. An **ops agent** with a client certificate issued by the
/// platform's root sets t1's quota every `interval_ms`; an **impostor** tries, in turn, a chain under
/// a look-alike CA of its own (the same name, its own key), a self-signed leaf, a leaf of the
/// platform's root that has expired, a leaf "issued" by another leaf, and no certificate at all.
/// Every impostor's request must be refused (and logged); the agent's must go through.
public struct MeshPeersWorkload: Workload {
    public static let name = "mesh_peers"
    public static let requiredRoles = ["client", "admin"]
    public static let keys = ["requests", "interval_ms"]

    public var requests = 20
    public var intervalMillis = 500

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "requests": requests = Int(try reader.integer(value, path, in: 1 ... 100_000))
            default: intervalMillis = Int(try reader.integer(value, path, in: 1 ... 600_000))
            }
        }
    }

    /// The impostor's chains (leaf first), each with what it tries.
    public static let impostorChains: [(what: String, chain: [PeerCertificate])] = {
        let rootName = PlatformPKI.root.subject
        // The attacker's own CA under the platform root's name, and what it signs.
        let fakeRoot = PlatformPKI.issue(subject: rootName, isCA: true, usage: "ca", keyName: "attacker root", issuer: rootName, issuerKeyName: "attacker root")
        let underFake = PlatformPKI.issue(subject: "ops-agent", isCA: false, usage: "clientAuth", keyName: "impostor", issuer: rootName, issuerKeyName: "attacker root")
        let selfSigned = PlatformPKI.issue(subject: "ops-agent", isCA: false, usage: "clientAuth", keyName: "impostor", issuer: "ops-agent", issuerKeyName: "impostor")
        let expired = PlatformPKI.clientCertificate("old-agent", notBefore: -1_000, notAfter: -10)  // expired before the run (clocks start at 0)
        let issuedByLeaf = PlatformPKI.issue(subject: "ops-agent", isCA: false, usage: "clientAuth", keyName: "impostor", issuer: "intern", issuerKeyName: "intern")
        return [("look-alike root", [underFake, fakeRoot]), ("self-signed leaf", [selfSigned]), ("expired leaf", [expired]),
                ("leaf issued by a leaf", [issuedByLeaf, PlatformPKI.clientCertificate("intern")]), ("no certificate", [])]
    }()

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let admin = platform.directory.services["admin"] else { return }
        let simulation = platform.simulation, requests = self.requests, interval = Int64(intervalMillis) * Nanos.millisecond
        func send(_ context: ProcessContext, _ chain: [PeerCertificate], quota: Int) {
            var headers: [String: String] = [:]
            if !chain.isEmpty { headers[PlatformPKI.header] = PeerCertificate.header(chain) }
            let request = HTTPRequest("POST", "admin/ops/quota", body: ["tenant": "t1", "quota": "\(quota)"], headers: headers)
            simulation.spawn { _ = await context.call(admin, HTTPMessage.request(request), timeout: 2 * Nanos.second) }
        }
        client.addProcess("ops-agent") { context in
            let chain = [PlatformPKI.clientCertificate("ops-agent")]
            for i in 0 ..< requests {
                await context.sleep(nanoseconds: interval)
                send(context, chain, quota: 1_000 + i)
            }
        }
        client.addProcess("impostor") { context in
            for i in 0 ..< requests {
                await context.sleep(nanoseconds: interval)
                send(context, Self.impostorChains[i % Self.impostorChains.count].chain, quota: 1_000_000)
            }
        }
    }
}

import SimKernel
import SimServices
import Yams

/// Operator tools talking to the admin service over mutual TLS, from the `client` node, straight
/// to the admin service's address. An **ops agent** with a client certificate issued by the
/// platform's root sets t1's quota every `interval_ms`; an **impostor** tries, in turn, a chain under
/// a look-alike CA of its own (the same name, its own key), a self-signed leaf, a leaf of the
/// platform's root that has expired, a leaf "issued" by another leaf, no certificate at all, the
/// agent's own certificate with a proof signed by another key (a copied certificate), a genuine
/// certificate of a peer that is not an operator, and the agent's last request sent again
/// verbatim (a replayed proof). Every request carries a proof of possession signed with the key
/// its sender holds (`x-client-proof`). Every impostor's request must be refused (and logged);
/// the agent's must go through.
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
                ("leaf issued by a leaf", [issuedByLeaf, PlatformPKI.clientCertificate("intern")]), ("no certificate", []),
                ("copied leaf", [PlatformPKI.clientCertificate("ops-agent")]), ("not an operator", [PlatformPKI.clientCertificate("intern")]),
                ("replayed proof", [])]
    }()

    /// The key each impostor chain signs its proof with: the impostor's own, but the intern's
    /// (whose certificate is genuine, only not an operator's).
    static func impostorKey(_ what: String) -> String { what == "not an operator" ? "intern" : "impostor" }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let admin = platform.directory.services["admin"] else { return }
        let simulation = platform.simulation, requests = self.requests, interval = Int64(intervalMillis) * Nanos.millisecond
        // The agent's last request that went through, as it went out: what an eavesdropper
        // replays (captured once answered, so the replay never races its original).
        var captured: HTTPRequest?
        /// A quota request carrying `chain` and a fresh proof signed with the key named `keyName`.
        func request(_ context: ProcessContext, _ chain: [PeerCertificate], keyName: String, quota: Int) -> HTTPRequest {
            let body = ["tenant": "t1", "quota": "\(quota)"]
            var headers: HTTPHeaders = [:]
            if !chain.isEmpty { headers[PlatformPKI.header] = PeerCertificate.header(chain) }
            let nonce = context.withRandom { random in (0 ..< 16).map { _ in String(random.uniform(0 ..< 16), radix: 16) }.joined() }
            headers[PlatformPKI.proofHeader] = PlatformPKI.prove(keyName: keyName, method: "POST", path: "admin/ops/quota", body: body,
                                                                 timestamp: context.localTime / Nanos.second, nonce: nonce)
            return HTTPRequest("POST", "admin/ops/quota", body: body, headers: headers)
        }
        func send(_ context: ProcessContext, _ request: HTTPRequest) {
            simulation.spawn { _ = await context.call(admin, HTTPMessage.request(request), timeout: 2 * Nanos.second) }
        }
        client.addProcess("ops-agent") { context in
            let chain = [PlatformPKI.clientCertificate("ops-agent")]
            for i in 0 ..< requests {
                await context.sleep(nanoseconds: interval)
                let sent = request(context, chain, keyName: "ops-agent", quota: 1_000 + i)
                simulation.spawn {
                    if case .success(let envelope) = await context.call(admin, HTTPMessage.request(sent), timeout: 2 * Nanos.second),
                       case .response(let response) = envelope.payload as? HTTPMessage, response.status == 200 { captured = sent }
                }
            }
        }
        client.addProcess("impostor") { context in
            for i in 0 ..< requests {
                await context.sleep(nanoseconds: interval)
                let (what, chain) = Self.impostorChains[i % Self.impostorChains.count]
                if what == "replayed proof" {
                    if let captured { send(context, captured) }
                } else {
                    send(context, request(context, chain, keyName: Self.impostorKey(what), quota: 1_000_000))
                }
            }
        }
    }
}

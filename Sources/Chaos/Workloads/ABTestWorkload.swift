import SimKernel
import SimServices
import Yams

/// Scenario 04's A/B test, driven by the `client` node through the gateway: a model with three
/// versions (control and A on the signature `age,income,score`, B adding `segment`), control
/// promoted to Production and A and B staged (deployed to every replica), an experiment splitting
/// users over them (`arms`, basis points), then prediction traffic from `users` users, each
/// request carrying its user and named features; `legacy_share_percent` of the requests come
/// from an old client that does not send `segment`. Every answer is recorded for the checks.
public struct ABTestWorkload: Workload {
    public static let name = "ab_test"
    public static let requiredRoles = ["client", "gateway", "models", "registry", "inference"]
    public static let keys = ["model", "arms", "users", "requests_per_s", "legacy_share_percent", "cold_start_ms",
                              "prediction_ms_min", "prediction_ms_max", "settle_ms"]

    public var model = "ranker"
    public var arms = "1:5000,2:2500,3:2500"
    public var users = 2000
    public var requestsPerSecond = 60
    public var legacySharePercent = 10
    public var settleMillis = 5000
    public var serving = ServingConfiguration()

    /// The versions' signatures: control and A as the model was created, B with `segment`.
    public static let baseFeatures = ["age", "income", "score"]
    public func features(version: Int64) -> [String] { version >= 3 ? Self.baseFeatures + ["segment"] : Self.baseFeatures }

    public init() {
        serving.coldStartMillis = 2340
        serving.predictionMillis = 40 ... 48
    }

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        self.init()
        guard let node else { return }
        var minimum: (Int, Yams.Node)?, maximum: (Int, Yams.Node)?
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "model": model = try ServingClient.modelName(value, path, reader: reader)
            case "arms":
                arms = try reader.string(value, path)
                guard case .success(let parsed) = ABSplit.parse(arms) else {
                    if case .failure(let error) = ABSplit.parse(arms) { throw reader.fail(value, path, error.message) }
                    return
                }
                guard parsed.map(\.version) == Array(1 ... Int64(parsed.count)), parsed.count <= 3 else {
                    throw reader.fail(value, path, "the arms must be versions 1, 2 (and 3) in order: the workload registers those")
                }
            case "users": users = Int(try reader.integer(value, path, in: 1 ... 1_000_000))
            case "requests_per_s": requestsPerSecond = Int(try reader.integer(value, path, in: 0 ... 100_000))
            case "legacy_share_percent": legacySharePercent = Int(try reader.integer(value, path, in: 0 ... 100))
            case "cold_start_ms": serving.coldStartMillis = Int(try reader.integer(value, path, in: 0 ... 600_000))
            case "settle_ms": settleMillis = Int(try reader.integer(value, path, in: 0 ... 600_000))
            case "prediction_ms_min": minimum = (Int(try reader.integer(value, path, in: 0 ... 60_000)), value)
            default: maximum = (Int(try reader.integer(value, path, in: 0 ... 60_000)), value)
            }
        }
        serving.predictionMillis = try ServingClient.predictionRange(minimum: minimum, maximum: maximum, current: serving.predictionMillis,
                                                                     node: node, field: field, reader: reader)
    }

    public func configure(serving: inout ServingConfiguration) {
        serving = self.serving
    }

    /// The arms as parsed (validated when the scenario was read).
    public var parsedArms: ABSplit.Arms {
        if case .success(let parsed) = ABSplit.parse(arms) { return parsed }
        return []
    }

    public func artifact(version: Int64) -> ModelArtifact {
        let names = features(version: version)
        let weights: [Float] = [0.02, 0.00001, 0.5] + (names.count > 3 ? [0.8] : []) + [-1.5 + Float(version) * 0.1]
        return ModelArtifact(model: model, version: version, residentMiB: 50, weights: weights, features: names)
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let simulation = platform.simulation, workload = self
        let arms = parsedArms
        client.addProcess("experimenter") { context in
            _ = await ServingClient.untilAccepted(context, gateway: gateway, HTTPRequest("POST", "models/create", body: ["name": workload.model, "signature": Self.baseFeatures.map { "\($0):float" }.joined(separator: ",")]))
            for arm in arms {
                let bytes = workload.artifact(version: arm.version).encoded
                _ = await ServingClient.untilAccepted(context, gateway: gateway, HTTPRequest("POST", "registry/versions", body: [
                    "model": workload.model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes)),
                ]))
                let stage = arm.version == 1 ? "Production" : "Staging"
                _ = await ServingClient.untilAccepted(context, gateway: gateway, HTTPRequest("POST", "registry/stages", body: ["model": workload.model, "version": "\(arm.version)", "stage": stage]))
                simulation.serving.deployments.append((simulation.now, workload.model, arm.version))
            }
            // The replicas load and warm the versions from the deployments topic.
            await context.sleep(nanoseconds: Int64(workload.settleMillis) * Nanos.millisecond)
            _ = await ServingClient.untilAccepted(context, gateway: gateway, HTTPRequest("POST", "inference/experiments", body: ["model": workload.model, "arms": workload.arms]))
            simulation.serving.experimentStartedAt = simulation.now
            context.record(.experimentStarted, payload: stableHash(workload.arms), "A/B experiment on \(workload.model): \(workload.arms)")
        }
        guard workload.requestsPerSecond > 0 else { return }
        client.addProcess("ab-traffic") { context in
            let serving = simulation.serving
            let gap = Nanos.second / Int64(workload.requestsPerSecond)
            while true {
                await context.sleep(nanoseconds: ServingClient.poissonGap(context, mean: gap))
                guard serving.experimentStartedAt != nil else { continue }
                let (user, legacy, age) = context.withRandom { random in
                    ("u\(random.uniform(1 ..< workload.users + 1))", random.uniform(0 ..< 100) < workload.legacySharePercent, random.uniform(18 ..< 81))
                }
                var named = ["age": "\(age)", "income": "52000", "score": "0.7"]
                if !legacy { named["segment"] = "2" }
                let sent = named.keys.sorted()
                context.simulation.spawn {
                    let start = simulation.now
                    let body = ["model": workload.model, "user": user, "features": sent.map { "\($0)=\(named[$0]!)" }.joined(separator: ",")]
                    let outcome = await context.call(gateway, HTTPMessage.request(HTTPRequest("POST", "inference/predict", body: body)), timeout: 5 * Nanos.second)
                    guard case .success(let envelope) = outcome, case .response(let response) = envelope.payload as? HTTPMessage else { return }
                    serving.answers.append(ServingObservations.Answer(
                        sentAt: start, answeredAt: simulation.now, model: workload.model, version: nil, status: response.status, replica: response.body["replica"],
                        error: response.body["error"], user: user, servedVersion: response.body["version"].flatMap { Int64($0) }, features: sent,
                        computeMillis: response.body["compute_ms"].flatMap { Int($0) }))
                    serving.revision &+= 1
                }
            }
        }
    }
}

extension TraceKind {
    public static let experimentStarted = TraceKind("client.experiment")
}

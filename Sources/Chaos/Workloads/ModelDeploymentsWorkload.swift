import SimKernel
import SimServices
import Yams

/// Scenario 01's night of deployments, sent by the `client` node through the gateway: a model is
/// created, then `deploys` versions are registered (each artifact a real set of weights with a
/// declared resident size) and promoted to Production one after another, `deploy_interval_ms`
/// apart; every inference replica loads each promoted version from the deployments topic. Every
/// `rollback_every`-th deployment (but the last) is rolled back at once: the previous version is
/// staged and promoted again. Beside it, prediction traffic at `requests_per_s`, each request on
/// three small integer features (0-3): `hot_share_percent` of it pinned to version 1 (a large customer
/// that never migrated), the rest to the model's Production version. `prediction_cache_ms` turns
/// on the replicas' shared prediction cache with that time to live; `canary_percent` rolls each
/// version out as a canary first (every `canary_rollback_every`-th rolled back instead);
/// `autoscale_target_rps` autoscales the replicas the gateway uses on their request rates. Each answer is recorded (with
/// its inputs and probability) for the serving checks.
public struct ModelDeploymentsWorkload: Workload {
    public static let name = "model_deployments"
    public static let requiredRoles = ["client", "gateway", "models", "registry", "inference"]
    public static let keys = ["model", "deploys", "deploy_interval_ms", "resident_mib", "cache_size", "base_mib",
                              "requests_per_s", "hot_share_percent", "prediction_ms_min", "prediction_ms_max", "rollback_every", "prediction_cache_ms",
                              "canary_percent", "canary_rollback_every", "autoscale_target_rps"]

    public var model = "fraud-detector"
    public var deploys = 20
    public var deployIntervalMillis = 400
    public var residentMiB = 500
    public var requestsPerSecond = 100
    public var hotSharePercent = 30
    /// Every n-th deployment is rolled back (0: none).
    public var rollbackEvery = 0
    /// Each version first serves `canaryPercent` % of the traffic without a version as a canary
    /// (0: promoted at once); every `canaryRollbackEvery`-th canary is rolled back instead of
    /// promoted, while the rollout steps it to 50 % at the same moment.
    public var canaryPercent = 0
    public var canaryRollbackEvery = 0
    public var serving = ServingConfiguration()

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        var minimum: (Int, Yams.Node)?, maximum: (Int, Yams.Node)?
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "model": model = try ServingClient.modelName(value, path, reader: reader)
            case "deploys": deploys = Int(try reader.integer(value, path, in: 1 ... 10_000))
            case "deploy_interval_ms": deployIntervalMillis = Int(try reader.integer(value, path, in: 1 ... 3_600_000))
            case "resident_mib": residentMiB = Int(try reader.integer(value, path, in: 0 ... 1 << 20))
            case "cache_size": serving.cacheSize = Int(try reader.integer(value, path, in: 1 ... 10_000))
            case "base_mib": serving.baseMiB = Int(try reader.integer(value, path, in: 0 ... 1 << 24))
            case "requests_per_s": requestsPerSecond = Int(try reader.integer(value, path, in: 0 ... 100_000))
            case "hot_share_percent": hotSharePercent = Int(try reader.integer(value, path, in: 0 ... 100))
            case "rollback_every": rollbackEvery = Int(try reader.integer(value, path, in: 0 ... 10_000))
            case "autoscale_target_rps": serving.autoscaleTargetPerReplica = Int(try reader.integer(value, path, in: 0 ... 1_000_000))
            case "canary_percent": canaryPercent = Int(try reader.integer(value, path, in: 0 ... 100))
            case "canary_rollback_every": canaryRollbackEvery = Int(try reader.integer(value, path, in: 0 ... 10_000))
            case "prediction_cache_ms": serving.predictionCacheMillis = Int(try reader.integer(value, path, in: 0 ... 86_400_000))
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

    /// Version `version`'s artifact: the base weights nudged by the version (real, distinct weights).
    public func artifact(version: Int64) -> ModelArtifact {
        let nudge = Float(version) * 0.01
        return ModelArtifact(model: model, version: version, residentMiB: residentMiB, weights: [0.8 + nudge, -0.5, 0.3 - nudge, 0.1])
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let simulation = platform.simulation, workload = self
        // The deployer and the traffic act as one scientist of t1 (deny by default: a token each request).
        let api = PlatformClient(gateway: gateway, user: "ml-engineer")
        client.addProcess("deployer") { context in
            _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "models/create", body: ["name": workload.model, "signature": "f0:float,f1:float,f2:float"]))
            for deploy in 1 ... workload.deploys {
                let next = Int64(deploy)  // the registry numbers them 1, 2, ... as they come
                let bytes = workload.artifact(version: next).encoded
                let registered = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/versions", body: [
                    "model": workload.model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes)),
                ]))
                guard let version = registered["version"].flatMap({ Int64($0) }) else { continue }
                if workload.canaryPercent > 0 {
                    _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/canary", body: [
                        "model": workload.model, "version": "\(version)", "percent": "\(workload.canaryPercent)", "start": "true"]))
                    await context.sleep(nanoseconds: Int64(workload.deployIntervalMillis) * Nanos.millisecond / 2)
                    let step = HTTPRequest("POST", "registry/canary", body: ["model": workload.model, "version": "\(version)", "percent": "50"])
                    if workload.canaryRollbackEvery > 0, deploy % workload.canaryRollbackEvery == 0 {
                        // The canary's health check fails: the monitor rolls it back while the
                        // rollout controller, unaware, steps it to 50 % (one try: a refusal is its answer).
                        context.simulation.spawn { _ = await api.call(context, step, timeout: 3 * Nanos.second) }
                        _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/canary/rollback", body: ["model": workload.model]))
                        simulation.serving.canaryRollbacks.append((simulation.now, ServingClient.servedKey(workload.model), version))
                        context.record(.canaryRolledBack, payload: UInt64(version), "\(workload.model) v\(version): canary rolled back")
                        await context.sleep(nanoseconds: Int64(workload.deployIntervalMillis) * Nanos.millisecond)
                        continue
                    }
                    _ = await api.call(context, step, timeout: 3 * Nanos.second)
                }
                _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/stages", body: ["model": workload.model, "version": "\(version)", "stage": "Production"]))
                simulation.serving.deployments.append((simulation.now, ServingClient.servedKey(workload.model), version))
                context.record(.modelDeployed, payload: UInt64(version), "\(workload.model) v\(version) promoted to Production")
                let promoted = simulation.serving.deployments
                if workload.rollbackEvery > 0, deploy % workload.rollbackEvery == 0, deploy < workload.deploys, promoted.count >= 2 {
                    // A rollback: the previous Production version (Archived by the promotion) is staged again, then promoted.
                    let previous = promoted[promoted.count - 2].version
                    for stage in ["Staging", "Production"] {
                        _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/stages", body: ["model": workload.model, "version": "\(previous)", "stage": stage]))
                    }
                    context.record(.modelRolledBack, payload: UInt64(previous), "\(workload.model) rolled back to v\(previous)")
                }
                await context.sleep(nanoseconds: Int64(workload.deployIntervalMillis) * Nanos.millisecond)
            }
        }
        guard workload.requestsPerSecond > 0 else { return }
        client.addProcess("traffic") { context in
            let serving = simulation.serving
            let gap = Nanos.second / Int64(workload.requestsPerSecond)
            while true {
                // Poisson arrivals: exponential gaps with the configured mean.
                await context.sleep(nanoseconds: ServingClient.poissonGap(context, mean: gap))
                guard !serving.deployments.isEmpty else { continue }
                let (hot, x) = context.withRandom { random in
                    (random.uniform(0 ..< 100) < workload.hotSharePercent, (0 ..< 3).map { _ in Float(random.uniform(0 ... 3)) })
                }
                let version: Int64? = hot ? 1 : nil
                context.simulation.spawn {
                    let sent = simulation.now
                    var body = ["model": workload.model, "x": x.map { "\(Int($0))" }.joined(separator: ",")]
                    if let version { body["version"] = "\(version)" }
                    let outcome = await api.call(context, HTTPRequest("POST", "inference/predict", body: body), timeout: 3 * Nanos.second)
                    guard case .success(let envelope) = outcome, case .response(let response) = envelope.payload as? HTTPMessage else { return }
                    var answer = ServingObservations.Answer(sentAt: sent, answeredAt: simulation.now, model: ServingClient.servedKey(workload.model), version: version,
                                                            status: response.status, replica: response.body["replica"], error: response.body["error"],
                                                            servedVersion: response.body["version"].flatMap { Int64($0) })
                    answer.p = response.body["p"].flatMap { Float($0) }
                    answer.inputs = x
                    answer.pinned = version != nil
                    serving.answers.append(answer)
                    serving.revision &+= 1
                }
            }
        }
    }
}

extension TraceKind {
    public static let modelDeployed = TraceKind("client.deploy")
    public static let modelRolledBack = TraceKind("client.rollback")
    public static let canaryRolledBack = TraceKind("client.canary-rollback")
}

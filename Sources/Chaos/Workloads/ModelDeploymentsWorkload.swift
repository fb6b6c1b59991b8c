import SimKernel
import SimServices
import Yams

/// Scenario 01's night of deployments, sent by the `client` node through the gateway: a model is
/// created, then `deploys` versions are registered (each artifact a real set of weights with a
/// declared resident size) and promoted to Production one after another, `deploy_interval_ms`
/// apart; every inference replica loads each promoted version from the deployments topic. Beside
/// it, prediction traffic at `requests_per_s`: `hot_share_percent` of it pinned to version 1 (a
/// large customer that never migrated), the rest to the newest version. Each answer is recorded
/// for the serving checks.
public struct ModelDeploymentsWorkload: Workload {
    public static let name = "model_deployments"
    public static let requiredRoles = ["client", "gateway", "models", "registry", "inference"]
    public static let keys = ["model", "deploys", "deploy_interval_ms", "resident_mib", "cache_size", "base_mib",
                              "requests_per_s", "hot_share_percent", "prediction_ms_min", "prediction_ms_max"]

    public var model = "fraud-detector"
    public var deploys = 20
    public var deployIntervalMillis = 400
    public var residentMiB = 500
    public var requestsPerSecond = 100
    public var hotSharePercent = 30
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
        client.addProcess("deployer") { context in
            _ = await ServingClient.untilAccepted(context, gateway: gateway, HTTPRequest("POST", "models/create", body: ["name": workload.model, "signature": "f0:float,f1:float,f2:float"]))
            for _ in 1 ... workload.deploys {
                let next = (simulation.serving.deployments.last?.version ?? 0) + 1
                let bytes = workload.artifact(version: next).encoded
                let registered = await ServingClient.untilAccepted(context, gateway: gateway, HTTPRequest("POST", "registry/versions", body: [
                    "model": workload.model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes)),
                ]))
                guard let version = registered["version"].flatMap({ Int64($0) }) else { continue }
                _ = await ServingClient.untilAccepted(context, gateway: gateway, HTTPRequest("POST", "registry/stages", body: ["model": workload.model, "version": "\(version)", "stage": "Production"]))
                simulation.serving.deployments.append((simulation.now, workload.model, version))
                context.record(.modelDeployed, payload: UInt64(version), "\(workload.model) v\(version) promoted to Production")
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
                guard let newest = serving.deployments.last?.version else { continue }
                let hot = context.withRandom { $0.uniform(0 ..< 100) } < workload.hotSharePercent
                let version: Int64 = hot ? 1 : newest
                context.simulation.spawn {
                    let sent = simulation.now
                    let request = HTTPRequest("POST", "inference/predict", body: ["model": workload.model, "version": "\(version)", "x": "1,2,3"])
                    let outcome = await context.call(gateway, HTTPMessage.request(request), timeout: 3 * Nanos.second)
                    guard case .success(let envelope) = outcome, case .response(let response) = envelope.payload as? HTTPMessage else { return }
                    serving.answers.append(ServingObservations.Answer(sentAt: sent, answeredAt: simulation.now, model: workload.model, version: version,
                                                                      status: response.status, replica: response.body["replica"], error: response.body["error"]))
                    serving.revision &+= 1
                }
            }
        }
    }
}

extension TraceKind {
    public static let modelDeployed = TraceKind("client.deploy")
}

import SimKernel

/// The online feature store on Redis: latest value per entity with a TTL enforced on read, and a
/// version per entity written compare-and-set. L7 runs its client in cluster mode; L14 makes
/// its bootstrap call the training service once, without waiting for it.
public enum FeaturesService {
    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "features") { runtime, request in
            let entity = request.body["entity"] ?? "", value = request.body["value"] ?? ""
            guard !entity.isEmpty else { return .error(400, "entity is required") }
            if runtime.memory["bootstrap.failed"] == "yes" { return .error(503, "feature store not bootstrapped: the training service was down at start-up") }
            let context = runtime.context
            if case .failure(let error) = await runtime.redis.run(.set("feature:\(entity)", value, onlyIfAbsent: false, expireMs: 60_000), context: context, idempotent: true) {
                return .error(500, "\(error)")
            }
            _ = await runtime.redis.run(.incr("feature:\(entity):version"), context: context, idempotent: false)
            guard case .success(.string(let read)) = await runtime.redis.run(.get("feature:\(entity)"), context: context) else { return .error(500, "value missing") }
            return HTTPResponse(200, ["value": read])
        }
        spec.usesRedis = true
        spec.bootstrap = { runtime in
            guard runtime.defects.contains(.L14) else { return nil }
            // L14: the bootstrap needs the training service, asked once.
            let context = runtime.context
            guard case .success(let instances) = await runtime.consul.healthy("training", context: context), let training = instances.first,
                  case .success = await context.call(training.address, HTTPMessage.request(HTTPRequest("POST", "training/jobs", body: ["job": "feature-bootstrap"])), timeout: Nanos.second) else {
                // L14 carries on without its bootstrap, and stays broken.
                runtime.memory["bootstrap.failed"] = "yes"
                context.record(.serviceStartupFailed, payload: 14, "features: bootstrap skipped: the training service is not up")
                return nil
            }
            return nil
        }
        return spec
    }
}

import SimKernel

/// The online feature store on Redis: latest value per entity with a TTL enforced on read, and a
/// version per entity written compare-and-set. L7 runs its client in cluster mode; L14 makes
/// its bootstrap call the training service once, without waiting for it.
///
/// Route: `PUT features/values` (PutFeature -> FeatureValue). Values live in Redis; in memory it
/// keeps only whether its bootstrap ran.
public enum FeaturesService {
    public struct PutFeature: Codable, Sendable, Equatable {
        public var entity: String
        public var value: String
    }
    public struct FeatureValue: Codable, Sendable, Equatable {
        /// The value read back from the online store.
        public var value: String
    }

    /// What the features service keeps in memory (lost on a crash, rebuilt by its start-up).
    public actor State {
        /// Its start-up went on without the bootstrap (L14): it serves nothing.
        public private(set) var bootstrapFailed = false
        func markBootstrapFailed() { bootstrapFailed = true }
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "features", routes: [
            Route("PUT", "features/values", PutFeature.self, FeatureValue.self) { runtime, request, _ throws(ServiceError) in
                guard !request.entity.isEmpty else { throw .badRequest("entity is required") }
                if await runtime.state(State.self).bootstrapFailed {
                    throw .unavailable("feature store not bootstrapped: the training service was down at start-up")
                }
                let context = runtime.context, entity = request.entity
                if case .failure(let error) = await runtime.redis.run(.set("feature:\(entity)", request.value, onlyIfAbsent: false, expireMs: 60_000), context: context, idempotent: true) {
                    throw .internalError("\(error)")
                }
                // The version moves with every value: a value whose version write failed is not
                // answered 200 (the client writes it again).
                if case .failure(let error) = await runtime.redis.run(.incr("feature:\(entity):version"), context: context, idempotent: false) {
                    throw .internalError("\(entity): the value was written but not its version: \(error)")
                }
                guard case .success(.string(let read)) = await runtime.redis.run(.get("feature:\(entity)"), context: context) else { throw .internalError("value missing") }
                return FeatureValue(value: read)
            },
        ])
        spec.usesRedis = true
        spec.configuration.redisClusterMode = defects.contains(.L7)  // L7: a cluster-mode client on a standalone Redis
        spec.makeState = { State() }
        spec.bootstrap = { runtime in
            guard runtime.defects.contains(.L14) else { return nil }
            // L14: the bootstrap needs the training service, asked once.
            let context = runtime.context
            guard case .success(let instances) = await runtime.consul.healthy("training", context: context), let training = instances.first,
                  case .success = await context.call(training.address, HTTPMessage.request(HTTPRequest("POST", "training/jobs", body: ["job": "feature-bootstrap"])), timeout: Nanos.second) else {
                // L14 carries on without its bootstrap, and stays broken.
                await runtime.state(State.self).markBootstrapFailed()
                context.record(.serviceStartupFailed, payload: 14, "features: bootstrap skipped: the training service is not up")
                return nil
            }
            return nil
        }
        return spec
    }
}

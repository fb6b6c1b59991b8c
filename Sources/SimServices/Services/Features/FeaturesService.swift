import SimKernel

/// The feature store: an offline store in SQL (metrics_db) with point-in-time joins, an online
/// store on Redis with the TTL enforced on read and versioned compare-and-set writes,
/// materialization from offline to online (run as a pipeline task by the workers), and the
/// freshness of each view against its SLA. L7 runs its Redis client in cluster mode; L14 makes its
/// bootstrap call the training service once, without waiting for it.
///
/// Routes: `PUT features/values` (PutFeature -> FeatureValue), `POST features/views`,
/// `features/ingest`, `features/backfill`, `features/historical`, `features/online`,
/// `features/materialize`, `features/freshness` (see `FeatureRoutes`). Durable state lives in
/// metrics_db (views and their schema versions, rows, staged backfills) and Redis; in memory it
/// keeps only whether its bootstrap ran and which keys and backfills it is loading.
public enum FeaturesService {
    public struct PutFeature: Codable, Sendable, Equatable {
        public var entity: String
        public var value: String
    }
    public struct FeatureValue: Codable, Sendable, Equatable {
        /// The value read back from the online store.
        public var value: String
        /// Its version (compare-and-set: never goes back).
        public var version: Int64
    }

    /// What the features service keeps in memory (lost on a crash, rebuilt by its start-up).
    public actor State {
        /// Its start-up went on without the bootstrap (L14): it serves nothing.
        public private(set) var bootstrapFailed = false
        func markBootstrapFailed() { bootstrapFailed = true }
        /// Online keys whose read-through from the offline store is in flight (single flight).
        var loading: Set<String> = []
        /// Takes the load of `key`: false when another request already loads it.
        func beginLoad(_ key: String) -> Bool { loading.insert(key).inserted }
        func endLoad(_ key: String) { loading.remove(key) }
        func isLoading(_ key: String) -> Bool { loading.contains(key) }
        /// Backfills this process is loading (one set of loaders each).
        var backfilling: Set<Int64> = []
        func beginBackfill(_ id: Int64) -> Bool { backfilling.insert(id).inserted }
        func endBackfill(_ id: Int64) { backfilling.remove(id) }
    }

    /// The view of single values written with `PUT features/values`.
    public static let defaultView = "default"

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "features", routes: [
            Route("PUT", "features/values", PutFeature.self, FeatureValue.self) { runtime, request, info throws(ServiceError) in
                guard !request.entity.isEmpty else { throw .badRequest("entity is required") }
                try await FeatureRoutes.ensureBootstrapped(runtime)
                // A tenant's single values are its own: the entity is keyed under the caller's
                // tenant (a platform service's: t1), which never holds ':'.
                let context = runtime.context, entity = "\(info.tenant ?? "t1"):\(request.entity)"
                // The version comes first, then the value is written fenced by it: a slower
                // writer with an older version is refused, never overwrites the newer value.
                let version: Int64
                switch await runtime.redis.run(.incr("feature:\(entity):version"), context: context, idempotent: false) {
                case .success(.integer(let taken)): version = taken
                case .failure(let error): throw .unavailable("\(entity): cannot take a version: \(error)")
                case .success(let reply): throw .internalError("\(entity): cannot take a version: \(reply)")
                }
                let entry = OnlineStore.Entry(version: version, eventTime: context.localTime, values: [("value", request.value)])
                switch await runtime.redis.run(OnlineStore.write(entry, view: defaultView, entity: entity, defects: runtime.defects), context: context, idempotent: true) {
                case .success(.ok), .failure(.server(.staleFencingToken)): break  // refused: a newer version is already there
                default: throw .unavailable("\(entity): the value was not written")
                }
                guard case .success(.string(let read)) = await runtime.redis.run(.get(OnlineStore.key(view: defaultView, entity: entity)), context: context),
                      let stored = OnlineStore.Entry.decode(read), let value = stored.values.first?.1 else { throw .internalError("value missing") }
                return FeatureValue(value: value, version: stored.version)
            },
        ] + FeatureRoutes.routes)
        spec.database = "metrics_db"
        spec.migrations = OfflineStore.migrations
        spec.usesRedis = true
        spec.configuration.redisClusterMode = defects.contains(.L7)  // L7: a cluster-mode client on a standalone Redis
        spec.makeState = { State() }
        // Backfills a crash interrupted go on where their loaded parts end.
        spec.afterReady = { runtime in await Backfill.resume(runtime) }
        spec.bootstrap = { runtime in
            guard runtime.defects.contains(.L14) else { return nil }
            // L14: the bootstrap needs the training service, asked once.
            let context = runtime.context
            guard case .success(let instances) = await runtime.consul.healthy("training", context: context), let training = instances.first,
                  case .success = await context.call(training.address, HTTPMessage.request(ForwardedIdentity.asService("features", HTTPRequest("POST", "training/jobs", body: ["job": "feature-bootstrap"]), by: context, for: training.address)), timeout: Nanos.second) else {
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

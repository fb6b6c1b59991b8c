import SimKernel

/// What every platform service's start-up does, declared per service.
public struct ServiceSpec: Sendable {
    public var name: String
    /// The SQL database it owns (`models_db`, ...), if any.
    public var database: String?
    /// Schema migrations, applied in order, each once (recorded in `schema_migrations`).
    public var migrations: [String] = []
    public var topics: [String] = []
    public var buckets: [String] = []
    public var indices: [(String, [String: FieldType])] = []
    public var usesRedis = false
    /// Services that must be passing in Consul before this one starts.
    public var dependsOn: [String] = []
    /// Whether start-up creates its topics (L4: left to broker auto-creation, which is off).
    public var createsTopics = true
    /// Whether start-up creates its index mappings (L8: never created).
    public var createsIndexMappings = true
    /// The bucket name start-up uses for each bucket, and whether a failure to create one stops
    /// start-up (L9: an invalid name, the failure ignored).
    public var bucketName: @Sendable (String) -> String = { $0 }
    public var ignoresBucketFailures = false
    /// The name it registers under in Consul and whether with a health check (L6 gets them wrong).
    public var registrationName: String?
    public var registersWithHealthCheck = true
    /// Whether it registers (and passes its check) before its dependencies are ready (L5).
    public var registersBeforeDependencies = false
    /// A last start-up step; returns an error message when start-up must fail.
    public var bootstrap: (@Sendable (ServiceRuntime) async -> String?)?
    /// Work the service runs for as long as it lives once it is ready (consumers, sweeps, the
    /// training cluster's endpoints).
    public var afterReady: (@Sendable (ServiceRuntime) async -> Void)?
    /// The request handler.
    public var handle: @Sendable (ServiceRuntime, HTTPRequest) async -> HTTPResponse

    public init(name: String, handle: @escaping @Sendable (ServiceRuntime, HTTPRequest) async -> HTTPResponse) {
        self.name = name
        self.handle = handle
    }
}

/// A service process's view of the platform: its clients and its own state.
public final class ServiceRuntime: @unchecked Sendable {  // confined to its simulation's thread
    public let context: ProcessContext
    public let spec: ServiceSpec
    public let directory: PlatformDirectory
    public let defects: DefectSet
    public var memory: [String: String] = [:]
    public var counters: [String: Int] = [:]
    /// The scheduler's placed training jobs (restored from its database at start).
    public var placed: [TrainingJobSpec] = []

    init(context: ProcessContext, spec: ServiceSpec, directory: PlatformDirectory, defects: DefectSet) {
        self.context = context
        self.spec = spec
        self.directory = directory
        self.defects = defects
    }

    public var consul: ConsulClient { ConsulClient(server: directory.consul) }
    public var kafka: KafkaClient { KafkaClient(broker: directory.kafka) }
    public var redis: RedisClient { RedisClient(server: directory.redis, clusterMode: memory["redis.cluster"] == "yes") }
    public var objectStore: ObjectStoreClient { ObjectStoreClient(server: directory.objectStore) }
    public var search: SearchClient { SearchClient(server: directory.search) }
    public var sql: SQLClient? { spec.database.flatMap { directory.databases[$0] }.map { SQLClient(address: $0) } }
    public var observations: PlatformObservations { context.simulation.platformObservations }

    /// Runs a transaction on the service's own database.
    /// `owner` names the caller the transaction acts for in lock waits (see `SQLClient`).
    public func transaction(_ statements: [SQLStatement], asOwner owner: String? = nil) async -> Result<[SQLRows], SQLClientError> {
        guard let sql else { return .failure(.sql(SQLError(code: -1, message: "\(spec.name) has no database"))) }
        return await sql.transaction(statements, context: context, timeout: 500 * Nanos.millisecond, retries: 1, owner: owner)
    }

    /// Runs an interactive transaction on the service's own database, retried whole on a
    /// serialization failure, deadlock or lock timeout (see `SQLClient.interactive`).
    public func interactive<T: Sendable>(_ owner: String, _ body: (SQLSession) async -> Result<T, SQLClientError>) async -> Result<T, SQLClientError> {
        await interactive(asOwner: "\(context.node.name)/\(owner)", body)
    }

    /// The same, acting for `owner` (a caller of this service, named as its platform locks are):
    /// its database locks and waits carry that name into the lock manager's wait-for graph.
    public func interactive<T: Sendable>(asOwner owner: String, _ body: (SQLSession) async -> Result<T, SQLClientError>) async -> Result<T, SQLClientError> {
        guard let sql else { return .failure(.sql(SQLError(kind: .other, message: "\(spec.name) has no database"))) }
        return await sql.interactive(owner: owner, context: context, timeout: 500 * Nanos.millisecond, body)
    }

    /// Calls another service through the gateway (so the call is routed, checked and traced like
    /// a client's), retrying with jittered backoff until it answers 2xx or `attempts` run out.
    public func callThroughGateway(_ request: HTTPRequest, attempts: Int = .max) async -> HTTPResponse? {
        guard let gateway = directory.services["gateway"] else { return nil }
        var backoff = 50 * Nanos.millisecond
        for _ in 0 ..< attempts {
            if case .success(let envelope) = await context.call(gateway, HTTPMessage.request(request), timeout: 3 * Nanos.second),
               case .response(let response) = envelope.payload as? HTTPMessage, (200 ..< 300).contains(response.status) {
                return response
            }
            await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
            backoff = Swift.min(2 * Nanos.second, backoff * 2)
        }
        return nil
    }

    /// Waits with bounded, jittered exponential backoff (10 ms doubling to 2 s) until `probe` is true.
    public func waitUntil(_ what: String, _ probe: () async -> Bool) async {
        var backoff = 10 * Nanos.millisecond
        observations.update(spec.name) { $0.waitingFor.append(what) }
        while !(await probe()) {
            await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
            backoff = Swift.min(2 * Nanos.second, backoff * 2)
        }
        observations.update(spec.name) { state in state.waitingFor.removeAll { $0 == what } }
    }
}

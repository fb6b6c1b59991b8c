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
    /// What its configuration file and environment give it (the L2, L7, L10 and L12 defects
    /// set wrong values here, in the service they break).
    public var configuration = ServiceConfiguration()
    /// The HTTP API: method and path to a typed handler.
    public var routes: RouteTable
    /// The routes (`METHOD path`) a request may reach without a forwarded identity, because it
    /// carries its own proof (a login's API key, a refresh token, an operator's certificate).
    /// Every other route refuses such a request (401, logged): it is not the platform's own.
    public var routesWithOwnProof: Set<String> = []
    /// Requests for other services' paths (the gateway's proxying); nil: such a path is 404.
    public var forward: (@Sendable (ServiceRuntime, HTTPRequest) async -> HTTPResponse)?
    /// The service's in-memory state, made anew for each start of its process (so a crash loses
    /// it and nothing else: what must survive lives in the service's stores). An actor: the
    /// service's requests, consumers and sweeps run concurrently.
    public var makeState: @Sendable () -> any Sendable = { Empty() }

    public init(name: String, routes: [Route]) {
        self.name = name
        self.routes = RouteTable(routes)
    }

    /// Answers a request: a route of this service, or the forwarder for another service's path.
    func respond(_ runtime: ServiceRuntime, _ request: HTTPRequest) async -> HTTPResponse {
        if request.service != name, let forward { return await forward(runtime, request) }
        // Behind the gateway, an identity counts only with the gateway's signature, made at most
        // `ForwardedIdentity.windowNanos` ago for this very method, path and body; a request with
        // no identity at all only on a route that carries its own proof (G3 takes the headers on
        // trust, and a request without them as the platform's own, so a call straight to the
        // service claims whom it likes).
        guard name != "gateway" else { return await routes.respond(runtime, request) }
        let claimed = ForwardedIdentity.claimed(request.headers)
        if !claimed && !routesWithOwnProof.contains("\(request.method) \(request.path)") && !runtime.defects.contains(.G3) {
            let caller = "anonymous@\(request.headers[ServiceHost.remoteAddressHeader] ?? "?")"
            let refusal = await SecurityEvents.refuse(runtime, caller: caller, reason: "no identity on a call past the gateway", detail: "\(request.method) \(request.path)", status: 401)
            return .error(refusal.status, refusal.message)
        }
        if claimed {
            var problem = runtime.defects.contains(.G3) ? ForwardedIdentity.verify(request, now: runtime.context.localTime, audience: runtime.context.node.id).map { ($0, 401) }
                                                        : runtime.identityProblem(request, message: request.headers[ServiceHost.messageHeader])
            // Only a platform service acting as itself is the platform: a user's identity without
            // a tenant (its claims lost on the way, or an empty one) gets no platform powers.
            if problem == nil, !ForwardedIdentity.mayLackTenant(request.headers) { problem = ("identity of \(request.headers["x-user"] ?? "-") without a tenant", 401) }
            if let problem, !runtime.defects.contains(.G3) {
                let caller = "unsigned \(request.headers["x-user"] ?? "-") from \(request.headers[ServiceHost.remoteAddressHeader] ?? "?")"
                let refusal = await SecurityEvents.refuse(runtime, caller: caller, reason: problem.reason, detail: "\(request.method) \(request.path)", status: problem.status)
                return .error(refusal.status, refusal.message)
            }
            let security = runtime.context.simulation.security
            security.identityCalls.append((at: runtime.context.simulation.now, service: name, user: request.headers["x-user"] ?? "", role: request.headers["x-role"] ?? "",
                                           path: "\(request.method) \(request.path)", signed: problem == nil))
            security.revision &+= 1
        }
        return await routes.respond(runtime, request)
    }
}

/// A service's start-up configuration (what its config file and environment would give it),
/// checked at start-up: a bad value fails the start, and the supervisor retries it.
public struct ServiceConfiguration: Sendable, Equatable {
    /// The logging handler named in its logging configuration (L12 names one that does not exist).
    public var loggingHandler = "console"
    /// The message broker's URL, for services that take one (L10 uses the wrong protocol).
    public var brokerURL: String?
    /// Whether the service refuses to start without an accelerator (L2: no CPU fallback).
    public var acceleratorRequired = false
    /// Whether its node has an accelerator (from the topology).
    public var nodeHasAccelerator = false
    /// Whether its Redis client runs in cluster mode (L7, against a standalone Redis).
    public var redisClusterMode = false
    public init() {}

    /// Why start-up must fail with this configuration, or nil.
    public func problem(service: String) -> String? {
        if !["console", "json", "syslog"].contains(loggingHandler) {
            return "\(service): logging configuration names handler '\(loggingHandler)', which does not exist"
        }
        if let url = brokerURL, !url.hasPrefix("kafka://") { return "\(service): broker URL '\(url)' uses the wrong protocol (expected kafka://)" }
        if acceleratorRequired && !nodeHasAccelerator { return "\(service): no accelerator on this node and no CPU fallback" }
        return nil
    }
}

/// A service process's view of the platform: its clients and its own state.
public final class ServiceRuntime: @unchecked Sendable {  // confined to its simulation's thread
    public let context: ProcessContext
    public let spec: ServiceSpec
    public let directory: PlatformDirectory
    public let defects: DefectSet
    public let configuration: ServiceConfiguration
    /// The service's state (`ServiceSpec.makeState`), for this start of its process.
    let state: any Sendable

    /// This node's number among the service's replicas (1 for the first).
    public let replica: Int
    /// The nonces of the identity signatures this process has taken (`identityProblem`).
    let replays: ReplayCache

    init(context: ProcessContext, spec: ServiceSpec, directory: PlatformDirectory, defects: DefectSet, configuration: ServiceConfiguration = ServiceConfiguration(),
         replica: Int = 1) {
        self.replica = replica
        self.context = context
        self.spec = spec
        self.directory = directory
        self.defects = defects
        self.configuration = configuration
        state = spec.makeState()
        replays = ReplayCache(startedAt: context.localTime, marks: SignedUntilMarks(disk: context.disk, path: SignedUntilMarks.path(service: spec.name), startedAt: context.localTime))
    }

    /// Why this process cannot take the signed identity `request` carries (the reason and the
    /// status to answer), or nil: a signature not valid for this node now (401), a nonce taken
    /// before in another message (a replay: 401), or a signature dated before this process's
    /// start plus the mesh's clock tolerance, which the process before it may have taken (503:
    /// the sender signs it anew and sends it again). `message` is the transport message the
    /// request came in (`ServiceHost.messageHeader`): the network's duplicate of a message is
    /// taken as the original was (swarm seed 116 of scenario 06: a duplicate's 401, answered
    /// before the original, reached the registry as the answer to its call).
    func identityProblem(_ request: HTTPRequest, message: String?) -> (reason: String, status: Int)? {
        let now = context.localTime
        if let problem = ForwardedIdentity.verify(request, now: now, audience: context.node.id) { return (problem, 401) }
        let nonce = request.headers[ForwardedIdentity.nonceHeader] ?? ""
        switch replays.take(nonce, message: message ?? "", signedAt: ForwardedIdentity.signedAt(request), now: now, trueNow: context.simulation.now) {
        case .first, .duplicate: return nil
        case .replay: return ("identity signature replayed (nonce \(nonce))", 401)
        case .beforeStart: return ("identity signed before this process started: sign it anew", 503)
        // 503, not 401: the request may be a replay, or a caller's whose clock stepped back with
        // this node's; either way it is refused, and a caller of good faith signs it anew later.
        case .forgotten: return ("identity signed at \(ForwardedIdentity.signedAt(request)) ns, no later than a nonce this process has forgotten: sign it anew", 503)
        // The signature's time could not be made durable (a full disk): taking it would let the
        // next life take its replay.
        case .unrecorded: return ("cannot record the identity's signing time on this node's disk: sign it anew", 503)
        }
    }

    /// The service's state, as its own type.
    public func state<State>(_ type: State.Type) -> State {
        guard let typed = state as? State else { preconditionFailure("\(spec.name)'s state is \(Swift.type(of: state)), not \(State.self)") }
        return typed
    }

    public var consul: ConsulClient { ConsulClient(server: directory.consul) }
    public var kafka: KafkaClient { KafkaClient(broker: directory.kafka) }
    public var redis: RedisClient { RedisClient(server: directory.redis, clusterMode: configuration.redisClusterMode) }
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

    /// Calls another service through the gateway as this platform service (so the call is routed,
    /// checked and traced like a client's), retrying with jittered backoff until it answers 2xx
    /// or `attempts` run out.
    public func callThroughGateway(_ request: HTTPRequest, attempts: Int = .max) async -> HTTPResponse? {
        await askThroughGateway(request, attempts: attempts) { (200 ..< 300).contains($0.status) }
    }

    /// Sends `request` through the gateway as this platform service (`svc:<name>`, signed with
    /// the mesh key: `ForwardedIdentity.asService`) until `accept` takes an answer or `attempts`
    /// run out (nil then), backing off with jitter from 50 ms to 2 s between attempts.
    public func askThroughGateway(_ request: HTTPRequest, attempts: Int = .max, accept: (HTTPResponse) -> Bool) async -> HTTPResponse? {
        guard let gateway = directory.services["gateway"] else { return nil }
        var backoff = 50 * Nanos.millisecond
        for _ in 0 ..< attempts {
            // Signed anew each attempt: a signature is taken once, within `ForwardedIdentity.windowNanos`.
            let signed = ForwardedIdentity.asService(spec.name, request, by: context, for: gateway)
            if case .success(let envelope) = await context.call(gateway, HTTPMessage.request(signed), timeout: 3 * Nanos.second),
               case .response(let response) = envelope.payload as? HTTPMessage, accept(response) {
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

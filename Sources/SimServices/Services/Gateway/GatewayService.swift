import SimKernel

/// The API gateway: checks the request's origin against its CORS rule, has auth verify the
/// caller's token and forwards the identity it names (`x-user`, `x-tenant`; never the caller's
/// own), rate-limits each caller (GCRA per tenant and key, `RateLimiter`: 429 with Retry-After
/// beyond it), finds a passing instance of the target service through Consul (a listing at most
/// 100 ms old, as a watch keeps it), routes round-robin among those whose circuit breaker is closed (`CircuitBreaker`),
/// and retries a refused (503) or, for an idempotent request, an unanswered one once on another
/// instance while the retry budget allows (`RetryBudget`). Every routing decision and admission
/// is recorded for the routing and rate-limit checkers.
///
/// Route: `GET gateway/routes` (Empty -> RoutesServed); every other service's path is forwarded.
/// In memory: the round-robin positions, the limiter's arrival times, the breakers and the
/// budget (lost on a crash: a restarted gateway starts them over, which only forgives callers).
public enum GatewayService {
    public struct RoutesServed: Codable, Sendable, Equatable {
        /// How many times this gateway process answered `gateway/routes`.
        public var routes: Int
    }

    /// The gateway's in-memory state. A class confined to its simulation's thread, not an actor:
    /// none of its operations awaits, so each is atomic as it stands, and an actor's two hops per
    /// call were a third of a serving run's scheduler events (eight calls a request).
    public final class State: @unchecked Sendable {  // confined to its simulation's thread
        var turns: [String: Int] = [:]
        var routesAnswered = 0
        var limiter: RateLimiter?
        /// Tokens auth refused, per address the connections came from, and the verifications in
        /// flight from each: an address over the limit, or with a burst's worth of tokens being
        /// verified, sends no more tokens to auth until its bucket drains (a flood of junk tokens,
        /// sent one by one or all at once, costs at most the limit, plus a burst in flight, in
        /// auth calls and security events).
        var refusedTokens: RateLimiter?
        var verifying: [String: Int] = [:]
        var breaker: CircuitBreaker?
        var budget: RetryBudget?

        func configure(_ configuration: ServingConfiguration) {
            guard limiter == nil else { return }
            limiter = RateLimiter(perSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)
            refusedTokens = RateLimiter(perSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)
            breaker = CircuitBreaker(threshold: configuration.breakerThreshold, cooldown: Int64(configuration.breakerCooldownMillis) * 1_000_000)
            budget = RetryBudget(percent: configuration.retryBudgetPercent, minimumPerSecond: 10)
        }
        func admit(_ caller: String, at now: Int64) -> Result<Void, RateLimiter.RetryAfter> { limiter!.admit(caller, at: now) }
        /// The instances a request may go to now: breaker closed, or open past its cool-down (the
        /// request that goes there is its probe: `takeProbe`). Only looks: taking every open
        /// breaker's probe here left all but the chosen one half-open for ever, with no probe in
        /// flight (swarm seed 1106 of scenario 01: inference unreachable after 25 s).
        func allowed(_ instances: [ServiceInstance], at now: Int64) -> [ServiceInstance] {
            instances.filter { breaker!.wouldAllow($0.id, at: now) }
        }
        /// Marks the request going to `instance` as its breaker's probe when the breaker is open.
        func takeProbe(_ instance: String, at now: Int64) {
            _ = breaker!.allows(instance, at: now)
        }
        /// Records an upstream's outcome; true when it opened the instance's breaker.
        func record(_ instance: String, success: Bool, at now: Int64) -> Bool {
            let before = breaker!.opened
            breaker!.record(instance, success: success, at: now)
            return breaker!.opened > before
        }
        /// Each service's passing instances as Consul last listed them, and when (a short-lived
        /// view, as a Consul watch would keep: a failed instance is also caught by its breaker).
        var healthy: [String: (instances: [ServiceInstance], at: Int64)] = [:]
        func cachedHealthy(_ service: String, at now: Int64) -> [ServiceInstance]? {
            healthy[service].flatMap { now - $0.at < GatewayService.healthViewNanos ? $0.instances : nil }
        }
        func remember(healthy instances: [ServiceInstance], of service: String, at now: Int64) { healthy[service] = (instances, now) }

        /// The autoscaler's replica count for inference, as last read (and when).
        var scale: (replicas: Int, readAt: Int64)?
        func scaled(at now: Int64) -> Int? { scale.flatMap { now - $0.readAt < 1_000_000_000 ? $0.replicas : nil } }
        func remember(scale replicas: Int, at now: Int64) { scale = (replicas, now) }
        func deposit(at now: Int64) { budget!.deposit(at: now) }
        func withdraw(at now: Int64) -> Bool { budget!.withdraw(at: now) }
        /// The next round-robin position for `service`.
        func nextTurn(for service: String) -> Int {
            let turn = turns[service, default: 0]
            turns[service] = turn + 1
            return turn
        }
        func answeredRoutes() -> Int {
            routesAnswered += 1
            return routesAnswered
        }
    }

    /// How long the gateway routes on one listing of a service's passing instances: 100 ms.
    public static let healthViewNanos: Int64 = 100_000_000

    /// Origins allowed to call the platform; L11 forgot the admin dashboard's.
    static func allowedOrigins(_ defects: DefectSet) -> [String] {
        defects.contains(.L11) ? ["https://app.synapsenet.local"] : ["https://app.synapsenet.local", "https://admin.synapsenet.local"]
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "gateway", routes: [
            Route("GET", "gateway/routes", Empty.self, RoutesServed.self) { runtime, _, request throws(ServiceError) in
                guard allowedOrigins(runtime.defects).contains(request.origin) else { throw ServiceError(403, "CORS: origin \(request.origin) is not allowed") }
                return RoutesServed(routes: runtime.state(State.self).answeredRoutes())
            },
        ])
        spec.makeState = { State() }
        spec.forward = { runtime, request in await forward(runtime, request) }
        return spec
    }

    /// A request for another service: CORS, identity through auth, then one passing instance.
    static func forward(_ runtime: ServiceRuntime, _ incoming: HTTPRequest) async -> HTTPResponse {
        let context = runtime.context
        guard allowedOrigins(runtime.defects).contains(incoming.origin) else {
            return .error(403, "CORS: origin \(incoming.origin) is not allowed")
        }
        var request = incoming
        let remote = request.headers.removeValue(forKey: ServiceHost.remoteAddressHeader) ?? "unknown"
        let message = request.headers.removeValue(forKey: ServiceHost.messageHeader)
        // Identity: the gateway alone sets x-user/x-tenant/x-role, after auth verified the bearer
        // token and read the user's current role; then RBAC, deny by default, on that role.
        // A platform service calling through the gateway as itself (its identity signed with the
        // mesh key, which no client holds), from a node of the mesh, keeps it: it is checked
        // against the service role's grants and routed like a client's request. The same headers
        // from anywhere else are dropped below (a request without credentials).
        if runtime.directory.meshNodes.contains(remote), ForwardedIdentity.claimsService(request), request.headers[ForwardedIdentity.header] != nil {
            let caller = request.headers["x-user"] ?? "-"
            // Signed for this gateway, now, and never taken before (a replay from inside the mesh is refused).
            if let problem = runtime.identityProblem(request, message: message) {
                return await refuse(runtime, caller: "\(caller) from \(remote)", reason: problem.reason, detail: "\(request.method) \(request.path)", status: problem.status)
            }
            // Counted before RBAC judges it: a flood of refused requests costs at most the limit
            // in security events.
            if let refused = admit(runtime, request, caller: "platform/\(caller)") { return refused }
            if let denied = await deny(runtime, request, caller: caller, role: ForwardedIdentity.serviceRole) { return denied }
            return await route(runtime, request)
        }
        for header in ForwardedIdentity.identityHeaders + ForwardedIdentity.signatureHeaders { request.headers[header] = nil }
        // Deny by default: a request without a token is refused (401, logged as a security event
        // under the address it came from), except the few routes whose body carries its own proof
        // (an API key, a refresh token, the token to revoke): how a client gets a token at all.
        // The limiter counts the anonymous request first, so a flood of them is held to the limit
        // before any of it costs a security event.
        guard let token = request.headers["authorization"] else {
            if let refused = admit(runtime, request, caller: "anonymous@\(remote)") { return refused }
            guard publicRoutes.contains("\(request.method) \(request.path)") else {
                return await refuse(runtime, caller: "anonymous@\(remote)", reason: "no credentials", detail: "\(request.method) \(request.path)", status: 401)
            }
            return await route(runtime, request)
        }
        let identity: AuthService.Identity
        switch await verifiedIdentity(runtime, token: token, from: remote) {
        case .success(let verified): identity = verified
        case .failure(let refusal): return refusal.response
        }
        if let refused = admit(runtime, request, caller: "\(identity.tenant)/\(identity.user)") { return refused }
        if let denied = await deny(runtime, request, caller: "\(identity.user)@\(identity.tenant)", role: identity.role) { return denied }
        request.headers["x-user"] = identity.user
        request.headers["x-tenant"] = identity.tenant
        request.headers["x-role"] = identity.role
        context.simulation.security.authorized.append((at: context.simulation.now, user: identity.user, role: identity.role, method: request.method, path: request.path))
        context.simulation.security.revision &+= 1
        return await route(runtime, request)
    }

    /// An answer the gateway gives instead of routing (a refusal, or auth unavailable).
    struct Refusal: Error {
        let response: HTTPResponse
        init(_ response: HTTPResponse) { self.response = response }
    }

    /// The identity auth answers for `token`, sent from address `remote`, or the answer to give.
    static func verifiedIdentity(_ runtime: ServiceRuntime, token: String, from remote: String) async -> Result<AuthService.Identity, Refusal> {
        // A token costs auth a verification (and, refused, a security event): an address whose
        // tokens auth refused fill the limit, or with a burst's worth of verifications in flight,
        // is answered 429 before auth is asked, whatever its next token (a flood of junk holds its
        // own address back, as an anonymous flood does). Only a refusal is charged, so a good
        // token costs its address nothing once verified.
        let state = runtime.state(State.self)
        state.configure(runtime.directory.serving)
        let inFlight = state.verifying[remote, default: 0]
        let limited: Int64? = switch state.refusedTokens!.wouldAdmit(remote, at: runtime.context.simulation.now) {
        case .failure(let wait): wait.nanoseconds
        case .success: inFlight >= state.refusedTokens!.burst ? state.refusedTokens!.interval : nil
        }
        if let wait = limited {
            runtime.observations.rateLimited += 1
            runtime.observations.tokenChecksLimited += 1
            var refused = HTTPResponse.error(429, "rate limited: too many refused tokens from \(remote)")
            refused.body["retry_after_ms"] = "\((wait + Nanos.millisecond - 1) / Nanos.millisecond)"
            return .failure(Refusal(refused))
        }
        state.verifying[remote] = inFlight + 1
        let verdict = await verify(runtime, token: token)
        state.verifying[remote] = state.verifying[remote, default: 1] - 1
        if state.verifying[remote] == 0 { state.verifying[remote] = nil }
        // Not judged (auth did not answer, or answered 5xx): nothing is charged.
        guard let verdict, verdict.status < 500 else { return .failure(Refusal(.error(503, "auth did not answer"))) }
        // auth refused the gateway's own identity (a mesh clock more than the signature's window
        // away): the token was not judged, and is not charged to its address.
        if verdict.status == 401, let error = verdict.body["error"], error.hasPrefix("refused: identity") || error.hasPrefix("refused: no identity") {
            return .failure(Refusal(.error(503, "auth refused the gateway's identity: \(error)")))
        }
        // auth logged the refusal as a security event before it answered.
        guard verdict.status == 200, let identity = try? FormDecoder.decode(AuthService.Identity.self, from: verdict.body) else {
            _ = state.refusedTokens!.admit(remote, at: runtime.context.simulation.now)
            return .failure(Refusal(.error(401, "token refused: \(verdict.body["error"] ?? "")")))
        }
        return .success(identity)
    }

    /// auth's verdict on `token` (asked as `svc:gateway`), or nil when auth did not answer.
    static func verify(_ runtime: ServiceRuntime, token: String) async -> HTTPResponse? {
        let context = runtime.context
        guard let auth = runtime.directory.services["auth"],
              case .success(let envelope) = await context.call(auth, HTTPMessage.request(ForwardedIdentity.asService("gateway", HTTPRequest("POST", "auth/verify", body: FormEncoder.encode(AuthService.VerifyRequest(token: token))), by: context, for: auth)),
                                                               timeout: 2 * Nanos.second),
              case .response(let verdict) = envelope.payload as? HTTPMessage else { return nil }
        return verdict
    }

    /// RBAC, deny by default: nil when `role` may call the request's route, else its 403, logged.
    static func deny(_ runtime: ServiceRuntime, _ request: HTTPRequest, caller: String, role: String) async -> HTTPResponse? {
        guard !RBAC.permits(role: role, method: request.method, path: request.path) else { return nil }
        return await refuse(runtime, caller: caller, reason: "role \(role) may not \(request.method) \(request.service)", detail: request.path, status: 403)
    }

    /// A refusal logged as a security event, then answered (503 when the log is unreachable).
    static func refuse(_ runtime: ServiceRuntime, caller: String, reason: String, detail: String, status: Int) async -> HTTPResponse {
        let refusal = await SecurityEvents.refuse(runtime, caller: caller, reason: reason, detail: detail, status: status)
        return .error(refusal.status, refusal.message)
    }

    /// The routes a caller may use without a token: asking for one with an API key, opening or
    /// refreshing a session, revoking a token it holds (each body carries its own proof).
    public static let publicRoutes: Set<String> = ["POST auth/token", "POST auth/sessions", "POST auth/refresh", "POST auth/revoke"]

    /// The rate limit: nil when `caller` is admitted (recorded for the rate-limit checker), else
    /// the 429 it gets. `caller` is what the limit is kept under: an authenticated caller's
    /// tenant and user; an anonymous one the address its connection came from (set by the host,
    /// never by the caller), not a header it sends.
    static func admit(_ runtime: ServiceRuntime, _ request: HTTPRequest, caller: String) -> HTTPResponse? {
        let state = runtime.state(State.self), observations = runtime.observations, now = runtime.context.simulation.now
        state.configure(runtime.directory.serving)
        // Rate limit per caller, on the simulation's monotonic time (never the node's skewable clock).
        // I4: an anonymous caller is limited under the X-Forwarded-For it sends, so a client that
        // writes a new address in each request gets a fresh bucket each time.
        let limited = runtime.defects.contains(.I4) && caller.hasPrefix("anonymous@")
            ? request.headers["x-forwarded-for"].map { "anonymous@\($0)" } ?? caller : caller
        if case .failure(let wait) = state.admit(limited, at: now) {
            observations.rateLimited += 1
            var refused = HTTPResponse.error(429, "rate limited: \(caller) is over its limit")
            refused.body["retry_after_ms"] = "\((wait.nanoseconds + Nanos.millisecond - 1) / Nanos.millisecond)"
            return refused
        }
        observations.admissions[caller, default: []].append(now)
        observations.admissionsRevision &+= 1
        state.deposit(at: now)
        return nil
    }

    /// One passing instance of the request's service (retried once elsewhere when allowed). An
    /// identity the request carries is signed for each instance it is sent to, anew each time.
    static func route(_ runtime: ServiceRuntime, _ request: HTTPRequest) async -> HTTPResponse {
        let context = runtime.context, state = runtime.state(State.self), observations = runtime.observations
        let target = request.service
        guard var instances = await passingInstances(of: target, runtime, state) else { return .error(503, "Consul did not answer") }
        guard !instances.isEmpty else { return .error(503, "no passing instance of \(target)") }
        let idempotent = request.method == "GET" || request.path == "inference/predict"
        var tried: [String] = []
        while true {
            let open = state.allowed(instances.filter { !tried.contains($0.id) }, at: context.simulation.now)
            guard !open.isEmpty else {
                return .error(503, "every instance of \(target) has its circuit open")
            }
            let instance = open[state.nextTurn(for: target) % open.count]
            state.takeProbe(instance.id, at: context.simulation.now)
            tried.append(instance.id)
            observations.routings.append((context.simulation.now, target, instance.id))
            context.record(.gatewayRoute, payload: stableHash(instance.id), "\(request.method) /\(request.path) -> \(instance.id)")
            let answer: HTTPResponse
            var retryable: Bool
            var sent = request
            if ForwardedIdentity.claimed(request.headers) { ForwardedIdentity.sign(&sent, by: context, for: instance.address) }
            switch await context.call(instance.address, HTTPMessage.request(sent), timeout: 2 * Nanos.second) {
            case .success(let envelope):
                guard case .response(let response) = envelope.payload as? HTTPMessage else { return .error(502, "bad answer from \(instance.id)") }
                answer = response
                retryable = response.status == 503  // refused before it did anything
            case .failure(let error):
                answer = .error(504, "\(instance.id): \(error)")
                retryable = idempotent  // it may have been applied: only an idempotent request goes again
            }
            // A refusal (503: not ready, or unavailable) is an answer; a missing or bad one counts against the instance.
            if state.record(instance.id, success: answer.status != 502 && answer.status != 504, at: context.simulation.now) {
                observations.breakersOpened += 1
                context.record(.gatewayBreakerOpened, payload: stableHash(instance.id), "circuit opened for \(instance.id)")
            }
            guard retryable, tried.count < 2, !state.allowed(instances.filter { !tried.contains($0.id) }, at: context.simulation.now).isEmpty else {
                return answer  // no retry, or nowhere else to go: the upstream's own answer
            }
            guard state.withdraw(at: context.simulation.now) else {
                observations.retriesRefused += 1
                return answer
            }
            observations.retries += 1
            // The retry may come up to a timeout later: route it on a view at most 100 ms old too.
            guard let fresh = await passingInstances(of: target, runtime, state) else { return answer }
            instances = fresh
        }
    }

    /// The passing instances of `target` the gateway may route to now: Consul's listing, at most
    /// `healthViewNanos` old (stamped when it was asked, so the view is never older than that),
    /// narrowed to the autoscaler's replica count for inference. Nil when Consul did not answer.
    static func passingInstances(of target: String, _ runtime: ServiceRuntime, _ state: State) async -> [ServiceInstance]? {
        let context = runtime.context
        // Autoscaling: inference traffic goes to the first N passing instances (N read from Redis
        // at most once a second; unknown: all of them). Read before the listing: a slow Redis
        // must not age the listing the request is routed on.
        var replicas: Int?
        if target == "inference", runtime.directory.serving.autoscaleTargetPerReplica > 0 {
            let now = context.simulation.now
            replicas = state.scaled(at: now)
            if replicas == nil, case .success(.string(let text)) = await runtime.redis.run(.get("autoscale:inference"), context: context), let count = Int(text) {
                replicas = count
                state.remember(scale: count, at: now)
            }
        }
        var instances: [ServiceInstance]
        if let cached = state.cachedHealthy(target, at: context.simulation.now) {
            instances = cached
        } else {
            let asked = context.simulation.now
            guard case .success(let listed) = await runtime.consul.healthy(target, context: context) else { return nil }
            instances = listed
            state.remember(healthy: listed, of: target, at: asked)
        }
        if let replicas, !instances.isEmpty { instances = Array(instances.sorted { $0.id < $1.id }.prefix(Swift.max(1, replicas))) }
        return instances
    }
}

extension TraceKind {
    public static let gatewayRoute = TraceKind("gateway.route")
    public static let gatewayBreakerOpened = TraceKind("gateway.breaker-open")
}

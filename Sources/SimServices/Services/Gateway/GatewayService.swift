import SimKernel

/// The API gateway: checks the request's origin against its CORS rule, has auth verify the
/// caller's token and forwards the identity it names (`x-user`, `x-tenant`; never the caller's
/// own), finds a passing instance of the target service through Consul (fresh for every request),
/// routes to it round-robin, and records every routing decision for the routing checker.
///
/// Route: `GET gateway/routes` (Empty -> RoutesServed); every other service's path is forwarded.
/// In memory: the round-robin positions (lost on a crash: routing starts over, which is harmless).
public enum GatewayService {
    public struct RoutesServed: Codable, Sendable, Equatable {
        /// How many times this gateway process answered `gateway/routes`.
        public var routes: Int
    }

    /// The gateway's in-memory state.
    public actor State {
        var turns: [String: Int] = [:]
        var routesAnswered = 0
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

    /// Origins allowed to call the platform; L11 forgot the admin dashboard's.
    static func allowedOrigins(_ defects: DefectSet) -> [String] {
        defects.contains(.L11) ? ["https://app.synapsenet.local"] : ["https://app.synapsenet.local", "https://admin.synapsenet.local"]
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "gateway", routes: [
            Route("GET", "gateway/routes", Empty.self, RoutesServed.self) { runtime, _, request throws(ServiceError) in
                guard allowedOrigins(runtime.defects).contains(request.origin) else { throw ServiceError(403, "CORS: origin \(request.origin) is not allowed") }
                return RoutesServed(routes: await runtime.state(State.self).answeredRoutes())
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
        // Identity: the gateway alone sets x-user/x-tenant, after auth verified the bearer token.
        request.headers["x-user"] = nil
        request.headers["x-tenant"] = nil
        if let token = request.headers["authorization"] {
            guard let auth = runtime.directory.services["auth"],
                  case .success(let envelope) = await context.call(auth, HTTPMessage.request(HTTPRequest("POST", "auth/verify", body: FormEncoder.encode(AuthService.VerifyRequest(token: token)))),
                                                                   timeout: 2 * Nanos.second),
                  case .response(let verdict) = envelope.payload as? HTTPMessage else { return .error(503, "auth did not answer") }
            guard verdict.status == 200, let identity = try? FormDecoder.decode(AuthService.Identity.self, from: verdict.body) else {
                return .error(401, "token refused: \(verdict.body["error"] ?? "")")
            }
            request.headers["x-user"] = identity.user
            request.headers["x-tenant"] = identity.tenant
        }
        let target = request.service
        guard case .success(let instances) = await runtime.consul.healthy(target, context: context), !instances.isEmpty else {
            return .error(503, "no passing instance of \(target)")
        }
        let instance = instances[await runtime.state(State.self).nextTurn(for: target) % instances.count]
        runtime.observations.routings.append((context.simulation.now, target, instance.id))
        context.record(.gatewayRoute, payload: stableHash(instance.id), "\(request.method) /\(request.path) -> \(instance.id)")
        switch await context.call(instance.address, HTTPMessage.request(request), timeout: 2 * Nanos.second) {
        case .success(let envelope):
            if case .response(let response) = envelope.payload as? HTTPMessage { return response }
            return .error(502, "bad answer from \(instance.id)")
        case .failure(let error):
            return .error(504, "\(instance.id): \(error)")
        }
    }
}

extension TraceKind {
    public static let gatewayRoute = TraceKind("gateway.route")
}

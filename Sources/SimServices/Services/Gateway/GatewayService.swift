import SimKernel

/// The API gateway: checks the request's origin against its CORS rule, finds a passing instance
/// of the target service through Consul (fresh for every request), routes to it round-robin, and
/// records every routing decision for the routing checker.
public enum GatewayService {
    /// Origins allowed to call the platform; L11 forgot the admin dashboard's.
    static func allowedOrigins(_ defects: DefectSet) -> [String] {
        defects.contains(.L11) ? ["https://app.synapsenet.local"] : ["https://app.synapsenet.local", "https://admin.synapsenet.local"]
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        ServiceSpec(name: "gateway") { runtime, request in
            let context = runtime.context
            guard allowedOrigins(runtime.defects).contains(request.origin) else {
                return .error(403, "CORS: origin \(request.origin) is not allowed")
            }
            var request = request
            // Identity: the gateway alone sets x-user/x-tenant, after auth verified the bearer token.
            request.headers["x-user"] = nil
            request.headers["x-tenant"] = nil
            if let token = request.headers["authorization"] {
                guard let auth = runtime.directory.services["auth"],
                      case .success(let envelope) = await context.call(auth, HTTPMessage.request(HTTPRequest("POST", "auth/verify", body: ["token": token])), timeout: 2 * Nanos.second),
                      case .response(let verdict) = envelope.payload as? HTTPMessage else { return .error(503, "auth did not answer") }
                guard verdict.status == 200 else { return .error(401, "token refused: \(verdict.body["error"] ?? "")") }
                request.headers["x-user"] = verdict.body["user"]
                request.headers["x-tenant"] = verdict.body["tenant"]
            }
            let target = request.service
            if target == "gateway" {  // its own first request: the routes it can serve now
                runtime.counters["routes", default: 0] += 1
                return HTTPResponse(200, ["routes": "\(runtime.counters["routes"]!)"])
            }
            guard case .success(let instances) = await runtime.consul.healthy(target, context: context), !instances.isEmpty else {
                return .error(503, "no passing instance of \(target)")
            }
            let turn = runtime.counters[target, default: 0]
            runtime.counters[target] = turn + 1
            let instance = instances[turn % instances.count]
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
}

extension TraceKind {
    public static let gatewayRoute = TraceKind("gateway.route")
}

import SimKernel

/// A refusal a route answers with: an HTTP status and a message (`{"error": message}`).
public struct ServiceError: Error, Equatable, Sendable {
    public var status: Int
    public var message: String
    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    public static func badRequest(_ message: String) -> ServiceError { ServiceError(400, message) }
    public static func unavailable(_ message: String) -> ServiceError { ServiceError(503, message) }
    public static func internalError(_ message: String) -> ServiceError { ServiceError(500, message) }
}

/// The caller's side of a request that is not its body: who the gateway says it is, where it
/// came from. Handlers read identity from here, never from the body.
public struct RequestInfo: Sendable {
    public var method: String
    public var path: String
    public var origin: String
    public var headers: HTTPHeaders
    /// The body's fields as the caller spelled them (before decoding): what a proof over the
    /// body was made over.
    public var body: [String: String] = [:]
    /// The identity the gateway forwarded after auth checked the caller's token, or a platform
    /// service's own (`svc:<name>`, no tenant); nil: a call straight to the service without one.
    public var user: String? { headers["x-user"].flatMap { $0.isEmpty ? nil : $0 } }
    public var tenant: String? { headers["x-tenant"].flatMap { $0.isEmpty ? nil : $0 } }
    /// The caller's role as auth read it when it verified the token (`service` for a platform
    /// service acting as itself; nil: no identity).
    public var role: String? { headers["x-role"].flatMap { $0.isEmpty ? nil : $0 } }
    /// The tenant a request acts in: the caller's, or for a platform service acting as itself
    /// (no tenant of its own), the platform's first tenant, t1.
    public var actingTenant: String { tenant ?? "t1" }
}

/// One entry of a service's route table: a method and a path, the `Codable` request type the body
/// must decode to (a body that does not is answered 400 naming the field), and a handler that
/// returns the `Codable` response type or throws a `ServiceError`.
public struct Route: Sendable {
    public let method: String
    public let path: String
    /// The request and response types, for documentation and tests (`POST auth/token: TokenRequest -> TokenResponse`).
    public let signature: String
    let respond: @Sendable (ServiceRuntime, HTTPRequest) async -> HTTPResponse

    public init<Request: Decodable & Sendable, Response: Encodable & Sendable>(
        _ method: String, _ path: String, _ request: Request.Type, _ response: Response.Type,
        _ handler: @escaping @Sendable (ServiceRuntime, Request, RequestInfo) async throws(ServiceError) -> Response
    ) {
        self.method = method
        self.path = path
        signature = "\(method) \(path): \(Request.self) -> \(Response.self)"
        respond = { runtime, http in
            let body: Request
            do { body = try FormDecoder.decode(Request.self, from: http.body) } catch { return .error(400, "\(error)") }
            do {
                let answer = try await handler(runtime, body, RequestInfo(method: http.method, path: http.path, origin: http.origin, headers: http.headers, body: http.body))
                return HTTPResponse(200, FormEncoder.encode(answer))
            } catch let error as ServiceError {
                return .error(error.status, error.message)
            } catch {
                return .error(500, "\(error)")
            }
        }
    }
}

extension Route {
    private init(method: String, path: String, signature: String, respond: @escaping @Sendable (ServiceRuntime, HTTPRequest) async -> HTTPResponse) {
        self.method = method
        self.path = path
        self.signature = signature
        self.respond = respond
    }

    /// This route behind `check`: a response `check` returns (a refusal) is the answer and the
    /// handler never runs; nil lets the request through. For a rule every route of a service
    /// shares, kept in one place.
    func guarded(by check: @escaping @Sendable (ServiceRuntime, HTTPRequest, RequestInfo) async -> HTTPResponse?) -> Route {
        let respond = self.respond
        return Route(method: method, path: path, signature: signature) { runtime, http in
            if let refusal = await check(runtime, http, RequestInfo(method: http.method, path: http.path, origin: http.origin, headers: http.headers, body: http.body)) { return refusal }
            return await respond(runtime, http)
        }
    }
}

/// A service's routes, matched on the exact path, then the method: an unknown path is 404, a
/// known path with another method 405 (with the methods it takes).
public struct RouteTable: Sendable {
    public let routes: [Route]
    public init(_ routes: [Route]) {
        var seen: [String] = []
        for route in routes {
            let key = "\(route.method) \(route.path)"
            precondition(!seen.contains(key), "route \(key) is declared twice")
            seen.append(key)
        }
        self.routes = routes
    }

    public func respond(_ runtime: ServiceRuntime, _ request: HTTPRequest) async -> HTTPResponse {
        let onPath = routes.filter { $0.path == request.path }
        guard !onPath.isEmpty else { return .error(404, "no route /\(request.path)") }
        guard let route = onPath.first(where: { $0.method == request.method }) else {
            return .error(405, "/\(request.path) takes \(onPath.map(\.method).joined(separator: ", ")), not \(request.method)")
        }
        return await route.respond(runtime, request)
    }
}

/// An empty request or response body.
public struct Empty: Codable, Equatable, Sendable {
    public init() {}
}

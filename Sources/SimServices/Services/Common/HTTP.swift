import SimKernel

/// A request to a platform service, as the gateway forwards it.
public struct HTTPRequest: Hashable, Sendable, Codable {
    public var method: String
    public var path: String
    public var body: [String: String]
    /// The `Origin` header (CORS).
    public var origin: String
    /// Other headers: `authorization` (a bearer token, checked by the gateway through auth), and
    /// the identity the gateway forwards after checking it (`x-user`, `x-tenant`).
    public var headers: [String: String]
    public init(_ method: String, _ path: String, body: [String: String] = [:], origin: String = "https://app.synapsenet.local",
                headers: [String: String] = [:]) {
        self.method = method
        self.path = path
        self.body = body
        self.origin = origin
        self.headers = headers
    }
    /// The service a path names: `/models/...` -> `models`.
    public var service: String { String(path.split(separator: "/").first ?? "") }
}

public struct HTTPResponse: Hashable, Sendable, Codable {
    public var status: Int
    public var body: [String: String]
    public init(_ status: Int, _ body: [String: String] = [:]) {
        self.status = status
        self.body = body
    }
    public static func error(_ status: Int, _ message: String) -> HTTPResponse { HTTPResponse(status, ["error": message]) }
}

public enum HTTPMessage: SimMessage {
    case request(HTTPRequest)
    case response(HTTPResponse)
    public var traceDigest: UInt64 { stableHash(traceSummary) }
    public var traceSummary: String {
        switch self {
        case .request(let r): return "\(r.method) /\(r.path)"
        case .response(let r): return "\(r.status) \(r.body.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.prefix(24))" }.joined(separator: " "))"
        }
    }
}

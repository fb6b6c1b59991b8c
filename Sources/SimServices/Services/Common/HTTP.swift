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
    public var headers: HTTPHeaders
    public init(_ method: String, _ path: String, body: [String: String] = [:], origin: String = "https://app.synapsenet.local",
                headers: HTTPHeaders = [:]) {
        self.method = method
        self.path = path
        self.body = body
        self.origin = origin
        self.headers = headers
    }
    /// A request whose headers are given as a dictionary (disfavoured: a literal builds the
    /// `HTTPHeaders` directly instead of a dictionary to convert).
    @_disfavoredOverload
    public init(_ method: String, _ path: String, body: [String: String] = [:], origin: String = "https://app.synapsenet.local",
                headers: [String: String]) {
        self.init(method, path, body: body, origin: origin, headers: HTTPHeaders(headers))
    }
    /// The service a path names: `/models/...` -> `models`.
    public var service: String { String(path.splitBytes("/").first ?? "") }
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
    /// The fields hashed directly, the body's pairs combined by addition (which does not depend
    /// on the dictionary's order, so nothing is sorted): building the summary text to hash it was
    /// 7 % of a serving run. Requests' bodies count too (the summary shows only the path).
    public var traceDigest: UInt64 {
        func body(_ fields: [String: String]) -> UInt64 {
            // determinism-ok: addition commutes, so the dictionary's order cannot change the sum
            fields.reduce(UInt64(fields.count)) { $0 &+ mix64(stableHash($1.key), stableHash($1.value)) }
        }
        switch self {
        case .request(let r): return mix64(mix64(1, stableHash(r.method)), stableHash(r.path) ^ body(r.body))
        case .response(let r): return mix64(mix64(2, UInt64(r.status)), body(r.body))
        }
    }
    public var traceSummary: String {
        switch self {
        case .request(let r): return "\(r.method) /\(r.path)"
        case .response(let r): return "\(r.status) \(r.body.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.prefix(24))" }.joined(separator: " "))"
        }
    }
}

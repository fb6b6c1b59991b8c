/// The identity the gateway forwards (`x-user`, `x-tenant`, `x-role`), signed so that services can
/// tell it from headers anyone could write: the gateway signs the identity with the request's
/// method and path under a key only the platform's services hold (the service mesh's credential),
/// and every service but the gateway refuses a request carrying an identity without a valid
/// signature (401, logged), so a call straight to a service's address cannot claim an identity.
public enum ForwardedIdentity {
    public static let header = "x-identity-signature"
    /// The headers that make up an identity.
    public static let identityHeaders = ["x-user", "x-tenant", "x-role"]
    static let key = Array("synapsenet-mesh-key".utf8)

    /// The signature of the identity in `headers` for `method path`.
    public static func sign(_ headers: [String: String], method: String, path: String) -> String {
        let text = (identityHeaders.map { headers[$0] ?? "" } + [method, path]).joined(separator: "\n")
        return SHA256.hex(SHA256.hmac(key: key, message: Array(text.utf8)))
    }

    /// The role of a platform service acting as itself (a job of the platform's, not a user's).
    public static let serviceRole = "service"

    /// `request` carrying the identity of platform service `service` (`x-user: svc:<service>`, role
    /// `service`, no tenant: the platform's own work, as its jobs always acted), signed with the
    /// mesh key for its method and path. The gateway lets such a request through without a token;
    /// nobody outside the mesh can sign one.
    public static func asService(_ service: String, _ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.headers["x-user"] = "svc:\(service)"
        request.headers["x-tenant"] = nil
        request.headers["x-role"] = serviceRole
        request.headers[header] = sign(request.headers, method: request.method, path: request.path)
        return request
    }

    /// Whether `headers` carry a platform service's identity signed for `method path`.
    public static func isService(_ headers: [String: String], method: String, path: String) -> Bool {
        guard let user = headers["x-user"], user.hasPrefix("svc:"), headers["x-role"] == serviceRole, headers["x-tenant"] == nil else { return false }
        return verify(headers, method: method, path: path)
    }

    /// Whether `headers` carry an identity at all.
    public static func claimed(_ headers: [String: String]) -> Bool { identityHeaders.contains { headers[$0] != nil } }

    /// Whether the identity in `headers` carries the gateway's signature for `method path`.
    public static func verify(_ headers: [String: String], method: String, path: String) -> Bool {
        guard let signature = headers[header] else { return false }
        return SHA256.constantTimeEqual(Array(sign(headers, method: method, path: path).utf8), Array(signature.utf8))
    }
}

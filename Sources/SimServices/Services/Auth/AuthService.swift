import SimKernel

/// Authentication: users with hashed API keys in users_db, and signed tokens (HMAC-SHA256 over
/// "user.tenant.exp", exp in seconds of the node's clock) verified with a small leeway.
///
/// Routes: `POST auth/token` (TokenRequest -> TokenResponse), `POST auth/verify` (VerifyRequest ->
/// Identity). Stateless: everything it knows is in users_db.
public enum AuthService {
    static let secret = Array("synapsenet-token-secret".utf8)
    static let leewaySeconds: Int64 = 5

    public struct TokenRequest: Codable, Sendable, Equatable {
        public var user: String
        public var apiKey: String
        public init(user: String, apiKey: String) { self.user = user; self.apiKey = apiKey }
    }
    public struct TokenResponse: Codable, Sendable, Equatable { public var token: String }
    public struct VerifyRequest: Codable, Sendable, Equatable {
        public var token: String
        public init(token: String) { self.token = token }
    }
    /// Who a valid token says the caller is.
    public struct Identity: Codable, Sendable, Equatable {
        public var user: String
        public var tenant: String
    }

    static func sign(_ payload: String) -> String { SHA256.hex(SHA256.hmac(key: secret, message: Array(payload.utf8))) }

    /// The identity a token carries, if its signature holds and it has not expired at `now`
    /// (seconds of the verifying node's clock, with `leewaySeconds` of skew allowed).
    public static func verify(_ token: String, now: Int64) -> Result<Identity, ServiceError> {
        let parts = token.split(separator: ".").map(String.init)
        guard parts.count == 4, let exp = Int64(parts[2]) else { return .failure(ServiceError(401, "malformed token")) }
        let payload = parts[0 ..< 3].joined(separator: ".")
        guard SHA256.constantTimeEqual(Array(sign(payload).utf8), Array(parts[3].utf8)) else { return .failure(ServiceError(401, "bad signature")) }
        guard now < exp + leewaySeconds else { return .failure(ServiceError(401, "token expired")) }
        return .success(Identity(user: parts[0], tenant: parts[1]))
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "auth", routes: [
            Route("POST", "auth/token", TokenRequest.self, TokenResponse.self) { runtime, request, _ throws(ServiceError) in
                let keyHash = SHA256.hex(SHA256.hash(Array(request.apiKey.utf8)))
                _ = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO users(name, tenant, key_hash) VALUES (?, 't1', ?)", [.text(request.user), .text(keyHash)])])
                guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT tenant FROM users WHERE name = ? AND key_hash = ?", [.text(request.user), .text(keyHash)])]),
                      let tenant = rows[0].rows.first?.first?.text else { throw ServiceError(401, "unknown user or key") }
                let payload = "\(request.user).\(tenant).\(runtime.context.localTime / Nanos.second + 3600)"
                return TokenResponse(token: payload + "." + sign(payload))
            },
            Route("POST", "auth/verify", VerifyRequest.self, Identity.self) { runtime, request, _ throws(ServiceError) in
                try verify(request.token, now: runtime.context.localTime / Nanos.second).get()
            },
        ])
        spec.database = "users_db"
        spec.migrations = ["CREATE TABLE users(name TEXT PRIMARY KEY, tenant TEXT NOT NULL, key_hash TEXT NOT NULL)"]
        return spec
    }
}

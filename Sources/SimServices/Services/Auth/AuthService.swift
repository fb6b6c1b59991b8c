import SimKernel

/// Authentication: users with hashed API keys in users_db, and signed tokens (HMAC-SHA256 over
/// "user.tenant.exp", exp in seconds of the node's clock) verified with a small leeway.
public enum AuthService {
    static let secret = Array("synapsenet-token-secret".utf8)
    static let leewaySeconds: Int64 = 5

    static func sign(_ payload: String) -> String { SHA256.hex(SHA256.hmac(key: secret, message: Array(payload.utf8))) }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "auth") { runtime, request in
            let now = runtime.context.localTime / Nanos.second
            switch request.path {
            case "auth/token":
                let user = request.body["user"] ?? "", key = request.body["api_key"] ?? ""
                let keyHash = SHA256.hex(SHA256.hash(Array(key.utf8)))
                _ = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO users(name, tenant, key_hash) VALUES (?, 't1', ?)", [.text(user), .text(keyHash)])])
                guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT tenant FROM users WHERE name = ? AND key_hash = ?", [.text(user), .text(keyHash)])]),
                      let tenant = rows[0].rows.first?.first?.text else { return .error(401, "unknown user or key") }
                let payload = "\(user).\(tenant).\(now + 3600)"
                return HTTPResponse(200, ["token": payload + "." + sign(payload)])
            case "auth/verify":
                let parts = (request.body["token"] ?? "").split(separator: ".").map(String.init)
                guard parts.count == 4, let exp = Int64(parts[2]) else { return .error(401, "malformed token") }
                let payload = parts[0 ..< 3].joined(separator: ".")
                guard SHA256.constantTimeEqual(Array(sign(payload).utf8), Array(parts[3].utf8)) else { return .error(401, "bad signature") }
                guard now < exp + leewaySeconds else { return .error(401, "token expired") }
                return HTTPResponse(200, ["user": parts[0], "tenant": parts[1]])
            default:
                return .error(404, "no route \(request.path)")
            }
        }
        spec.database = "users_db"
        spec.migrations = ["CREATE TABLE users(name TEXT PRIMARY KEY, tenant TEXT NOT NULL, key_hash TEXT NOT NULL)"]
        return spec
    }
}

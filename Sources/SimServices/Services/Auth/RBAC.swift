/// Role-based access control, deny by default: a role may do only what its grants list. The
/// gateway asks `permits` for every request that carries a verified identity, with the role auth
/// read for the caller when it verified the token (never the role written in the token).
public enum RBAC {
    /// What a grant allows: reading (GET) or writing (any other method) the routes of a service.
    public enum Access: String, Sendable { case read, write }

    /// The roles and their grants (service name, access). A role not listed, a service not
    /// listed under the role, or a write under a read grant: denied.
    public static let grants: [String: [(service: String, access: Access)]] = [
        "viewer": readable.map { ($0, .read) },
        "scientist": readable.map { ($0, .read) } + ["experiments", "training", "models", "registry", "features", "storage", "inference", "pipeline", "webhooks", "monitoring", "scheduler"].map { ($0, .write) },
        "admin": (readable + ["auth", "admin", "webhooks", "workers"]).flatMap { [($0, Access.read), ($0, .write)] },
        // A platform service acting as itself (`svc:<name>`, from the mesh): what the platform's
        // own jobs call through the gateway, a trainer's runs, a pipeline task's report, a
        // materialization, a training job's registration.
        "service": ["experiments", "pipeline", "features", "registry"].flatMap { [($0, Access.read), ($0, .write)] },
    ]
    /// The services every role may read.
    static let readable = ["experiments", "training", "models", "registry", "features", "storage", "inference", "monitoring", "pipeline", "scheduler"]

    /// The roles auth accepts in `POST auth/roles` (a user is never given the platform's own).
    public static var roles: [String] { grants.keys.filter { $0 != "service" }.sorted() }

    /// Routes any authenticated caller may use whatever its role: asking for a token, revoking
    /// one's own (the body carries the token to revoke), rotating one's own API key, and opening
    /// and refreshing a session (the body carries the key or the refresh token that proves it).
    static let selfService = ["POST auth/token", "POST auth/revoke", "POST auth/keys/rotate", "POST auth/sessions", "POST auth/refresh"]

    /// Whether `role` may call `method path` (path `service/route...`).
    public static func permits(role: String, method: String, path: String) -> Bool {
        if grants[role] != nil, selfService.contains("\(method) \(path)") { return true }
        let service = path.splitBytes("/", maxSplits: 1).first.map(String.init) ?? ""
        let access: Access = method == "GET" ? .read : .write
        return grants[role]?.contains { $0.service == service && $0.access == access } ?? false
    }
}

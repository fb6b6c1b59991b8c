extension AuthService {
    /// API keys are stored only as SHA-256 digests (64 lower-case hex digits), never in the clear,
    /// and every user belongs to a tenant.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("users_db", "users"), let rows = view.rows("users_db", "SELECT name, tenant, key_hash FROM users ORDER BY name") else { return [] }
        return rows.compactMap { row in
            let hash = row[2].text ?? ""
            if hash.count != 64 || !hash.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) { return "auth: user \(row[0].plain)'s key is stored as '\(hash.prefix(12))...', not a SHA-256 digest" }
            return (row[1].text ?? "").isEmpty ? "auth: user \(row[0].plain) has no tenant" : nil
        }
    }
}

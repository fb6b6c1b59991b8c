extension AdminService {
    /// Usage is whole units, never negative and never above the tenant's quota.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("users_db", "tenants"), let rows = view.rows("users_db", "SELECT name, quota, used FROM tenants ORDER BY name") else { return [] }
        return rows.compactMap { row in
            guard let quota = row[1].integer, let used = row[2].integer else { return "admin: tenant \(row[0].plain): quota or usage is not an integer" }
            return used < 0 || used > quota ? "admin: tenant \(row[0].plain) uses \(used) of a quota of \(quota)" : nil
        }
    }
}

extension AdminService {
    /// Usage is whole units, never negative and never above the tenant's quota; per resource, the
    /// same in thousandths, and the ledger's reservations sum exactly to the usage.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("users_db", "tenants"), let rows = view.rows("users_db", "SELECT name, quota, used FROM tenants ORDER BY name") else { return [] }
        var found: [String] = rows.compactMap { row in
            guard let quota = row[1].integer, let used = row[2].integer else { return "admin: tenant \(row[0].plain): quota or usage is not an integer" }
            return used < 0 || used > quota ? "admin: tenant \(row[0].plain) uses \(used) of a quota of \(quota)" : nil
        }
        let perResource = "SELECT q.tenant, q.resource, q.quota_milli, q.used_milli, (SELECT COALESCE(SUM(amount_milli), 0) FROM reservations r "
            + "WHERE r.tenant = q.tenant AND r.resource = q.resource) FROM quotas q ORDER BY q.tenant, q.resource"
        guard view.hasTable("users_db", "quotas"), let quotas = view.rows("users_db", perResource) else { return found }
        for row in quotas {
            let key = "\(row[0].plain)/\(row[1].plain)"
            guard let quota = row[2].integer, let used = row[3].integer, let ledger = row[4].integer else { found.append("admin: \(key): amounts are not integers"); continue }
            if used < 0 || used > quota { found.append("admin: \(key) uses \(MilliUnits.text(used)) of a quota of \(MilliUnits.text(quota))") }
            if ledger != used { found.append("admin: \(key): the ledger sums to \(MilliUnits.text(ledger)), the usage is \(MilliUnits.text(used))") }
        }
        return found
    }
}

extension ModelsService {
    /// One model per (tenant, name), each with an input signature of `name:type` pairs.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("models_db", "models") else { return [] }
        var violations: [String] = []
        for row in view.rows("models_db", "SELECT tenant, name, COUNT(*) FROM models GROUP BY tenant, name HAVING COUNT(*) > 1") ?? [] {
            violations.append("models: \(row[2].plain) models named \(row[1].plain) for tenant \(row[0].plain)")
        }
        for row in view.rows("models_db", "SELECT id, signature FROM models ORDER BY id") ?? [] {
            let pairs = (row[1].text ?? "").splitBytes(",")
            if pairs.isEmpty || pairs.contains(where: { $0.splitBytes(":").count != 2 }) {
                violations.append("models: model \(row[0].plain) has signature '\(row[1].plain)', not name:type pairs")
            }
        }
        return violations
    }
}

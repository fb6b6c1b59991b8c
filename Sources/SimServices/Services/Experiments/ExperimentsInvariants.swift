extension ExperimentsService {
    /// Every run has its `lr` parameter exactly once (write-once), run keys are unique, and metric
    /// timestamps are non-negative UTC milliseconds.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("experiments_db", "runs") else { return [] }
        var violations: [String] = []
        for row in view.rows("experiments_db", "SELECT r.id, COUNT(p.key) FROM runs r LEFT JOIN params p ON p.run = r.id AND p.key = 'lr' GROUP BY r.id HAVING COUNT(p.key) != 1") ?? [] {
            violations.append("experiments: run \(row[0].plain) has \(row[1].plain) values of its write-once parameter lr")
        }
        for row in view.rows("experiments_db", "SELECT run_key, COUNT(*) FROM runs WHERE run_key IS NOT NULL GROUP BY run_key HAVING COUNT(*) > 1") ?? [] {
            violations.append("experiments: run key \(row[0].plain) names \(row[1].plain) runs")
        }
        for row in view.rows("experiments_db", "SELECT run, key, timestamp_ms FROM metrics WHERE timestamp_ms < 0") ?? [] {
            violations.append("experiments: metric \(row[1].plain) of run \(row[0].plain) has timestamp \(row[2].plain)")
        }
        return violations
    }
}

extension WorkersService {
    /// Each task's effect is applied once (at-least-once delivery, idempotent effects) and at a
    /// time that is not in the future of the run.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("metrics_db", "task_effects") else { return [] }
        var violations: [String] = []
        for row in view.rows("metrics_db", "SELECT task, COUNT(*) FROM task_effects GROUP BY task HAVING COUNT(*) > 1") ?? [] {
            violations.append("workers: task \(row[0].plain) applied \(row[1].plain) times")
        }
        for row in view.rows("metrics_db", "SELECT task, processed_at FROM task_effects WHERE processed_at > ?", [.integer(view.simulation.now)]) ?? [] {
            violations.append("workers: task \(row[0].plain) processed at \(row[1].plain) ns, after the end of the run")
        }
        return violations
    }
}

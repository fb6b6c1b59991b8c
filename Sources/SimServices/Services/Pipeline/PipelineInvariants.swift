extension PipelineService {
    /// Every stored DAG is acyclic (the validator let no cycle in), and a succeeded run has every
    /// task of its DAG succeeded.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("experiments_db", "dags"), let rows = view.rows("experiments_db", "SELECT id, name, edges FROM dags ORDER BY id") else { return [] }
        var violations: [String] = rows.compactMap { row in
            let edges = (row[2].text ?? "").splitBytes(",").map(String.init)
            guard case .success(let graph) = DependencyGraph.parse(edges) else { return "pipeline: stored DAG \(row[1].plain) is unreadable" }
            return graph.cycle().map { "pipeline: stored DAG \(row[1].plain) (id \(row[0].plain)) has a cycle: \($0.joined(separator: " -> "))" }
        }
        if view.hasTable("experiments_db", "pipeline_tasks"),
           let open = view.rows("experiments_db", "SELECT r.id, t.task, t.state FROM pipeline_runs r JOIN pipeline_tasks t ON t.run = r.id WHERE r.status = 'succeeded' AND t.state != 'succeeded' ORDER BY r.id, t.task") {
            violations += open.map { "pipeline: run \($0[0].plain) succeeded with task \($0[1].plain) \($0[2].plain)" }
        }
        return violations
    }
}

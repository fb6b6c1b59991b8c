extension PipelineService {
    /// Every stored DAG is acyclic (the validator let no cycle in).
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("experiments_db", "dags"), let rows = view.rows("experiments_db", "SELECT id, name, edges FROM dags ORDER BY id") else { return [] }
        return rows.compactMap { row in
            let edges = (row[2].text ?? "").split(separator: ",").compactMap { pair -> (String, String)? in
                let ends = pair.split(separator: ">").map(String.init)
                return ends.count == 2 ? (ends[0], ends[1]) : nil
            }
            return findCycle(edges).map { "pipeline: stored DAG \(row[1].plain) (id \(row[0].plain)) has a cycle through \($0)" }
        }
    }
}

extension TrainingService {
    /// A job's state is one of queued, running, completed; a completed job has its result; no
    /// trainer's progress is beyond the job's steps; a job is completed only when every trainer
    /// reported done.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("experiments_db", "training_jobs") else { return [] }
        var violations: [String] = []
        let trainers = view.topology.nodes(role: "trainer").count
        for row in view.rows("experiments_db", "SELECT name, state, spec, result FROM training_jobs ORDER BY name, tenant") ?? [] {
            let name = row[0].text ?? "?", state = row[1].text ?? ""
            guard ["queued", "running", "completed"].contains(state) else { violations.append("training: job \(name) is in state '\(state)'"); continue }
            let steps = decode(row[2].text ?? "")?.steps
            if state == "completed" {
                if (row[3].text ?? "").splitBytes(" ").count != 5 { violations.append("training: completed job \(name) has no result") }
                let done = view.rows("experiments_db", "SELECT COUNT(*) FROM training_job_workers WHERE job = ?", [.text(name)])?.first?.first?.integer ?? 0
                if steps != nil && done < Int64(trainers) { violations.append("training: job \(name) completed with \(done) of \(trainers) trainers done") }
            }
            if let steps {
                for progress in view.rows("experiments_db", "SELECT worker, clock FROM training_progress WHERE job = ? AND clock > ?", [.text(name), .integer(Int64(steps))]) ?? [] {
                    violations.append("training: trainer \(progress[0].plain) of \(name) reported clock \(progress[1].plain) beyond \(steps) steps")
                }
            }
        }
        return violations
    }
}

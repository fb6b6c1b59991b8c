extension SchedulerService {
    /// Every recorded placement is of a job the training service accepted, with a spec that
    /// decodes to that job; every schedule has five cron fields.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("experiments_db", "placements") else { return [] }
        var violations: [String] = []
        let jobs = Set((view.rows("experiments_db", "SELECT name FROM training_jobs") ?? []).compactMap { $0[0].text })
        for row in view.rows("experiments_db", "SELECT job, spec FROM placements ORDER BY job") ?? [] {
            let name = row[0].text ?? "?"
            if !jobs.contains(name) { violations.append("scheduler: placed job \(name) was never accepted by training") }
            if TrainingService.decode(row[1].text ?? "")?.name != name { violations.append("scheduler: the placement of \(name) holds a spec of another job") }
        }
        for row in view.rows("experiments_db", "SELECT name, cron FROM schedules ORDER BY id") ?? [] where (row[1].text ?? "").splitBytes(" ").count != 5 {
            violations.append("scheduler: schedule \(row[0].plain) has cron '\(row[1].plain)'")
        }
        return violations
    }
}

import SimKernel

/// The training service's API on the full platform: a job row in experiments_db and an event on
/// the `training.jobs` topic (which it creates at start-up; L4 leaves that to broker
/// auto-creation, which is off).
public enum TrainingAPI {
    public static var spec: ServiceSpec {
        var spec = ServiceSpec(name: "training") { runtime, request in
            let name = request.body["job"] ?? "job"
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("INSERT INTO training_jobs(name, state) VALUES (?, 'queued')", [.text(name)]),
                SQLStatement("SELECT last_insert_rowid()"),
            ]), let id = rows[1].rows.first?.first?.integer else { return .error(500, "cannot store the job") }
            let event = await runtime.kafka.produce("training.jobs", key: "\(id)", value: Array("queued \(name)".utf8), context: runtime.context)
            if case .failure(let error) = event { return .error(500, "cannot publish the job: \(error)") }
            return HTTPResponse(200, ["job_id": "\(id)"])
        }
        spec.database = "experiments_db"
        spec.migrations = ["CREATE TABLE training_jobs(id INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL)"]
        spec.topics = ["training.jobs"]
        return spec
    }
}

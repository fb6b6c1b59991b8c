import SimKernel

/// Experiment tracking: runs record seed, code version and data digest; params are write-once.
public enum ExperimentsService {
    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "experiments") { runtime, request in
            let seed = request.body["seed"] ?? "0"
            // A run with an idempotency key (`run_key`) is created once: a retry gets the same run.
            let key: SQLValue = request.body["run_key"].map { .text($0) } ?? .null
            if case .text = key, case .success(let found) = await runtime.transaction([SQLStatement("SELECT id FROM runs WHERE run_key = ?", [key])]),
               let existing = found[0].rows.first?.first?.integer {
                return HTTPResponse(200, ["run": "\(existing)"])
            }
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("INSERT INTO runs(seed, code_version, data_digest, run_key) VALUES (?, ?, ?, ?)", [.text(seed), .text(request.body["code"] ?? "v1"), .text(request.body["data"] ?? "d0"), key]),
                SQLStatement("SELECT last_insert_rowid()"),
            ]), let run = rows[1].rows.first?.first?.integer else { return .error(500, "cannot create the run") }
            _ = await runtime.transaction([SQLStatement("INSERT INTO params(run, key, value) VALUES (?, 'lr', ?)", [.integer(run), .text(request.body["lr"] ?? "0.1")])])
            // Write-once: a second write of the same param must fail.
            let again = await runtime.transaction([SQLStatement("INSERT INTO params(run, key, value) VALUES (?, 'lr', '9')", [.integer(run)])])
            guard case .failure(.sql(let error)) = again, error.kind == .constraint else { return .error(500, "a param was overwritten") }
            // Metrics given with the run (`metric.NAME`), stored at step 0 with the node's UTC time.
            for (key, value) in request.body.sorted(by: { $0.key < $1.key }) where key.hasPrefix("metric.") {
                guard let number = Double(value) else { return .error(400, "\(key) is not a number") }
                _ = await runtime.transaction([SQLStatement("INSERT OR REPLACE INTO metrics(run, key, value, step, timestamp_ms) VALUES (?, ?, ?, 0, ?)",
                                                            [.integer(run), .text(String(key.dropFirst(7))), .real(number), .integer(runtime.context.localTime / Nanos.millisecond)])])
            }
            _ = await runtime.search.request(.index("experiments", id: "\(run)", document: ["seed": seed], ifSeqNo: nil, ifPrimaryTerm: nil), context: runtime.context)
            return HTTPResponse(200, ["run": "\(run)"])
        }
        spec.database = "experiments_db"
        spec.migrations = [
            "CREATE TABLE runs(id INTEGER PRIMARY KEY, seed TEXT NOT NULL, code_version TEXT NOT NULL, data_digest TEXT NOT NULL)",
            "CREATE TABLE params(run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key))",
            "CREATE TABLE metrics(run INTEGER NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, step INTEGER NOT NULL, timestamp_ms INTEGER NOT NULL, PRIMARY KEY(run, key, step))",
            "ALTER TABLE runs ADD COLUMN run_key TEXT",
            "CREATE UNIQUE INDEX runs_by_key ON runs(run_key)",
        ]
        spec.indices = [("experiments", ["seed": .keyword])]
        spec.createsIndexMappings = !defects.contains(.L8)  // L8: no index mapping is created
        if defects.contains(.L6) { spec.registrationName = "experiment" }  // L6: the wrong name
        return spec
    }
}

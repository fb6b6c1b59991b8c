import SimKernel

/// Experiment tracking: runs record seed, code version and data digest; params are write-once.
///
/// Route: `POST experiments/runs` (CreateRun -> RunCreated). Stateless: runs, params and metrics
/// live in experiments_db, a search document per run in the `experiments` index.
public enum ExperimentsService {
    public struct CreateRun: Codable, Sendable, Equatable {
        public var seed: UInt64?
        /// The learning rate, recorded as the write-once parameter `lr`.
        public var lr: Double?
        /// The code version and the dataset digest the run used.
        public var code: String?
        public var data: String?
        /// An idempotency key: a retried creation with the same key is the same run.
        public var runKey: String?
        /// Metrics of the run (`metric.NAME` on the wire), stored at step 0 with the node's UTC time.
        public var metric: [String: Double]?
    }
    public struct RunCreated: Codable, Sendable, Equatable {
        public var run: Int64
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "experiments", routes: [
            Route("POST", "experiments/runs", CreateRun.self, RunCreated.self) { runtime, request, _ throws(ServiceError) in
                let seed = "\(request.seed ?? 0)"
                let key: SQLValue = request.runKey.map { .text($0) } ?? .null
                if case .text = key, case .success(let found) = await runtime.transaction([SQLStatement("SELECT id FROM runs WHERE run_key = ?", [key])]),
                   let existing = found[0].rows.first?.first?.integer {
                    return RunCreated(run: existing)
                }
                // The run, its write-once parameter and its metrics in one transaction: a crash
                // between them would leave a run without its parameter, which a retry (finding the
                // run by its key) would never add. The transaction holds the write lock from its
                // first insert, so MAX(id) is this run's id.
                let now = runtime.context.localTime / Nanos.millisecond
                var statements = [
                    SQLStatement("INSERT INTO runs(seed, code_version, data_digest, run_key) VALUES (?, ?, ?, ?)",
                                 [.text(seed), .text(request.code ?? "v1"), .text(request.data ?? "d0"), key]),
                    SQLStatement("SELECT MAX(id) FROM runs"),
                    SQLStatement("INSERT INTO params(run, key, value) VALUES ((SELECT MAX(id) FROM runs), 'lr', ?)", [.text("\(request.lr ?? 0.1)")]),
                ]
                for (name, value) in (request.metric ?? [:]).sorted(by: { $0.key < $1.key }) {
                    statements.append(SQLStatement("INSERT OR REPLACE INTO metrics(run, key, value, step, timestamp_ms) VALUES ((SELECT MAX(id) FROM runs), ?, ?, 0, ?)",
                                                   [.text(name), .real(value), .integer(now)]))
                }
                guard case .success(let rows) = await runtime.transaction(statements), let run = rows[1].rows.first?.first?.integer else {
                    throw .internalError("cannot create the run")
                }
                // Write-once: a second write of the same param must fail.
                let again = await runtime.transaction([SQLStatement("INSERT INTO params(run, key, value) VALUES (?, 'lr', '9')", [.integer(run)])])
                guard case .failure(.sql(let error)) = again, error.kind == .constraint else { throw .internalError("a param was overwritten") }
                _ = await runtime.search.request(.index("experiments", id: "\(run)", document: ["seed": seed], ifSeqNo: nil, ifPrimaryTerm: nil), context: runtime.context)
                return RunCreated(run: run)
            },
        ])
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

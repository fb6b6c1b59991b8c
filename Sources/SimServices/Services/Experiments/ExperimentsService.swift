import SimKernel

/// Experiment tracking. A run records its experiment, seed, code version and dataset digest, and
/// write-once parameters; metric series (key, value, step, UTC timestamp) are logged against it
/// (`MetricLog`); datasets are immutable content-addressed versions (`DatasetVersions`); a run is
/// finished with its outcome. Everything durable lives in experiments_db (datasets' bytes in the
/// object store), a search document per run in the `experiments` index (`RunSearch`).
///
/// Routes: `POST experiments/runs` (CreateRun -> RunCreated), `GET experiments/runs` (RunQuery ->
/// RunView), `POST experiments/runs/attempt` (RunQuery -> Attempt), `POST experiments/runs/finish`
/// (FinishRun -> RunView), `POST experiments/params`,
/// `GET experiments/params` (`RunParameters`), `POST experiments/metrics`, `GET experiments/metrics`
/// (`MetricLog`), `PUT experiments/datasets`, `GET experiments/datasets` (`DatasetVersions`),
/// `GET experiments/compare` (`RunComparison`), `POST experiments/tags`, `GET experiments/runs/search`
/// (`RunSearch`), `POST experiments/runs/fork`, `DELETE experiments/runs`, `GET experiments/runs/list`
/// (`RunForks`), `GET experiments/runs/filter` (`RunFilter`: runs of the caller's tenant by metric).
/// Stateless: a crash loses nothing the database committed.
public enum ExperimentsService {
    public struct CreateRun: Codable, Sendable, Equatable {
        /// The tenant a platform service creates the run for (a training job's submitter's);
        /// ignored for a tenant's caller, whose runs are its tenant's.
        public var tenant: String?
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
        /// The experiment the run belongs to.
        public var experiment: String?
        /// More write-once parameters (`param.NAME` on the wire).
        public var param: [String: String]?

        public init(tenant: String? = nil, seed: UInt64? = nil, lr: Double? = nil, code: String? = nil, data: String? = nil, runKey: String? = nil, metric: [String: Double]? = nil,
                    experiment: String? = nil, param: [String: String]? = nil) {
            self.tenant = tenant
            self.seed = seed
            self.lr = lr
            self.code = code
            self.data = data
            self.runKey = runKey
            self.metric = metric
            self.experiment = experiment
            self.param = param
        }
    }
    public struct RunCreated: Codable, Sendable, Equatable {
        public var run: Int64
    }
    public struct RunQuery: Codable, Sendable, Equatable {
        public var run: Int64
    }
    /// A run as stored.
    public struct RunView: Codable, Sendable, Equatable {
        public var run: Int64
        public var experiment: String
        public var seed: String
        public var code: String
        public var data: String
        /// `running`, `finished` or `failed`.
        public var status: String
        /// The outcome a finish recorded ("" while running).
        public var result: String
    }
    /// A run's next attempt (a worker starting it, or starting it again after a crash).
    public struct Attempt: Codable, Sendable, Equatable {
        public var run: Int64
        public var attempt: Int64
    }
    public struct FinishRun: Codable, Sendable, Equatable {
        public var run: Int64
        public var status: String
        public var result: String
        /// The attempt finishing it (`experiments/runs/attempt`): an attempt superseded by a later
        /// one that has logged points (a worker taken for dead, still training) cannot finish the
        /// run while the later one still logs, which would freeze a mixed series. Judged by the
        /// points, not by the attempt counter, which a repeated request may have moved on. Nil:
        /// any (a run refused before it started).
        public var attempt: Int64?
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "experiments", routes: RunTenancy.guarding([
            Route("POST", "experiments/runs", CreateRun.self, RunCreated.self) { runtime, request, info throws(ServiceError) in
                try await create(runtime, request, tenant: info.tenant ?? request.tenant ?? "t1")
            },
            Route("GET", "experiments/runs", RunQuery.self, RunView.self) { runtime, request, info throws(ServiceError) in
                try await view(runtime, run: request.run, tenant: info.tenant)
            },
            Route("POST", "experiments/runs/attempt", RunQuery.self, Attempt.self) { runtime, request, _ throws(ServiceError) in
                // Numbered in the database, so that a later attempt's metric points replace an
                // earlier one's (`MetricLog`) whichever arrives last.
                guard case .success(let rows) = await runtime.transaction([
                    SQLStatement("UPDATE runs SET attempts = attempts + 1 WHERE id = ?", [.integer(request.run)]),
                    SQLStatement("SELECT attempts FROM runs WHERE id = ?", [.integer(request.run)]),
                ]) else { throw .unavailable("cannot start an attempt at run \(request.run)") }
                guard let attempt = rows[1].rows.first?.first?.integer else { throw ServiceError(404, "no run \(request.run)") }
                return Attempt(run: request.run, attempt: attempt)
            },
            Route("POST", "experiments/runs/finish", FinishRun.self, RunView.self) { runtime, request, info throws(ServiceError) in
                guard ["finished", "failed"].contains(request.status) else { throw .badRequest("status: '\(request.status)' is neither finished nor failed") }
                // The first finish of the latest attempt stands: a repeated finish (a retry, a re-run
                // after a crash) changes nothing, nor does a superseded attempt's. A tenant's caller
                // finishes its tenant's runs only (another tenant's run is answered 404 and untouched);
                // the platform's own jobs (no tenant) finish any.
                let tenant: SQLValue = info.tenant.map { .text($0) } ?? .null
                let fence = request.attempt.map {
                    SQLStatement("""
                        UPDATE runs SET status = ?, result = ? WHERE id = ? AND status = 'running' AND tenant = COALESCE(?, tenant)
                        AND NOT EXISTS (SELECT 1 FROM metrics WHERE run = ? AND attempt > ?)
                        """, [.text(request.status), .text(request.result), .integer(request.run), tenant, .integer(request.run), .integer($0)])
                }
                    ?? SQLStatement("UPDATE runs SET status = ?, result = ? WHERE id = ? AND status = 'running' AND tenant = COALESCE(?, tenant)",
                                    [.text(request.status), .text(request.result), .integer(request.run), tenant])
                guard case .success = await runtime.transaction([fence]) else { throw .unavailable("cannot finish run \(request.run)") }
                return try await view(runtime, run: request.run, tenant: info.tenant)
            },
        ] + RunParameters.routes + MetricLog.routes(defects: defects) + DatasetVersions.routes + [RunComparison.route] + RunSearch.routes + RunForks.routes
            + [MetricSummary.route, RunFilter.route] + RunArtifacts.routes))
        spec.database = "experiments_db"
        spec.migrations = [
            // AUTOINCREMENT: a run id is never given twice, so deleting the newest run cannot hand
            // its id (and the artifact objects deletion leaves in the object store) to the next
            // one. Every run of the simulator creates its databases afresh, so the table is made
            // so from the start rather than rebuilt by a later migration.
            "CREATE TABLE runs(id INTEGER PRIMARY KEY AUTOINCREMENT, seed TEXT NOT NULL, code_version TEXT NOT NULL, data_digest TEXT NOT NULL)",
            "CREATE TABLE params(run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key))",
            "CREATE TABLE metrics(run INTEGER NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, step INTEGER NOT NULL, timestamp_ms INTEGER NOT NULL, PRIMARY KEY(run, key, step))",
            "ALTER TABLE runs ADD COLUMN run_key TEXT",
            "CREATE UNIQUE INDEX runs_by_key ON runs(run_key)",
            "ALTER TABLE runs ADD COLUMN experiment TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'running'",
            "ALTER TABLE runs ADD COLUMN result TEXT NOT NULL DEFAULT ''",
            "CREATE TABLE metric_log(run INTEGER PRIMARY KEY, points TEXT NOT NULL)",
            "CREATE TABLE dataset_versions(digest TEXT PRIMARY KEY, name TEXT NOT NULL, row_count INTEGER NOT NULL, object_key TEXT NOT NULL)",
            "ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE metrics ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE runs ADD COLUMN parent INTEGER",
            "CREATE TABLE tags(run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key))",
            "ALTER TABLE runs ADD COLUMN search_revision INTEGER NOT NULL DEFAULT 0",
            // The tenant a run belongs to (a platform service acting as itself creates runs of t1).
            "ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT 't1'",
        ]
        spec.buckets = [DatasetVersions.bucket]
        spec.indices = [(RunSearch.index, RunSearch.mapping)]
        spec.createsIndexMappings = !defects.contains(.L8)  // L8: no index mapping is created
        if defects.contains(.L6) { spec.registrationName = "experiment" }  // L6: the wrong name
        return spec
    }

    static func create(_ runtime: ServiceRuntime, _ request: CreateRun, tenant: String) async throws(ServiceError) -> RunCreated {
        let seed = "\(request.seed ?? 0)"
        let key: SQLValue = request.runKey.map { .text($0) } ?? .null
        if case .text = key, case .success(let found) = await runtime.transaction([SQLStatement("SELECT id FROM runs WHERE tenant = ? AND run_key = ?", [.text(tenant), key])]),
           let existing = found[0].rows.first?.first?.integer {
            try await RunSearch.reindex(runtime, run: existing)  // a retry after the index failed
            return RunCreated(run: existing)
        }
        // The run, its write-once parameters and its metrics in one transaction: a crash between
        // them would leave a run without its parameters, which a retry (finding the run by its key)
        // would never add. The transaction holds the write lock from its first insert, so MAX(id)
        // is this run's id.
        let now = MetricLog.utcMillis(runtime.context)
        var statements = [
            SQLStatement("INSERT INTO runs(seed, code_version, data_digest, run_key, experiment, tenant) VALUES (?, ?, ?, ?, ?, ?)",
                         [.text(seed), .text(request.code ?? "v1"), .text(request.data ?? "d0"), key, .text(request.experiment ?? ""), .text(tenant)]),
            SQLStatement("SELECT MAX(id) FROM runs"),
        ]
        var params = request.param ?? [:]
        params["lr"] = params["lr"] ?? "\(request.lr ?? 0.1)"
        for (name, value) in params.sorted(by: { $0.key < $1.key }) {
            statements.append(SQLStatement("INSERT INTO params(run, key, value) VALUES ((SELECT MAX(id) FROM runs), ?, ?)", [.text(name), .text(value)]))
        }
        for (name, value) in (request.metric ?? [:]).sorted(by: { $0.key < $1.key }) {
            statements.append(SQLStatement("INSERT OR REPLACE INTO metrics(run, key, value, step, timestamp_ms) VALUES ((SELECT MAX(id) FROM runs), ?, ?, 0, ?)",
                                           [.text(name), .real(value), .integer(now)]))
        }
        // A run key is looked up within the caller's tenant only (another tenant's run is never
        // answered); keys stay unique across tenants, so one taken by another tenant is a conflict.
        let rows: [SQLRows]
        switch await runtime.transaction(statements) {
        case .success(let results): rows = results
        case .failure(.sql(let error)) where error.message.contains("UNIQUE"):
            // Two creates with one key raced past the look-up: the one that lost answers the
            // winner's run when it is the caller's tenant's (a retry is idempotent), 409 otherwise.
            if case .success(let found) = await runtime.transaction([SQLStatement("SELECT id FROM runs WHERE tenant = ? AND run_key = ?", [.text(tenant), key])]),
               let existing = found[0].rows.first?.first?.integer {
                return RunCreated(run: existing)
            }
            throw ServiceError(409, "run key \(request.runKey ?? "") is taken")
        case .failure: throw .internalError("cannot create the run")
        }
        guard let run = rows[1].rows.first?.first?.integer else { throw .internalError("cannot create the run") }
        try await RunSearch.reindex(runtime, run: run)
        return RunCreated(run: run)
    }

    /// Run `run` as stored; within `tenant` when one is given (another tenant's run is answered
    /// 404, as a missing one is, so ids cannot be probed), any run for the platform's own jobs.
    static func view(_ runtime: ServiceRuntime, run: Int64, tenant: String? = nil) async throws(ServiceError) -> RunView {
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT experiment, seed, code_version, data_digest, status, result, tenant FROM runs WHERE id = ?", [.integer(run)]),
        ]) else { throw .unavailable("cannot read run \(run)") }
        guard let row = rows[0].rows.first, row.count == 7, tenant == nil || row[6].text == tenant else { throw ServiceError(404, "no run \(run)") }
        let text = row.map { $0.text ?? "" }
        return RunView(run: run, experiment: text[0], seed: text[1], code: text[2], data: text[3], status: text[4], result: text[5])
    }
}

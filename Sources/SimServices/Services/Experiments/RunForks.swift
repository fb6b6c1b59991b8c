import SimKernel

/// Forks and deletion: `POST experiments/runs/fork` creates a run from a parent (its experiment,
/// seed, code, data and parameters; the parent recorded), `DELETE experiments/runs` deletes a run
/// with its parameters, metrics and tags unless a fork names it as parent (409), and
/// `GET experiments/runs/list` lists an experiment's runs with their parents. Each is one
/// transaction whose condition is checked inside it: a fork and a deletion of its parent racing
/// end with the fork refused (404) or the deletion refused (409), never a fork of nothing.
///
/// E4 forks in two transactions: the parent read in the first, the fork written in the second
/// without checking the parent again; a deletion in between leaves the fork a dangling parent.
public enum RunForks {
    public struct Fork: Codable, Sendable, Equatable {
        public var parent: Int64
        /// An idempotency key: a retried fork with the same key is the same run.
        public var runKey: String
    }
    public struct Delete: Codable, Sendable, Equatable {
        public var run: Int64
    }
    public struct Deleted: Codable, Sendable, Equatable {
        public var run: Int64
    }
    public struct List: Codable, Sendable, Equatable {
        public var experiment: String
    }
    /// `run:parent` (parent 0: none), ascending by run, joined by `,`.
    public struct Listing: Codable, Sendable, Equatable {
        public var runs: String
    }

    static let routes: [Route] = [
        Route("POST", "experiments/runs/fork", Fork.self, ExperimentsService.RunCreated.self) { runtime, request, info throws(ServiceError) in
            let key = SQLValue.text(request.runKey)
            // A fork belongs to its parent's tenant, and a tenant's caller forks its own runs only
            // (another tenant's parent is answered 404, as a missing one is).
            let tenant: SQLValue = info.tenant.map { .text($0) } ?? .null
            if runtime.defects.contains(.E4) {
                guard case .success(let read) = await runtime.transaction([
                    SQLStatement("SELECT seed, code_version, data_digest, experiment, tenant FROM runs WHERE id = ? AND tenant = COALESCE(?, tenant)",
                                 [.integer(request.parent), tenant]),
                    SQLStatement("SELECT key, value FROM params WHERE run = ?", [.integer(request.parent)]),
                ]) else { throw .unavailable("cannot fork run \(request.parent)") }
                guard let parent = read[0].rows.first else { throw ServiceError(404, "no run \(request.parent)") }
                var statements = [SQLStatement("INSERT OR IGNORE INTO runs(seed, code_version, data_digest, experiment, tenant, run_key, parent) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                               parent + [key, .integer(request.parent)])]
                for row in read[1].rows {
                    statements.append(SQLStatement("INSERT OR IGNORE INTO params(run, key, value) SELECT id, ?, ? FROM runs WHERE run_key = ?", [row[0], row[1], key]))
                }
                statements.append(SQLStatement("SELECT id FROM runs WHERE run_key = ?", [key]))
                guard case .success(let rows) = await runtime.transaction(statements), let run = rows.last?.rows.first?.first?.integer else {
                    throw .unavailable("cannot fork run \(request.parent)")
                }
                return ExperimentsService.RunCreated(run: run)
            }
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("""
                    INSERT OR IGNORE INTO runs(seed, code_version, data_digest, experiment, tenant, run_key, parent)
                    SELECT seed, code_version, data_digest, experiment, tenant, ?, id FROM runs WHERE id = ? AND tenant = COALESCE(?, tenant)
                    """, [key, .integer(request.parent), tenant]),
                // The parameters go to the run holding the key only when it is a fork of this
                // parent (a key taken by an unrelated run, perhaps another tenant's, is left alone).
                SQLStatement("INSERT OR IGNORE INTO params(run, key, value) SELECT (SELECT id FROM runs WHERE run_key = ?), key, value FROM params WHERE run = ? AND EXISTS (SELECT 1 FROM runs WHERE run_key = ? AND parent = ?)",
                             [key, .integer(request.parent), key, .integer(request.parent)]),
                SQLStatement("SELECT id FROM runs WHERE run_key = ? AND parent = ?", [key, .integer(request.parent)]),
            ]) else { throw .unavailable("cannot fork run \(request.parent)") }
            guard let run = rows[2].rows.first?.first?.integer else { throw ServiceError(404, "no run \(request.parent)") }
            return ExperimentsService.RunCreated(run: run)
        },
        Route("DELETE", "experiments/runs", Delete.self, Deleted.self) { runtime, request, info throws(ServiceError) in
            // Scoped in its own transaction: a run of another tenant is neither deleted nor told
            // from a missing one (404; logged when it exists), at no extra read.
            let run = SQLValue.integer(request.run), tenant: SQLValue = info.tenant.map { .text($0) } ?? .null
            let gone = "NOT EXISTS (SELECT 1 FROM runs WHERE id = ?)"
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("SELECT tenant FROM runs WHERE id = ?", [run]),
                SQLStatement("DELETE FROM runs WHERE id = ? AND tenant = COALESCE(?, tenant) AND NOT EXISTS (SELECT 1 FROM runs c WHERE c.parent = ?)", [run, tenant, run]),
                SQLStatement("DELETE FROM params WHERE run = ? AND \(gone)", [run, run]),
                SQLStatement("DELETE FROM metrics WHERE run = ? AND \(gone)", [run, run]),
                SQLStatement("DELETE FROM tags WHERE run = ? AND \(gone)", [run, run]),
                SQLStatement("SELECT COUNT(*) FROM runs WHERE id = ?", [run]),
            ]) else { throw .unavailable("cannot delete run \(request.run)") }
            guard let owner = rows[0].rows.first?.first?.text else { throw ServiceError(404, "no run \(request.run)") }
            if let caller = info.tenant, owner != caller {
                throw await SecurityEvents.refuseOtherTenants(runtime, info, "run", detail: "DELETE experiments/runs run \(request.run)", missing: "no run \(request.run)",
                                                              unavailable: "cannot delete run \(request.run)")
            }
            guard rows[5].rows.first?.first?.integer == 0 else { throw ServiceError(409, "run \(request.run) has forks: delete them first") }
            return Deleted(run: request.run)
        },
        Route("GET", "experiments/runs/list", List.self, Listing.self) { runtime, request, info throws(ServiceError) in
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("SELECT id, COALESCE(parent, 0) FROM runs WHERE experiment = ? AND tenant = COALESCE(?, tenant) ORDER BY id",
                             [.text(request.experiment), info.tenant.map { .text($0) } ?? .null]),
            ]) else { throw .unavailable("cannot list experiment \(request.experiment)") }
            return Listing(runs: rows[0].rows.compactMap { row in row[0].integer.map { "\($0):\(row[1].integer ?? 0)" } }.joined(separator: ","))
        },
    ]
}

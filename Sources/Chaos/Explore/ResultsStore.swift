import Foundation
import SimKernel

/// One explored seed, as the results database stores it.
public struct SeedResult: Codable, Equatable, Sendable {
    public var seed: UInt64
    /// An `Outcome.kind`, or `crash` when the run trapped (the worker process died).
    public var outcome: String
    public var checker: String?
    public var fingerprint: String?
    public var events: UInt64
    public var virtualNanoseconds: Int64
    public var wallSeconds: Double
    public var message: String?
    public var seedFile: String?
    /// Why a failure's seed file could not be written (reported by the worker; not stored).
    public var seedFileError: String?

    public var isFailure: Bool { outcome != "passed" }
}

/// The results database of an exploration: SQLite in WAL mode, one row per seed (the seed is the
/// primary key, so a resumed or merged exploration never counts a seed twice), and a `meta` table
/// that pins what the rows are results of.
public final class ResultsStore {
    let database: SQLiteDatabase

    /// What every row of one database is a result of.
    public struct Identity: Equatable, Sendable {
        public var scenario: String
        public var scenarioDigest: String
        public var defects: String
        public var faults: String
        public var strategy: String
        public var simulatorVersion: String

        public init(scenario: String, scenarioDigest: String, defects: String, faults: String, strategy: String, simulatorVersion: String) {
            self.scenario = scenario
            self.scenarioDigest = scenarioDigest
            self.defects = defects
            self.faults = faults
            self.strategy = strategy
            self.simulatorVersion = simulatorVersion
        }

        var pairs: [(String, String)] {
            [("scenario", scenario), ("scenario_digest", scenarioDigest), ("defects", defects), ("faults", faults),
             ("strategy", strategy), ("simulator_version", simulatorVersion)]
        }
    }

    public init(path: String, identity: Identity?) throws(SQLiteDatabase.Failure) {
        if let problem = OutputFile.problem(with: path) { throw SQLiteDatabase.Failure(path: path.isEmpty ? "''" : path, message: problem) }
        database = try SQLiteDatabase(path: path)
        // An existing file must be a results database (or empty): nothing is written into
        // another database, or into a file that is not one.
        let tables = Set(try database.query("SELECT name FROM sqlite_master WHERE type = 'table'").compactMap { $0[0].text })
        if !tables.isEmpty {
            guard tables == ["meta", "runs"] else {
                database.close()
                throw SQLiteDatabase.Failure(path: path, message: "not a results database of simrun explore (it has tables \(tables.sorted().joined(separator: ", ")))")
            }
            let columns = try database.query("PRAGMA table_info(runs)").compactMap { $0[1].text }
            guard columns == Self.runColumns else {
                database.close()
                throw SQLiteDatabase.Failure(path: path, message: "not a results database of simrun explore (its runs table has columns \(columns.joined(separator: ", ")))")
            }
        }
        try database.execute("""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS runs(
                seed INTEGER PRIMARY KEY, outcome TEXT NOT NULL, checker TEXT, fingerprint TEXT,
                events INTEGER NOT NULL, virtual_ns INTEGER NOT NULL, wall_s REAL NOT NULL,
                message TEXT, seed_file TEXT);
            """)
        guard let identity else { return }
        let existing = try self.identity()
        if existing.isEmpty {
            for (key, value) in identity.pairs {
                try database.query("INSERT INTO meta(key, value) VALUES (?, ?)", [.text(key), .text(value)])
            }
        } else {
            for (key, value) in identity.pairs where existing[key] != value {
                throw SQLiteDatabase.Failure(path: path, message: "\(key): this results file holds runs of \(existing[key] ?? "?"), not \(value); use another --results file")
            }
        }
    }

    static let runColumns = ["seed", "outcome", "checker", "fingerprint", "events", "virtual_ns", "wall_s", "message", "seed_file"]

    /// Opens an existing results database to read it (`merge`'s inputs): nothing in the file is
    /// changed, and a file that is not a results database is refused.
    public init(readingFrom path: String) throws(SQLiteDatabase.Failure) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw SQLiteDatabase.Failure(path: path, message: "no such file") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SQLiteDatabase.Failure(path: path, message: "not a regular file") }
        // Immutable: no lock, no -wal or -shm beside the input (explore closes its databases with
        // the log folded in, so the file alone holds every row).
        database = try SQLiteDatabase(path: path, readOnly: true, immutable: true)
        let tables = Set(try database.query("SELECT name FROM sqlite_master WHERE type = 'table'").compactMap { $0[0].text })
        guard tables.isSuperset(of: ["meta", "runs"]) else {
            throw SQLiteDatabase.Failure(path: path, message: "not a results database of simrun explore (no meta and runs tables)")
        }
    }

    /// Closes the database, folding its write-ahead log into the file (call on every exit).
    public func close() {
        _ = try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
    }

    /// The stored identity, key -> value (empty for a new database).
    public func identity() throws(SQLiteDatabase.Failure) -> [String: String] {
        var result: [String: String] = [:]
        for row in try database.query("SELECT key, value FROM meta ORDER BY key") {
            if let key = row[0].text, let value = row[1].text { result[key] = value }
        }
        return result
    }

    /// Seeds already explored.
    public func exploredSeeds() throws(SQLiteDatabase.Failure) -> Set<UInt64> {
        Set(try database.query("SELECT seed FROM runs").compactMap { $0[0].integer.map { UInt64(bitPattern: $0) } })
    }

    /// Stores a result (a seed already stored is kept as it was).
    public func record(_ result: SeedResult) throws(SQLiteDatabase.Failure) {
        try database.query(
            "INSERT OR IGNORE INTO runs(seed, outcome, checker, fingerprint, events, virtual_ns, wall_s, message, seed_file) VALUES (?,?,?,?,?,?,?,?,?)",
            [.integer(Int64(bitPattern: result.seed)), .text(result.outcome), result.checker.map { .text($0) } ?? .null,
             result.fingerprint.map { .text($0) } ?? .null, .integer(Int64(result.events)), .integer(result.virtualNanoseconds),
             .real(result.wallSeconds), result.message.map { .text($0) } ?? .null, result.seedFile.map { .text($0) } ?? .null])
    }

    /// Every stored result, by seed.
    public func results() throws(SQLiteDatabase.Failure) -> [SeedResult] {
        try database.query("SELECT seed, outcome, checker, fingerprint, events, virtual_ns, wall_s, message, seed_file FROM runs ORDER BY seed").map { row in
            SeedResult(seed: UInt64(bitPattern: row[0].integer ?? 0), outcome: row[1].text ?? "?", checker: row[2].text, fingerprint: row[3].text,
                       events: UInt64(row[4].integer ?? 0), virtualNanoseconds: row[5].integer ?? 0, wallSeconds: row[6].real ?? 0,
                       message: row[7].text, seedFile: row[8].text)
        }
    }

    /// Copies every row of `other` in (seeds present here are kept), after checking both hold
    /// runs of the same thing. Returns the number of rows added.
    public func merge(from other: ResultsStore) throws(SQLiteDatabase.Failure) -> Int {
        try merge(from: [other])[0]
    }

    /// Copies every row of each of `others` in, all or nothing: every identity is checked first
    /// (each must hold runs of the same thing as the others and as this database), then the rows
    /// go in in one transaction. Returns the rows added from each.
    public func merge(from others: [ResultsStore]) throws(SQLiteDatabase.Failure) -> [Int] {
        var mine = try identity()
        for other in others {
            let theirs = try other.identity()
            if mine.isEmpty { mine = theirs; continue }
            if mine != theirs {
                let key = (Set(mine.keys).union(theirs.keys)).sorted().first { mine[$0] != theirs[$0] } ?? "meta"
                throw SQLiteDatabase.Failure(path: other.database.path, message: "\(key): holds runs of \(theirs[key] ?? "?"), the others hold \(mine[key] ?? "?")")
            }
        }
        try database.execute("BEGIN IMMEDIATE")
        do {
            if try identity().isEmpty {
                for (key, value) in mine.sorted(by: { $0.key < $1.key }) {
                    try database.query("INSERT INTO meta(key, value) VALUES (?, ?)", [.text(key), .text(value)])
                }
            }
            var added: [Int] = []
            for other in others {
                let before = try database.query("SELECT COUNT(*) FROM runs").first?.first?.integer ?? 0
                for result in try other.results() { try record(result) }
                let after = try database.query("SELECT COUNT(*) FROM runs").first?.first?.integer ?? 0
                added.append(Int(after - before))
            }
            try database.execute("COMMIT")
            return added
        } catch {
            _ = try? database.execute("ROLLBACK")
            throw error
        }
    }
}

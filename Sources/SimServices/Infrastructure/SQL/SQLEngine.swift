import CSQLite
import SimKernel

/// A value in or out of SQL.
public enum SQLValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null

    public var integer: Int64? { if case .integer(let v) = self { return v } else { return nil } }
    public var text: String? { if case .text(let v) = self { return v } else { return nil } }
    /// A number as a double (an integer column value converts exactly up to 2^53).
    public var real: Double? {
        switch self {
        case .real(let v): return v
        case .integer(let v): return Double(v)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .integer(let v): return "\(v)"
        case .real(let v): return "\(v)"
        case .text(let v): return "'\(v)'"
        case .blob(let v): return "blob(\(v.count))"
        case .null: return "NULL"
        }
    }
}

/// One statement with its parameters.
public struct SQLStatement: Hashable, Sendable, Codable {
    public var sql: String
    public var parameters: [SQLValue]
    public init(_ sql: String, _ parameters: [SQLValue] = []) {
        self.sql = sql
        self.parameters = parameters
    }
}

/// Rows a statement returned, and how many rows it changed.
public struct SQLRows: Hashable, Sendable, Codable {
    public var columns: [String]
    public var rows: [[SQLValue]]
    public var changes: Int
}

/// A SQL error as the engine reports it, classified for callers.
public struct SQLError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// UNIQUE, NOT NULL, CHECK, FOREIGN KEY: the transaction was rolled back; do not retry blindly.
        case constraint
        /// The database is busy or locked (a conflicting transaction): retry later.
        case busy
        /// The transaction lost a conflict with a concurrent one and was rolled back (SQLSTATE
        /// 40001, "could not serialize access"): retry the whole transaction.
        case serialization
        /// Waiting would have closed a wait cycle; this transaction was rolled back (40P01).
        case deadlock
        /// A lock was not granted within the lock timeout; the transaction was rolled back (55P03).
        case lockTimeout
        /// The disk failed or the node died under the engine.
        case io
        /// The database file is damaged.
        case corrupt
        /// Bad SQL or anything else.
        case other
    }
    public var kind: Kind
    public var code: Int32
    public var message: String
    public var description: String { "SQL \(kind.rawValue) error \(code): \(message)" }

    /// The transaction lost to a concurrent one and was rolled back: running it again may succeed.
    public var isConflict: Bool { [.serialization, .deadlock, .lockTimeout].contains(kind) }

    /// Worth retrying later: a conflict, or the database busy or failing under the engine.
    public var isTransient: Bool { isConflict || kind == .busy || kind == .io }

    /// PostgreSQL's SQLSTATE for the kind, for messages and callers that speak it.
    public var sqlState: String {
        switch kind {
        case .constraint: return "23000"
        case .busy: return "55006"
        case .serialization: return "40001"
        case .deadlock: return "40P01"
        case .lockTimeout: return "55P03"
        case .io: return "58030"
        case .corrupt: return "XX001"
        case .other: return "42000"
        }
    }

    /// An error the server decides (a conflict outcome), not one SQLite reported.
    public init(kind: Kind, message: String) {
        self.kind = kind
        self.code = SQLITE_BUSY
        self.message = message
    }

    init(code: Int32, message: String) {
        self.code = code
        self.message = message
        switch code & 0xFF {
        case SQLITE_CONSTRAINT: kind = .constraint
        case SQLITE_BUSY, SQLITE_LOCKED: kind = .busy
        case SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN: kind = .io
        case SQLITE_CORRUPT, SQLITE_NOTADB: kind = .corrupt
        default: kind = .other
        }
    }
}

/// How durably a database commits (see ../shared/docs/sqlite-vfs.md for what each loses).
public enum SQLDurability: String, Sendable, Codable {
    /// `journal_mode=DELETE`, `synchronous=EXTRA`: every acknowledged commit survives a crash.
    case safe
    /// `journal_mode=DELETE`, `synchronous=OFF`: fast, and loses or corrupts commits on power loss.
    case unsafeNoSync = "unsafe_no_sync"
}

/// A real SQLite connection whose files live on a node's simulated disk.
public final class SQLConnection {
    let handle: OpaquePointer
    public let path: String

    /// Opens (creating) the database `/<node>/<file>` through the simulated VFS.
    public init(node: String, file: String, durability: SQLDurability = .safe) throws(SQLError) {
        SimulatedVFS.prepareForRun()
        path = "/\(node)/\(file)"
        var db: OpaquePointer?
        let status = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, SimulatedVFS.name)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLError(code: status, message: "\(path): \(message)")
        }
        handle = db
        let pragmas = ["PRAGMA journal_mode=DELETE", durability == .safe ? "PRAGMA synchronous=EXTRA" : "PRAGMA synchronous=OFF"]
        for pragma in pragmas {
            do { _ = try execute(SQLStatement(pragma)) } catch {
                sqlite3_close_v2(db)
                throw error
            }
        }
    }

    /// Closes the connection (after a crash its files are dead, so nothing reaches the disk).
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        for statement in cached.values { sqlite3_finalize(statement) }  // determinism-ok: finalizing touches no file
        cached.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Prepared statements by SQL text, reused across calls: a service runs the same few
    /// statements over and over, and parsing them anew was a tenth of a run's time. Bounded, since
    /// a caller could build SQL text with literals in it.
    private var cached: [String: OpaquePointer] = [:]
    private static let cacheLimit = 128
    public private(set) var isClosed = false

    /// True outside any transaction.
    var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    /// Runs one statement.
    public func execute(_ statement: SQLStatement) throws(SQLError) -> SQLRows {
        let prepared: OpaquePointer
        let keep: Bool
        if let known = cached[statement.sql] {
            prepared = known
            keep = true
        } else {
            var fresh: OpaquePointer?
            let status = sqlite3_prepare_v2(handle, statement.sql, -1, &fresh, nil)
            guard status == SQLITE_OK, let fresh else { throw error(status) }
            prepared = fresh
            keep = cached.count < Self.cacheLimit
            if keep { cached[statement.sql] = fresh }
        }
        defer {
            if keep {
                sqlite3_reset(prepared)
                sqlite3_clear_bindings(prepared)
            } else {
                sqlite3_finalize(prepared)
            }
        }
        for (offset, value) in statement.parameters.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let v): sqlite3_bind_int64(prepared, index, v)
            case .real(let v): sqlite3_bind_double(prepared, index, v)
            case .text(let v): synapsenet_bind_text(prepared, index, v)
            case .blob(let v): v.withUnsafeBytes { _ = synapsenet_bind_blob(prepared, index, $0.baseAddress, Int32(v.count)) }
            case .null: sqlite3_bind_null(prepared, index)
            }
        }
        var rows: [[SQLValue]] = []
        var columnCount: Int32 = 0
        var columns: [String]?
        while true {
            let step = sqlite3_step(prepared)
            // Column names after the first step: a reused statement is prepared again inside
            // `step` when the schema changed since, and its columns with it.
            if columns == nil {
                columnCount = sqlite3_column_count(prepared)
                columns = (0 ..< columnCount).map { String(cString: sqlite3_column_name(prepared, $0)) }
            }
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw error(step) }
            rows.append((0 ..< columnCount).map { column -> SQLValue in
                switch sqlite3_column_type(prepared, column) {
                case SQLITE_INTEGER: return .integer(sqlite3_column_int64(prepared, column))
                case SQLITE_FLOAT: return .real(sqlite3_column_double(prepared, column))
                case SQLITE_NULL: return .null
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(prepared, column))
                    guard count > 0, let bytes = sqlite3_column_blob(prepared, column) else { return .blob([]) }
                    return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
                default: return .text(String(cString: sqlite3_column_text(prepared, column)))
                }
            })
        }
        return SQLRows(columns: columns ?? [], rows: rows, changes: Int(sqlite3_changes(handle)))
    }

    /// Runs statements as one transaction: all of them or none.
    public func transaction(_ statements: [SQLStatement]) throws(SQLError) -> [SQLRows] {
        _ = try execute(SQLStatement("BEGIN IMMEDIATE"))
        var results: [SQLRows] = []
        do {
            for statement in statements { results.append(try execute(statement)) }
            _ = try execute(SQLStatement("COMMIT"))
        } catch {
            _ = try? execute(SQLStatement("ROLLBACK"))
            throw error
        }
        return results
    }

    /// The main database file's VFS handle (its lock level), nil before the first access.
    var mainFile: SimulatedFile? {
        var pointer: UnsafeMutableRawPointer?
        guard sqlite3_file_control(handle, "main", SQLITE_FCNTL_FILE_POINTER, &pointer) == SQLITE_OK, let pointer else { return nil }
        let file = pointer.assumingMemoryBound(to: sqlite3_file.self)
        guard file.pointee.pMethods != nil else { return nil }
        return SimulatedVFS.handle(file)
    }

    /// This connection holds a read lock and nothing more (its transaction has read, not written).
    var holdsSharedLock: Bool { mainFile?.lockLevel == SQLITE_LOCK_SHARED }

    /// This connection holds at least a read lock.
    var holdsReadLock: Bool { (mainFile?.lockLevel ?? SQLITE_LOCK_NONE) >= SQLITE_LOCK_SHARED }

    /// Another connection waits to commit (PENDING) for readers such as this one.
    var anotherWriterIsWaiting: Bool { mainFile.map { $0.locks.writerWaiting($0) } ?? false }

    func error(_ status: Int32) -> SQLError {
        SQLError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }
}

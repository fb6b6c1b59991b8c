import Foundation
import CSQLite

/// A small wrapper over the system SQLite for the exploration's results database (a real file on
/// the host, not the simulated disk).
public final class SQLiteDatabase {
    var handle: OpaquePointer?
    public let path: String

    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    /// Opens `path` (created when missing unless `readOnly`).
    public init(path: String, readOnly: Bool = false, immutable: Bool = false) throws(Failure) {
        var db: OpaquePointer?
        // The host's own VFS by name: the simulator registers its simulated-disk VFS as the default.
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        var name = path
        if immutable {
            // A URI, so that `immutable=1` applies: SQLite then takes no lock and makes no file.
            flags |= SQLITE_OPEN_URI
            let escaped = path.unicodeScalars.map { scalar -> String in
                ("a" ... "z").contains(scalar) || ("A" ... "Z").contains(scalar) || ("0" ... "9").contains(scalar) || "/._-".unicodeScalars.contains(scalar)
                    ? String(scalar) : String(scalar).utf8.map { String(format: "%%%02X", $0) }.joined()
            }.joined()
            name = "file:\(escaped)?immutable=1"
        }
        let status = sqlite3_open_v2(name, &db, flags, "unix")
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw Failure(path: path, message: message)
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit { close() }

    /// Closes the connection; the last connection of a WAL database folds the log into the main
    /// file and removes it, so the `.sqlite` file alone then holds every row.
    public func close() {
        guard let handle else { return }
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    /// Runs one or more statements without results.
    public func execute(_ sql: String) throws(Failure) {
        var error: UnsafeMutablePointer<CChar>?
        guard let handle else { throw Failure(path: path, message: "the database is closed") }
        if sqlite3_exec(handle, sql, nil, nil, &error) != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "error"
            sqlite3_free(error)
            throw Failure(path: path, message: message)
        }
    }

    /// A value bound to or read from a statement.
    public enum Value: Equatable, Sendable {
        case integer(Int64)
        case real(Double)
        case text(String)
        case null

        public var integer: Int64? { if case .integer(let v) = self { return v } else { return nil } }
        public var text: String? { if case .text(let v) = self { return v } else { return nil } }
        public var real: Double? {
            switch self {
            case .real(let v): return v
            case .integer(let v): return Double(v)
            default: return nil
            }
        }
    }

    /// Runs a statement with bound values and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ values: [Value] = []) throws(Failure) -> [[Value]] {
        guard let handle else { throw Failure(path: path, message: "the database is closed") }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(path: path, message: String(cString: sqlite3_errmsg(handle)))
        }
        defer { sqlite3_finalize(statement) }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let v): sqlite3_bind_int64(statement, index, v)
            case .real(let v): sqlite3_bind_double(statement, index, v)
            case .text(let v): synapsenet_bind_text(statement, index, v)
            case .null: sqlite3_bind_null(statement, index)
            }
        }
        var rows: [[Value]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw Failure(path: path, message: String(cString: sqlite3_errmsg(handle))) }
            var row: [Value] = []
            for column in 0 ..< sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(statement, column)))
                case SQLITE_NULL: row.append(.null)
                default: row.append(.text(String(cString: sqlite3_column_text(statement, column))))
                }
            }
            rows.append(row)
        }
        return rows
    }
}

/// Makes standard output line-buffered, also when it is a pipe or a file (CI, a pod's log), so
/// that headers and progress lines appear as they are printed.
public func lineBufferStandardOutput() { synapsenet_line_buffer_stdout() }

/// Flushes standard output; true when a write to it failed (a full disk, a closed pipe).
public func standardOutputFailed() -> Bool { synapsenet_stdout_failed() != 0 }

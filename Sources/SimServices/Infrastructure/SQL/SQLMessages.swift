import SimKernel

/// Requests and replies of the SQL database service.
public enum SQLMessage: SimMessage {
    /// Run the statements as one transaction.
    case transaction([SQLStatement])
    /// The same, acting for `owner`: its lock waits are mirrored into the lock manager under
    /// that name (a caller holding platform locks while it writes).
    case ownedTransaction([SQLStatement], owner: String)
    /// Interactive transactions: open session `id` (BEGIN), run one statement in it, commit it or
    /// roll it back. `owner` names the caller in lock waits (`training/done`, `scheduler/sweep`).
    /// `seq` numbers a session's requests (1, 2, ...): the server answers a repeated request
    /// (a duplicate, a retry) from its reply cache instead of running it twice.
    case begin(session: String, owner: String)
    case execute(session: String, seq: Int, SQLStatement)
    case commit(session: String, seq: Int)
    case rollback(session: String)
    case result([SQLRows])
    case failed(SQLError)

    public var wireSize: Int {
        switch self {
        case .transaction(let s), .ownedTransaction(let s, _): return 32 + s.reduce(0) { $0 + $1.sql.utf8.count + 16 * $1.parameters.count }
        case .execute(_, _, let s): return 48 + s.sql.utf8.count + 16 * s.parameters.count
        case .result(let r): return 32 + r.reduce(0) { $0 + 16 * $1.rows.count * Swift.max(1, $1.columns.count) }
        case .failed, .begin, .commit, .rollback: return 64
        }
    }
    public var traceDigest: UInt64 {
        switch self {
        case .transaction(let s): return s.reduce(1) { mix64($0, $1.digest) }
        case .ownedTransaction(let s, let owner): return s.reduce(stableHash(owner)) { mix64($0, $1.digest) }
        case .begin(let session, let owner): return mix64(4, stableHash(session) ^ stableHash(owner))
        case .execute(let session, let seq, let s): return mix64(5, stableHash(session) ^ s.digest ^ UInt64(seq))
        case .commit(let session, let seq): return mix64(6, stableHash(session) ^ UInt64(seq))
        case .rollback(let session): return mix64(7, stableHash(session))
        case .result(let r): return r.reduce(2) { mix64($0, UInt64($1.changes) ^ UInt64($1.rows.count) << 32) }
        case .failed(let e): return mix64(3, UInt64(UInt32(bitPattern: e.code)))
        }
    }
    public var traceSummary: String {
        switch self {
        case .transaction(let s): return "transaction of \(s.count): " + (s.first.map { String($0.sql.prefix(40)) } ?? "")
        case .ownedTransaction(let s, let owner): return "transaction of \(s.count) for \(owner): " + (s.first.map { String($0.sql.prefix(40)) } ?? "")
        case .begin(let session, let owner): return "begin \(session) for \(owner)"
        case .execute(let session, let seq, let s): return "\(session) #\(seq): \(s.sql.prefix(48))"
        case .commit(let session, let seq): return "commit \(session) #\(seq)"
        case .rollback(let session): return "rollback \(session)"
        case .result(let r): return "result \(r.map(\.rows.count)) rows"
        case .failed(let e): return "failed: \(e)"
        }
    }
}

extension SQLStatement {
    /// A digest of the statement and its parameters for the trace fingerprint. Hashes the values
    /// themselves: formatting them as text first (`description`) cost 2% of a run.
    var digest: UInt64 { parameters.reduce(stableHash(sql)) { mix64($0, $1.digest) } }
}

extension SQLValue {
    /// A digest of the value, distinct per case.
    var digest: UInt64 {
        switch self {
        case .integer(let v): return mix64(1, UInt64(bitPattern: v))
        case .real(let v): return mix64(2, v.bitPattern)
        case .text(let v): return mix64(3, stableHash(v))
        case .blob(let v): return mix64(4, stableHash(v))
        case .null: return 5
        }
    }
}

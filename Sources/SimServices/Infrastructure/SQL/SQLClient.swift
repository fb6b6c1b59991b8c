import SimKernel

/// Why a SQL call failed, as the client sees it.
public enum SQLClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No answer in time: the transaction may or may not have committed.
    case timeout(attempts: Int)
    case sql(SQLError)
    public var description: String {
        switch self {
        case .timeout(let attempts): return "no answer from the database after \(attempts) attempt(s)"
        case .sql(let error): return "\(error)"
        }
    }
}

/// A typed client of a SQL database service.
public struct SQLClient: Sendable {
    public let address: Address
    public init(address: Address) { self.address = address }

    /// Runs a transaction. `retries` re-sends it after a timeout: only for idempotent work (a
    /// timed-out transaction may have committed). Lock waits are the server's: it answers within
    /// its lock timeout, with 55P03 if the locks never came.
    public func transaction(_ statements: [SQLStatement], context: ProcessContext, timeout: Int64 = Nanos.second,
                            retries: Int = 0, owner: String? = nil) async -> Result<[SQLRows], SQLClientError> {
        var attempt = 0
        let message = owner.map { SQLMessage.ownedTransaction(statements, owner: $0) } ?? .transaction(statements)
        while true {
            attempt += 1
            switch await context.call(address, message, timeout: timeout) {
            case .success(let envelope):
                switch envelope.payload as? SQLMessage {
                case .result(let rows): return .success(rows)
                case .failed(let error): return .failure(.sql(error))
                default: return .failure(.sql(SQLError(code: -1, message: "unexpected reply")))
                }
            case .failure:
                if attempt > retries { return .failure(.timeout(attempts: attempt)) }
                await context.sleep(nanoseconds: context.withRandom { $0.uniform(10 * Nanos.millisecond ... 50 * Nanos.millisecond) })
            }
        }
    }
}

/// An interactive transaction on a SQL database service: statements one round trip each, then
/// commit. Opened by `SQLClient.interactive`.
public final class SQLSession: @unchecked Sendable {  // confined to its simulation's thread
    public let client: SQLClient
    public let id: String
    let context: ProcessContext
    let timeout: Int64
    /// The sequence number of the session's last request.
    var seq = 0

    init(client: SQLClient, id: String, context: ProcessContext, timeout: Int64) {
        self.client = client
        self.id = id
        self.context = context
        self.timeout = timeout
    }

    /// Runs one statement inside the transaction.
    public func execute(_ statement: SQLStatement) async -> Result<SQLRows, SQLClientError> {
        seq += 1
        switch await client.call(.execute(session: id, seq: seq, statement), context: context, timeout: timeout) {
        case .success(let rows): return .success(rows.first ?? SQLRows(columns: [], rows: [], changes: 0))
        case .failure(let error): return .failure(error)
        }
    }

    public func execute(_ sql: String, _ parameters: [SQLValue] = []) async -> Result<SQLRows, SQLClientError> {
        await execute(SQLStatement(sql, parameters))
    }
}

extension SQLClient {
    /// One request and its answer (no retry).
    func call(_ message: SQLMessage, context: ProcessContext, timeout: Int64) async -> Result<[SQLRows], SQLClientError> {
        switch await context.call(address, message, timeout: timeout) {
        case .success(let envelope):
            switch envelope.payload as? SQLMessage {
            case .result(let rows): return .success(rows)
            case .failed(let error): return .failure(.sql(error))
            default: return .failure(.sql(SQLError(kind: .other, message: "unexpected reply")))
            }
        case .failure:
            return .failure(.timeout(attempts: 1))
        }
    }

    /// Runs `body` as one interactive transaction (BEGIN, its statements, COMMIT) and retries the
    /// whole transaction, up to `attempts` times with backoff, when it lost a conflict (40001),
    /// was chosen as a deadlock victim (40P01) or timed out waiting for a lock (55P03). `owner`
    /// names the caller in lock waits. A body that returns a failure rolls the transaction back.
    public func interactive<T: Sendable>(owner: String, context: ProcessContext, attempts: Int = 5, timeout: Int64 = Nanos.second,
                                         _ body: (SQLSession) async -> Result<T, SQLClientError>) async -> Result<T, SQLClientError> {
        var backoff = 5 * Nanos.millisecond
        var attempt = 0
        while true {
            attempt += 1
            let id = "\(owner)#\(context.epoch)-\(context.withRandom { $0.next() } & 0xFFFF_FFFF)"
            let session = SQLSession(client: self, id: id, context: context, timeout: timeout)
            var outcome: Result<T, SQLClientError>
            switch await call(.begin(session: id, owner: owner), context: context, timeout: timeout) {
            case .failure(let error): outcome = .failure(error)
            case .success:
                outcome = await body(session)
                if case .success = outcome {
                    // A commit whose answer was lost is asked again (same number): the server
                    // answers a repeat with what happened, so a commit is never reported failed
                    // when it succeeded.
                    session.seq += 1
                    var committed = await call(.commit(session: id, seq: session.seq), context: context, timeout: timeout)
                    for _ in 0 ..< 2 {
                        guard case .failure(.timeout) = committed else { break }
                        committed = await call(.commit(session: id, seq: session.seq), context: context, timeout: timeout)
                    }
                    if case .failure(let error) = committed { outcome = .failure(error) }
                }
                if case .failure = outcome { _ = await call(.rollback(session: id), context: context, timeout: timeout) }
            }
            guard case .failure(.sql(let error)) = outcome, error.isConflict, attempt < attempts else {
                return outcome
            }
            await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff) })
            backoff = Swift.min(500 * Nanos.millisecond, backoff * 2)
        }
    }
}

extension TraceKind {
    public static let sqlCommit = TraceKind("sql.transaction")
    public static let sqlError = TraceKind("sql.error")
}

import SimKernel

/// Requests and replies of the SQL database service.
public enum SQLMessage: SimMessage {
    /// Run the statements as one transaction.
    case transaction([SQLStatement])
    case result([SQLRows])
    case failed(SQLError)

    public var wireSize: Int {
        switch self {
        case .transaction(let s): return 32 + s.reduce(0) { $0 + $1.sql.utf8.count + 16 * $1.parameters.count }
        case .result(let r): return 32 + r.reduce(0) { $0 + 16 * $1.rows.count * Swift.max(1, $1.columns.count) }
        case .failed: return 64
        }
    }
    public var traceDigest: UInt64 {
        switch self {
        case .transaction(let s): return s.reduce(1) { mix64($0, stableHash($1.sql + $1.parameters.description)) }
        case .result(let r): return r.reduce(2) { mix64($0, UInt64($1.changes) ^ UInt64($1.rows.count) << 32) }
        case .failed(let e): return mix64(3, UInt64(UInt32(bitPattern: e.code)))
        }
    }
    public var traceSummary: String {
        switch self {
        case .transaction(let s): return "transaction of \(s.count): " + (s.first.map { String($0.sql.prefix(40)) } ?? "")
        case .result(let r): return "result \(r.map(\.rows.count)) rows"
        case .failed(let e): return "failed: \(e)"
        }
    }
}

/// A SQL database service (models_db, users_db, experiments_db, metrics_db): a real SQLite engine
/// whose files live on its node's simulated disk. Transactions run one at a time, in arrival
/// order; a crash kills the connection, and the restarted process reopens the file, where SQLite's
/// journal recovery brings back every committed transaction and none of the uncommitted.
public enum SQLServer {
    public static func run(database: String, durability: SQLDurability = .safe, context: ProcessContext) async {
        let connection: SQLConnection
        do {
            connection = try SQLConnection(node: context.node.name, file: "\(database).db", durability: durability)
        } catch {
            context.record(.sqlError, payload: 0, "open \(database): \(error)")
            return
        }
        // Close the connection once the node dies; not from inside the crash (which may happen
        // in the middle of one of SQLite's own disk writes), but as the next event.
        let simulation = context.simulation, epoch = context.epoch
        context.node.onCrash { node in
            guard node.epoch == epoch + 1 else { return }
            simulation.schedule(after: 0) { connection.close() }
        }
        let inbox = context.mailbox("sql")
        while true {
            let envelope = await inbox.receive()
            guard case .transaction(let statements) = envelope.payload as? SQLMessage else { continue }
            let operationsBefore = context.disk.operationCount
            let reply: SQLMessage
            do { reply = .result(try connection.transaction(statements)) } catch { reply = .failed(error) }
            guard context.isAlive else { return }
            // The engine's disk work took no virtual time; charge the disk's latency for it.
            if context.disk.operationCount > operationsBefore {
                let latency = context.disk.options.syncLatency
                await context.sleep(nanoseconds: context.withRandom { latency.sample(&$0) })
            }
            context.record(.sqlCommit, payload: reply.traceDigest, reply.traceSummary)
            context.reply(to: envelope, reply)
        }
    }
}

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
    /// timed-out transaction may have committed). Busy errors are retried too, with backoff.
    public func transaction(_ statements: [SQLStatement], context: ProcessContext, timeout: Int64 = Nanos.second,
                            retries: Int = 0) async -> Result<[SQLRows], SQLClientError> {
        var attempt = 0
        while true {
            attempt += 1
            switch await context.call(address, SQLMessage.transaction(statements), timeout: timeout) {
            case .success(let envelope):
                switch envelope.payload as? SQLMessage {
                case .result(let rows): return .success(rows)
                case .failed(let error) where error.kind == .busy && attempt <= retries + 1:
                    await context.sleep(nanoseconds: Int64(attempt) * 10 * Nanos.millisecond)
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

extension TraceKind {
    public static let sqlCommit = TraceKind("sql.transaction")
    public static let sqlError = TraceKind("sql.error")
}

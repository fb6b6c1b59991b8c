import CSQLite
import SimKernel

/// A SQL database service (models_db, users_db, experiments_db, metrics_db): a real SQLite engine
/// whose files live on its node's simulated disk, serving many transactions at once.
///
/// Each transaction runs on a connection of its own (DELETE journal, SQLite's file locks between
/// connections: `SQLFileLocks`), which gives SERIALIZABLE isolation with locks, as PostgreSQL's
/// strictest level would: a reader holds SHARED until its transaction ends; one writer at a time
/// holds RESERVED; a commit needs every other reader gone. Outcomes a PostgreSQL user knows:
/// - a commit that waits for readers is a **lock wait** (retried every 2 ms, traced as
///   `sql.lock_wait`, rolled back with 55P03 after `lockTimeout`);
/// - a write that meets another transaction's write lock loses: **serialization failure** (40001),
///   rolled back at once (retry the transaction);
/// - a write by a reader that a waiting committer is waiting for would close a wait cycle:
///   **deadlock detected** (40P01), rolled back at once.
///
/// Batch transactions (`.transaction`) are retried by the server on conflicts (they hold nothing
/// between statements); interactive sessions (`.begin`/`.execute`/`.commit`) get the outcome. A
/// session idle for `idleTimeout` is rolled back (a crashed client must not hold locks forever).
/// A crash kills every connection; the restarted process reopens the file, where SQLite's journal
/// recovery brings back every committed transaction and none of the uncommitted.
public enum SQLServer {
    public static let lockTimeout: Int64 = 2 * Nanos.second
    public static let idleTimeout: Int64 = 5 * Nanos.second

    final class Session {
        let connection: SQLConnection
        let owner: String
        var lastUsed: Int64
        init(connection: SQLConnection, owner: String, at: Int64) {
            self.connection = connection
            self.owner = owner
            lastUsed = at
        }
    }

    /// The server's connections and sessions (one process's state).
    final class State {
        let node: String
        let file: String
        let durability: SQLDurability
        var idle: [SQLConnection] = []
        var all: [SQLConnection] = []
        var sessions: [String: Session] = [:]
        init(node: String, file: String, durability: SQLDurability) {
            self.node = node
            self.file = file
            self.durability = durability
        }
        func connection() throws(SQLError) -> SQLConnection {
            if let reused = idle.popLast() { return reused }
            let opened = try SQLConnection(node: node, file: file, durability: durability)
            all.append(opened)
            return opened
        }
    }

    public static func run(database: String, durability: SQLDurability = .safe, context: ProcessContext) async {
        let state = State(node: context.node.name, file: "\(database).db", durability: durability)
        do {
            state.idle.append(try state.connection())
        } catch {
            context.record(.sqlError, payload: 0, "open \(database): \(error)")
            return
        }
        // Close the connections once the node dies; not from inside the crash (which may happen
        // in the middle of one of SQLite's own disk writes), but as the next event.
        let simulation = context.simulation, epoch = context.epoch
        context.node.onCrash { node in
            guard node.epoch == epoch + 1 else { return }
            simulation.schedule(after: 0) { for connection in state.all { connection.close() } }
        }
        context.simulation.spawn { await expireIdleSessions(state, context: context) }
        let inbox = context.mailbox("sql")
        while true {
            let envelope = await inbox.receive()
            guard let message = envelope.payload as? SQLMessage else { continue }
            context.simulation.spawn {
                let operationsBefore = context.disk.operationCount
                let reply = await handle(message, state: state, context: context)
                guard context.isAlive else { return }
                // The engine's disk work took no virtual time; charge the disk's latency for it.
                if context.disk.operationCount > operationsBefore {
                    let latency = context.disk.options.syncLatency
                    await context.sleep(nanoseconds: context.withRandom { latency.sample(&$0) })
                }
                guard context.isAlive else { return }
                context.record(.sqlCommit, payload: reply.traceDigest, reply.traceSummary)
                context.reply(to: envelope, reply)
            }
        }
    }

    static func handle(_ message: SQLMessage, state: State, context: ProcessContext) async -> SQLMessage {
        switch message {
        case .transaction(let statements):
            return await batch(statements, state: state, context: context)
        case .begin(let id, let owner):
            guard state.sessions[id] == nil else { return .failed(SQLError(kind: .other, message: "session \(id) already open")) }
            do {
                let connection = try state.connection()
                _ = try connection.execute(SQLStatement("BEGIN"))
                state.sessions[id] = Session(connection: connection, owner: owner, at: context.simulation.now)
                return .result([])
            } catch { return .failed(error) }
        case .execute(let id, let statement):
            guard let session = state.sessions[id] else { return .failed(noSession(id)) }
            session.lastUsed = context.simulation.now
            while true {
                do {
                    return .result([try session.connection.execute(statement)])
                } catch where error.kind == .busy {
                    // Another transaction holds the lock this statement needs.
                    if session.connection.holdsSharedLock {
                        let kind: SQLError.Kind = state.writerWaits(for: session) ? .deadlock : .serialization
                        end(id, state: state, rollback: true)
                        let why = kind == .deadlock
                            ? "deadlock detected: \(session.owner) waits to write while a committer waits for its read lock"
                            : "could not serialize access due to concurrent update (\(session.owner))"
                        context.record(.sqlConflict, payload: stableHash(id), "\(id) \(kind.rawValue): \(why)")
                        return .failed(SQLError(kind: kind, message: why))
                    }
                    // A committer is about to write: wait for it.
                    if case .failed(let timeout) = await waitForLock(session, id: id, since: context.simulation.now, state: state, context: context) { return .failed(timeout) }
                } catch {
                    return .failed(error)
                }
            }
        case .commit(let id):
            guard let session = state.sessions[id] else { return .failed(noSession(id)) }
            session.lastUsed = context.simulation.now
            let start = context.simulation.now
            while true {
                do {
                    _ = try session.connection.execute(SQLStatement("COMMIT"))
                    end(id, state: state, rollback: false)
                    return .result([])
                } catch where error.kind == .busy {
                    // Readers still hold SHARED: a lock wait.
                    if case .failed(let timeout) = await waitForLock(session, id: id, since: start, state: state, context: context) { return .failed(timeout) }
                } catch {
                    end(id, state: state, rollback: true)
                    return .failed(error)
                }
            }
        case .rollback(let id):
            guard state.sessions[id] != nil else { return .result([]) }  // already ended: rolling back is idempotent
            end(id, state: state, rollback: true)
            return .result([])
        case .result, .failed:
            return .failed(SQLError(kind: .other, message: "not a request"))
        }
    }

    /// A batch: BEGIN IMMEDIATE ... COMMIT on a pooled connection, retried while another
    /// transaction holds the write lock (up to the lock timeout).
    static func batch(_ statements: [SQLStatement], state: State, context: ProcessContext) async -> SQLMessage {
        let start = context.simulation.now
        while true {
            let connection: SQLConnection
            do { connection = try state.connection() } catch { return .failed(error) }
            do {
                let rows = try connection.transaction(statements)
                state.idle.append(connection)
                return .result(rows)
            } catch where error.kind == .busy {
                state.idle.append(connection)
                guard context.simulation.now - start < lockTimeout else {
                    return .failed(SQLError(kind: .lockTimeout, message: "canceling statement due to lock timeout"))
                }
                await context.sleep(nanoseconds: 2 * Nanos.millisecond)
                guard context.isAlive else { return .failed(error) }
            } catch {
                state.idle.append(connection)
                return .failed(error)
            }
        }
    }

    /// Sleeps one lock-wait step; fails the session with 55P03 once the wait exceeds the timeout.
    static func waitForLock(_ session: Session, id: String, since: Int64, state: State, context: ProcessContext) async -> SQLMessage {
        // BUGGIFY: a longer lock-wait step, as a loaded server schedules its waiters late.
        if context.simulation.buggify(Ratio(1, 4)) { await context.sleep(nanoseconds: 50 * Nanos.millisecond) }
        if context.simulation.now - since >= lockTimeout {
            end(id, state: state, rollback: true)
            return .failed(SQLError(kind: .lockTimeout, message: "canceling statement due to lock timeout (\(session.owner))"))
        }
        if context.simulation.now == since { context.record(.sqlLockWait, payload: stableHash(id), "\(session.owner) (\(id)) waits for a lock") }
        await context.sleep(nanoseconds: 2 * Nanos.millisecond)
        session.lastUsed = context.simulation.now
        return .result([])
    }

    static func end(_ id: String, state: State, rollback: Bool) {
        guard let session = state.sessions.removeValue(forKey: id) else { return }
        if rollback { _ = try? session.connection.execute(SQLStatement("ROLLBACK")) }
        state.idle.append(session.connection)
    }

    static func noSession(_ id: String) -> SQLError {
        SQLError(kind: .other, message: "no open transaction \(id) (it ended: committed, rolled back, or idle too long)")
    }

    /// Rolls back sessions idle for longer than `idleTimeout` (their client crashed or gave up).
    static func expireIdleSessions(_ state: State, context: ProcessContext) async {
        while true {
            await context.sleep(nanoseconds: Nanos.second)
            let now = context.simulation.now
            for (id, session) in state.sessions.sorted(by: { $0.key < $1.key }) where now - session.lastUsed > idleTimeout {
                end(id, state: state, rollback: true)
                context.record(.sqlConflict, payload: stableHash(id), "\(id) of \(session.owner) rolled back: idle in transaction")
            }
        }
    }
}

extension SQLServer.State {
    /// Whether another session of this database is waiting to commit (holds PENDING) while `session`
    /// still reads: `session` waiting for it would close a cycle.
    func writerWaits(for session: SQLServer.Session) -> Bool { session.connection.anotherWriterIsWaiting }
}

extension TraceKind {
    public static let sqlLockWait = TraceKind("sql.lock_wait")
    public static let sqlConflict = TraceKind("sql.conflict")
}

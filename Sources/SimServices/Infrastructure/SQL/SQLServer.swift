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
    /// Shorter than any client's deadline (500 ms), so that a waiting request is answered (55P03)
    /// before its client gives up and retries it.
    public static let lockTimeout: Int64 = 300 * Nanos.millisecond
    public static let idleTimeout: Int64 = 5 * Nanos.second

    final class Session {
        let connection: SQLConnection
        let owner: String
        var lastUsed: Int64
        /// The last request taken (by sequence number), whether it is still running, and its reply.
        var lastSeq = 0
        var running = false
        var lastReply: SQLMessage?
        /// Whether its read lock is mirrored into the lock manager.
        var mirroredHold = false
        init(connection: SQLConnection, owner: String, at: Int64) {
            self.connection = connection
            self.owner = owner
            lastUsed = at
        }
    }

    /// The server's connections and sessions (one process's state).
    final class State {
        /// This database's locks as the kernel's lock manager sees them (`sql:<database>`): every
        /// session's read lock a shared hold, a commit waiting for readers an exclusive wait, each
        /// under the session's owner. A wait cycle through these and platform locks is then one
        /// cycle to the deadlock checker.
        let lockResource: String
        let lockManager: LockManager
        let node: String
        let file: String
        let durability: SQLDurability
        var idle: [SQLConnection] = []
        var all: [SQLConnection] = []
        var sessions: [String: Session] = [:]
        /// Numbers owned batches for the lock mirror.
        var nextBatch = 0
        /// Sessions that ended (committed or rolled back): their last request and reply, so a
        /// repeated commit is answered with what happened, not "no such transaction".
        var ended: [String: (seq: Int, reply: SQLMessage, at: Int64)] = [:]
        init(database: String, lockManager: LockManager, node: String, file: String, durability: SQLDurability) {
            lockResource = "sql:\(database)"
            self.lockManager = lockManager
            self.node = node
            self.file = file
            self.durability = durability
        }
        func connection() throws(SQLError) -> SQLConnection {
            if let reused = idle.popLast() { return reused }
            all.removeAll { $0.isClosed }
            let opened = try SQLConnection(node: node, file: file, durability: durability)
            all.append(opened)
            return opened
        }
    }

    public static func run(database: String, durability: SQLDurability = .safe, context: ProcessContext) async {
        let state = State(database: database, lockManager: context.simulation.locks, node: context.node.name, file: "\(database).db", durability: durability)
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
            simulation.locks.clearExternal(state.lockResource)  // its sessions died with it
            simulation.schedule(after: 0) { for connection in state.all { connection.close() } }
        }
        context.simulation.spawn { await expireIdleSessions(state, context: context) }
        let inbox = context.mailbox("sql")
        while true {
            let envelope = await inbox.receive()
            // A database is spoken to over a connection (TCP): a network copy of a request never
            // reaches the engine twice. (A duplicated `attempts = attempts + 1` made a run's
            // attempt number run ahead of the worker holding it.)
            guard !envelope.isDuplicate, let message = envelope.payload as? SQLMessage else { continue }
            context.simulation.spawn {
                let operationsBefore = context.disk.operationCount
                guard let reply = await handle(message, state: state, context: context) else { return }  // a repeat of a running request
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

    /// The reply to `message`, or nil when it repeats a request that is still running (the running
    /// one answers).
    static func handle(_ message: SQLMessage, state: State, context: ProcessContext) async -> SQLMessage? {
        switch message {
        case .transaction(let statements):
            return await batch(statements, owner: nil, state: state, context: context)
        case .ownedTransaction(let statements, let owner):
            return await batch(statements, owner: owner, state: state, context: context)
        case .begin(let id, let owner):
            if let open = state.sessions[id] {  // a repeated BEGIN of an open session
                return open.owner == owner && open.lastSeq == 0 ? .result([]) : .failed(SQLError(kind: .other, message: "session \(id) already open"))
            }
            guard state.ended[id] == nil else { return .failed(SQLError(kind: .other, message: "session \(id) already ended")) }
            let connection: SQLConnection
            do { connection = try state.connection() } catch { return .failed(error) }
            do {
                _ = try connection.execute(SQLStatement("BEGIN"))
            } catch {
                state.idle.append(connection)
                return .failed(error)
            }
            state.sessions[id] = Session(connection: connection, owner: owner, at: context.simulation.now)
            return .result([])
        case .execute(let id, let seq, let statement):
            guard let session = state.sessions[id] else { return repeated(id, seq: seq, state: state) }
            if let cached = takeRequest(session, seq: seq) { return cached }
            let reply = await execute(statement, session: session, id: id, state: state, context: context)
            return finish(session, reply: reply)
        case .commit(let id, let seq):
            guard let session = state.sessions[id] else { return repeated(id, seq: seq, state: state) }
            if let cached = takeRequest(session, seq: seq) { return cached }
            let reply = await commit(session, id: id, state: state, context: context)
            _ = finish(session, reply: reply)
            if state.sessions[id] === session { end(id, state: state, rollback: true, reply: reply, seq: seq, now: context.simulation.now) }
            state.ended[id] = (seq, reply, context.simulation.now)
            return reply
        case .rollback(let id):
            if state.sessions[id] != nil { end(id, state: state, rollback: true, reply: .result([]), seq: Int.max, now: context.simulation.now) }
            return .result([])  // rolling back an ended session is idempotent
        case .result, .failed:
            return .failed(SQLError(kind: .other, message: "not a request"))
        }
    }

    /// Takes request `seq` of `session`: nil to run it; a cached reply for a repeat of the last
    /// one; `.failed` for an older one. (A repeat of a running request is dropped by the caller.)
    static func takeRequest(_ session: Session, seq: Int) -> SQLMessage?? {
        if seq == session.lastSeq {
            return session.running ? .some(nil) : .some(session.lastReply)
        }
        if seq < session.lastSeq { return .some(.failed(SQLError(kind: .other, message: "request \(seq) is older than \(session.lastSeq)"))) }
        session.lastSeq = seq
        session.running = true
        return nil
    }

    static func finish(_ session: Session, reply: SQLMessage) -> SQLMessage {
        session.running = false
        session.lastReply = reply
        return reply
    }

    /// A request for a session that is gone: the answer it got if it was its last, else an error.
    static func repeated(_ id: String, seq: Int, state: State) -> SQLMessage {
        if let ended = state.ended[id], ended.seq == seq { return ended.reply }
        return .failed(noSession(id))
    }

    static func execute(_ statement: SQLStatement, session: Session, id: String, state: State, context: ProcessContext) async -> SQLMessage {
        session.lastUsed = context.simulation.now
        let start = context.simulation.now
        while true {
            // The session may have ended while this request waited (idle timeout, a rollback).
            guard state.sessions[id] === session else { return .failed(noSession(id)) }
            do {
                let rows = try session.connection.execute(statement)
                if !session.mirroredHold && session.connection.holdsReadLock {
                    session.mirroredHold = true
                    state.lockManager.noteExternalHold(state.lockResource, owner: session.owner, mode: .shared, key: id)
                }
                return .result([rows])
            } catch where error.kind == .busy {
                // Another transaction holds the lock this statement needs.
                if session.connection.holdsSharedLock {
                    let kind: SQLError.Kind = session.connection.anotherWriterIsWaiting ? .deadlock : .serialization
                    let why = kind == .deadlock
                        ? "deadlock detected: \(session.owner) waits to write while a committer waits for its read lock"
                        : "could not serialize access due to concurrent update (\(session.owner))"
                    let reply = SQLMessage.failed(SQLError(kind: kind, message: why))
                    end(id, state: state, rollback: true, reply: reply, seq: session.lastSeq, now: context.simulation.now)
                    context.record(.sqlConflict, payload: stableHash(id), "\(id) \(kind.rawValue): \(why)")
                    return reply
                }
                // A committer is about to write: wait for it.
                if case .failed(let timeout) = await waitForLock(session, id: id, since: start, state: state, context: context) { return .failed(timeout) }
            } catch {
                return .failed(error)
            }
        }
    }

    static func commit(_ session: Session, id: String, state: State, context: ProcessContext) async -> SQLMessage {
        session.lastUsed = context.simulation.now
        let start = context.simulation.now
        while true {
            guard state.sessions[id] === session else { return .failed(noSession(id)) }
            do {
                _ = try session.connection.execute(SQLStatement("COMMIT"))
                end(id, state: state, rollback: false, reply: .result([]), seq: session.lastSeq, now: context.simulation.now)
                return .result([])
            } catch where error.kind == .busy {
                // Readers still hold SHARED: a lock wait, mirrored (a cycle through it and
                // platform locks ends the run as a deadlock that names both; a manager that
                // aborts the requester instead makes this transaction the victim, 40P01).
                if state.lockManager.noteExternalWait(state.lockResource, owner: session.owner, mode: .exclusive, key: id) != nil,
                   state.lockManager.deadlockPolicy == .abortRequester {
                    let reply = SQLMessage.failed(SQLError(kind: .deadlock, message: "deadlock detected: \(session.owner) waits to commit in a cycle through platform locks"))
                    end(id, state: state, rollback: true, reply: reply, seq: session.lastSeq, now: context.simulation.now)
                    return reply
                }
                if case .failed(let timeout) = await waitForLock(session, id: id, since: start, state: state, context: context) { return .failed(timeout) }
            } catch {
                let reply = SQLMessage.failed(error)
                end(id, state: state, rollback: true, reply: reply, seq: session.lastSeq, now: context.simulation.now)
                return reply
            }
        }
    }

    /// A batch: BEGIN IMMEDIATE ... COMMIT on a pooled connection, retried while another
    /// transaction holds the write lock (up to the lock timeout).
    static func batch(_ statements: [SQLStatement], owner: String?, state: State, context: ProcessContext) async -> SQLMessage {
        let start = context.simulation.now
        // An owned batch's lock wait is mirrored into the lock manager while it lasts.
        state.nextBatch += 1
        let key = "batch#\(state.nextBatch)"
        defer { if owner != nil { state.lockManager.noteExternalWaitEnded(key: key) } }
        while true {
            let connection: SQLConnection
            do { connection = try state.connection() } catch { return .failed(error) }
            do {
                let rows = try connection.transaction(statements)
                state.idle.append(connection)
                return .result(rows)
            } catch where error.kind == .busy {
                state.idle.append(connection)
                if let owner { state.lockManager.noteExternalWait(state.lockResource, owner: owner, mode: .exclusive, key: key) }
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
        if context.simulation.now - since >= lockTimeout {
            let reply = SQLMessage.failed(SQLError(kind: .lockTimeout, message: "canceling statement due to lock timeout (\(session.owner))"))
            end(id, state: state, rollback: true, reply: reply, seq: session.lastSeq, now: context.simulation.now)
            return reply
        }
        if context.simulation.now == since { context.record(.sqlLockWait, payload: stableHash(id), "\(session.owner) (\(id)) waits for a lock") }
        // BUGGIFY: a longer lock-wait step, as a loaded server schedules its waiters late.
        if context.simulation.buggify(Ratio(1, 4)) { await context.sleep(nanoseconds: 50 * Nanos.millisecond) }
        await context.sleep(nanoseconds: 2 * Nanos.millisecond)
        session.lastUsed = context.simulation.now
        return .result([])
    }

    /// Ends a session: rolls it back if asked, keeps its last reply for repeats, and pools its
    /// connection only when it is cleanly outside any transaction (else closes it).
    static func end(_ id: String, state: State, rollback: Bool, reply: SQLMessage, seq: Int, now: Int64) {
        guard let session = state.sessions.removeValue(forKey: id) else { return }
        if rollback { _ = try? session.connection.execute(SQLStatement("ROLLBACK")) }
        state.lockManager.noteExternalWaitEnded(key: id)
        if session.mirroredHold { state.lockManager.noteExternalRelease(state.lockResource, key: id) }
        // A repeat of the session's last request gets that request's answer (or, if it was
        // still running, this ending's); kept for the idle timeout from now.
        let last = Swift.min(seq, session.lastSeq)
        state.ended[id] = (last, last == seq || session.running ? reply : (session.lastReply ?? reply), now)
        if session.connection.isAutocommit {
            state.idle.append(session.connection)
        } else {
            session.connection.close()
        }
    }

    static func noSession(_ id: String) -> SQLError {
        SQLError(kind: .other, message: "no open transaction \(id) (it ended: committed, rolled back, or idle too long)")
    }

    /// Rolls back sessions idle for longer than `idleTimeout` (their client crashed or gave up).
    static func expireIdleSessions(_ state: State, context: ProcessContext) async {
        while true {
            await context.sleep(nanoseconds: Nanos.second)
            let now = context.simulation.now
            for (id, ended) in state.ended.sorted(by: { $0.key < $1.key }) where now - ended.at > idleTimeout { state.ended[id] = nil }
            for (id, session) in state.sessions.sorted(by: { $0.key < $1.key }) where now - session.lastUsed > idleTimeout && !session.running {
                end(id, state: state, rollback: true, reply: .failed(noSession(id)), seq: session.lastSeq, now: now)
                context.record(.sqlConflict, payload: stableHash(id), "\(id) of \(session.owner) rolled back: idle in transaction")
            }
        }
    }
}

extension TraceKind {
    public static let sqlLockWait = TraceKind("sql.lock_wait")
    public static let sqlConflict = TraceKind("sql.conflict")
}

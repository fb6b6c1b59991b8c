import XCTest
@testable import SimKernel
@testable import SimServices

/// Concurrent transactions on one simulated database: SERIALIZABLE with locks. Each test forces an
/// interleaving with virtual-time sleeps between the statements of two interactive transactions.
final class SQLConcurrencyTests: XCTestCase {
    /// Runs `setup` (one batch), then the two clients concurrently; returns when both are done.
    private func run(setup: [String], _ first: @escaping (SQLClient, ProcessContext) async -> Void,
                     _ second: @escaping (SQLClient, ProcessContext) async -> Void) -> Simulation {
        var options = SimulationOptions()
        options.maxTime = 30 * Nanos.second
        let simulation = Simulation(seed: 3, options: options)
        let db = simulation.addNode("db"), a = simulation.addNode("a"), b = simulation.addNode("b")
        db.addProcess("sql") { await SQLServer.run(database: "bank", context: $0) }
        let client = SQLClient(address: Address(node: db.id, service: "sql"))
        a.addProcess("client") { context in
            _ = await client.transaction(setup.map { SQLStatement($0) }, context: context)
            await context.sleep(nanoseconds: 100 * Nanos.millisecond)
            await first(client, context)
        }
        b.addProcess("client") { context in
            await context.sleep(nanoseconds: 100 * Nanos.millisecond + 5 * Nanos.millisecond)
            await second(client, context)
        }
        simulation.run()
        return simulation
    }

    private func value(_ rows: Result<SQLRows, SQLClientError>) -> Int64? { (try? rows.get())?.rows.first?.first?.integer }
    private func kind(_ result: Result<Int, SQLClientError>) -> SQLError.Kind? {
        if case .failure(.sql(let error)) = result { return error.kind }
        return nil
    }

    /// Lost update (forbidden): two read-modify-write increments of one counter. The second writer
    /// meets the first one's uncommitted write and loses with a serialization failure (40001);
    /// retried, both increments count.
    func testLostUpdateIsForbiddenTheLoserGetsASerializationFailureAndItsRetryCounts() {
        var outcomes: [String: Result<Int, SQLClientError>] = [:]
        var final: Int64?
        func increment(_ name: String, pause: Int64, holdAfterWrite: Int64 = 0) -> (SQLClient, ProcessContext) async -> Void {
            { client, context in
                outcomes[name] = await client.interactive(owner: name, context: context, attempts: 1) { session -> Result<Int, SQLClientError> in
                    guard let current = self.value(await session.execute("SELECT n FROM counter")) else { return .failure(.timeout(attempts: 0)) }
                    await context.sleep(nanoseconds: pause)
                    if case .failure(let error) = await session.execute("UPDATE counter SET n = ?", [.integer(current + 1)]) { return .failure(error) }
                    await context.sleep(nanoseconds: holdAfterWrite)  // written, not yet committed
                    return .success(Int(current + 1))
                }
                if name == "b", case .failure = outcomes[name]! {  // the application retries the loser
                    _ = await client.interactive(owner: "b-retry", context: context) { session -> Result<Int, SQLClientError> in
                        guard let current = self.value(await session.execute("SELECT n FROM counter")) else { return .failure(.timeout(attempts: 0)) }
                        return (await session.execute("UPDATE counter SET n = ?", [.integer(current + 1)])).map { _ in Int(current + 1) }
                    }
                }
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
                final = self.value((await client.transaction([SQLStatement("SELECT n FROM counter")], context: context)).map { $0[0] })
            }
        }
        _ = run(setup: ["CREATE TABLE counter(n INTEGER)", "INSERT INTO counter VALUES (0)"],
                increment("a", pause: 20 * Nanos.millisecond, holdAfterWrite: 50 * Nanos.millisecond), increment("b", pause: 40 * Nanos.millisecond))
        XCTAssertEqual(try? outcomes["a"]?.get(), 1, "the first writer commits")
        XCTAssertEqual(kind(outcomes["b"] ?? .success(0)), .serialization, "the second writer loses: \(String(describing: outcomes["b"]))")
        XCTAssertEqual(final, 2, "no update is lost")
    }

    /// Read skew (forbidden): a transfer between two accounts commits only after a reader that
    /// read one side has finished; the reader's two reads see one state (sum 100).
    func testReadSkewIsForbiddenATransferWaitsForTheReader() {
        var sum: Int64?
        var transferredAt: Int64?, readerDoneAt: Int64?
        _ = run(setup: ["CREATE TABLE accounts(name TEXT PRIMARY KEY, balance INTEGER)", "INSERT INTO accounts VALUES ('x', 50), ('y', 50)"], { client, context in
            _ = await client.interactive(owner: "reader", context: context) { session -> Result<Int, SQLClientError> in
                let x = self.value(await session.execute("SELECT balance FROM accounts WHERE name = 'x'")) ?? -1
                await context.sleep(nanoseconds: 50 * Nanos.millisecond)  // the transfer runs meanwhile
                let y = self.value(await session.execute("SELECT balance FROM accounts WHERE name = 'y'")) ?? -1
                sum = x + y
                return .success(0)
            }
            readerDoneAt = context.simulation.now
        }, { client, context in
            let result = await client.interactive(owner: "transfer", context: context) { session -> Result<Int, SQLClientError> in
                _ = await session.execute("UPDATE accounts SET balance = balance - 10 WHERE name = 'x'")
                _ = await session.execute("UPDATE accounts SET balance = balance + 10 WHERE name = 'y'")
                return .success(0)
            }
            if case .success = result { transferredAt = context.simulation.now }
        })
        XCTAssertEqual(sum, 100, "the reader saw one state")
        XCTAssertNotNil(transferredAt, "the transfer committed")
        XCTAssertGreaterThan(transferredAt ?? 0, readerDoneAt ?? .max, "the transfer's commit waited for the reader")
    }

    /// Write skew (forbidden): two doctors each check that another is on call and go off call.
    /// Serializable: one of them loses (here 40P01: the first is already waiting to commit for the
    /// second's read lock) and, retried, sees it must stay.
    func testWriteSkewIsForbiddenOneDoctorStaysOnCall() {
        var onCall: Int64?
        var conflicts: [SQLError.Kind] = []
        func goOff(_ doctor: String) -> (SQLClient, ProcessContext) async -> Void {
            { client, context in
                func attempt(pause: Int64) async -> Result<Int, SQLClientError> {
                    await client.interactive(owner: doctor, context: context, attempts: 1) { session -> Result<Int, SQLClientError> in
                        let count = self.value(await session.execute("SELECT COUNT(*) FROM doctors WHERE on_call = 1")) ?? 0
                        await context.sleep(nanoseconds: pause)
                        guard count >= 2 else { return .success(0) }  // the last one stays
                        return (await session.execute("UPDATE doctors SET on_call = 0 WHERE name = ?", [.text(doctor)])).map { _ in 1 }
                    }
                }
                if case .failure(.sql(let error)) = await attempt(pause: 30 * Nanos.millisecond) {
                    conflicts.append(error.kind)
                    _ = await attempt(pause: 0)  // the application retries the loser
                }
                await context.sleep(nanoseconds: Nanos.second)
                onCall = self.value((await client.transaction([SQLStatement("SELECT COUNT(*) FROM doctors WHERE on_call = 1")], context: context)).map { $0[0] })
            }
        }
        _ = run(setup: ["CREATE TABLE doctors(name TEXT PRIMARY KEY, on_call INTEGER)", "INSERT INTO doctors VALUES ('alice', 1), ('bob', 1)"],
                goOff("alice"), goOff("bob"))
        XCTAssertEqual(onCall, 1, "exactly one doctor went off call")
        XCTAssertEqual(conflicts.count, 1, "exactly one of them lost a conflict: \(conflicts)")
        XCTAssertTrue(conflicts.allSatisfy { $0 == .serialization || $0 == .deadlock }, "\(conflicts)")
    }

    /// A wait cycle: A reads then commits a write, waiting for B's read lock; B, holding its read
    /// lock, now wants to write, which would wait for A. B is aborted with 40P01 and A commits.
    func testAWaitCycleAbortsOneTransactionWithDeadlockDetected() {
        var a: Result<Int, SQLClientError>?, b: Result<Int, SQLClientError>?
        _ = run(setup: ["CREATE TABLE t(k INTEGER PRIMARY KEY, v INTEGER)", "INSERT INTO t VALUES (1, 0), (2, 0)"], { client, context in
            a = await client.interactive(owner: "a", context: context, attempts: 1) { session -> Result<Int, SQLClientError> in
                _ = await session.execute("SELECT v FROM t WHERE k = 1")
                await context.sleep(nanoseconds: 20 * Nanos.millisecond)  // B reads meanwhile
                return (await session.execute("UPDATE t SET v = 1 WHERE k = 1")).map { _ in 1 }
            }  // then commits: waits for B's read lock
        }, { client, context in
            b = await client.interactive(owner: "b", context: context, attempts: 1) { session -> Result<Int, SQLClientError> in
                _ = await session.execute("SELECT v FROM t WHERE k = 2")
                await context.sleep(nanoseconds: 60 * Nanos.millisecond)  // A is now waiting to commit
                return (await session.execute("UPDATE t SET v = 2 WHERE k = 2")).map { _ in 2 }
            }
        })
        XCTAssertEqual(try? a?.get(), 1, "A commits once B is gone: \(String(describing: a))")
        XCTAssertEqual(kind(b ?? .success(0)), .deadlock, "B is the deadlock victim: \(String(describing: b))")
        if case .failure(.sql(let error)) = b { XCTAssertEqual(error.sqlState, "40P01") }
    }

    /// A commit waits for a reader; a reader that holds its lock past the lock timeout makes the
    /// committer give up with 55P03 (and the transaction is rolled back, nothing written).
    func testACommitWaitingLongerThanTheLockTimeoutFailsWith55P03() {
        var writer: Result<Int, SQLClientError>?
        var waited: Int64 = 0
        var count: Int64?
        _ = run(setup: ["CREATE TABLE t(v INTEGER)"], { client, context in
            _ = await client.interactive(owner: "slow-reader", context: context, attempts: 1, timeout: 5 * Nanos.second) { session -> Result<Int, SQLClientError> in
                _ = await session.execute("SELECT COUNT(*) FROM t")
                await context.sleep(nanoseconds: SQLServer.lockTimeout + 200 * Nanos.millisecond)  // holds its read lock
                return .success(0)
            }
            count = self.value((await client.transaction([SQLStatement("SELECT COUNT(*) FROM t")], context: context)).map { $0[0] })
        }, { client, context in
            let start = context.simulation.now
            writer = await client.interactive(owner: "writer", context: context, attempts: 1, timeout: 5 * Nanos.second) { session -> Result<Int, SQLClientError> in
                (await session.execute("INSERT INTO t VALUES (1)")).map { _ in 1 }
            }
            waited = context.simulation.now - start
        })
        XCTAssertEqual(kind(writer ?? .success(0)), .lockTimeout, "\(String(describing: writer))")
        if case .failure(.sql(let error)) = writer { XCTAssertEqual(error.sqlState, "55P03") }
        XCTAssertGreaterThanOrEqual(waited, SQLServer.lockTimeout, "the commit waited the lock timeout out")
        XCTAssertEqual(count, 0, "the timed-out transaction wrote nothing")
    }

    /// A repeated request (a network duplicate or a client's retry) is answered from the session's
    /// reply cache, not run twice; a repeated commit gets the commit's answer.
    func testARepeatedStatementOrCommitRunsOnce() {
        var replies: [String] = []
        var total: Int64?
        _ = run(setup: ["CREATE TABLE t(v INTEGER)"], { client, context in
            func say(_ result: Result<[SQLRows], SQLClientError>) -> String {
                switch result {
                case .success(let rows): return "ok \(rows.first?.changes ?? 0)"
                case .failure(let error): return "\(error)"
                }
            }
            _ = await client.call(.begin(session: "s", owner: "dup"), context: context, timeout: Nanos.second)
            replies.append(say(await client.call(.execute(session: "s", seq: 1, SQLStatement("INSERT INTO t VALUES (1)")), context: context, timeout: Nanos.second)))
            replies.append(say(await client.call(.execute(session: "s", seq: 1, SQLStatement("INSERT INTO t VALUES (1)")), context: context, timeout: Nanos.second)))
            replies.append(say(await client.call(.commit(session: "s", seq: 2), context: context, timeout: Nanos.second)))
            replies.append(say(await client.call(.commit(session: "s", seq: 2), context: context, timeout: Nanos.second)))
            total = self.value((await client.transaction([SQLStatement("SELECT COUNT(*) FROM t")], context: context)).map { $0[0] })
        }, { _, _ in })
        XCTAssertEqual(replies, ["ok 1", "ok 1", "ok 0", "ok 0"])
        XCTAssertEqual(total, 1, "the insert ran once")
    }

    /// A session whose client went away is rolled back after the idle timeout, releasing its locks.
    func testAnAbandonedTransactionIsRolledBackAndReleasesItsLocks() {
        var later: Result<[SQLRows], SQLClientError>?
        _ = run(setup: ["CREATE TABLE t(v INTEGER)"], { client, context in
            _ = await client.call(.begin(session: "ghost", owner: "ghost"), context: context, timeout: Nanos.second)
            _ = await client.call(.execute(session: "ghost", seq: 1, SQLStatement("INSERT INTO t VALUES (1)")), context: context, timeout: Nanos.second)
            // never commits
        }, { client, context in
            await context.sleep(nanoseconds: SQLServer.idleTimeout + 2 * Nanos.second)
            later = await client.transaction([SQLStatement("INSERT INTO t VALUES (2)"), SQLStatement("SELECT COUNT(*) FROM t")], context: context)
        })
        XCTAssertEqual((try? later?.get())?[1].rows.first?.first?.integer, 1, "the ghost's row is gone and the write went through")
    }
}

import XCTest
@testable import SimKernel
@testable import SimServices

final class RedisTests: XCTestCase {
    func redis(_ node: Node, cluster: Bool = false) -> RedisClient { RedisClient(server: Address(node: node.id, service: "redis"), clusterMode: cluster) }

    func testStringsHashesAndTTLInVirtualTime() {
        var log: [String] = []
        _ = runInfra(serverName: "redis", server: { await RedisServer.run(context: $0) }) { context, node in
            let client = self.redis(node)
            _ = await client.run(.set("a", "1", onlyIfAbsent: false, expireMs: 100), context: context)
            _ = await client.run(.hset("h", field: "f", value: "x"), context: context)
            log.append("\(await client.run(.get("a"), context: context))")
            log.append("\(await client.run(.get("h"), context: context))")
            log.append("\(await client.run(.hget("h", field: "f"), context: context))")
            await context.sleep(nanoseconds: 150 * Nanos.millisecond)
            log.append("\(await client.run(.get("a"), context: context))")
            log.append("\(await client.run(.get(""), context: context))")
        }
        XCTAssertEqual(log, [
            "success(SimServices.RedisReply.string(\"1\"))",
            "failure(WRONGTYPE Operation against a key holding the wrong kind of value: h)",
            "success(SimServices.RedisReply.string(\"x\"))",
            "success(SimServices.RedisReply.null)",
            "failure(ERR invalid key '')",
        ])
    }

    /// Redlock's known gap, closed by fencing: a lock holder pauses past its lock's TTL, another
    /// client takes the lock and writes with a newer token; the paused one's write is rejected.
    func testPausedLockHolderWriteIsRejectedByFencing() {
        let simulation = Simulation(seed: 1)
        let redisNode = simulation.addNode("redis"), a = simulation.addNode("client-a"), b = simulation.addNode("client-b")
        redisNode.addProcess("redis") { await RedisServer.run(context: $0) }
        let address = Address(node: redisNode.id, service: "redis")
        var log: [String] = []
        a.addProcess("worker") { context in
            let client = RedisClient(server: address)
            guard case .success(true) = await client.lock("job", token: "a", ttlMs: 100, context: context),
                  case .success(.integer(let token)) = await client.run(.incr("job:fence"), context: context) else { return }
            await context.sleep(nanoseconds: 300 * Nanos.millisecond)  // paused (GC) past the TTL
            let write = await client.run(.setFenced("result", "from a", token: UInt64(token)), context: context)
            log.append("a token \(token): \(write)")
            log.append("a unlock: \(await client.unlock("job", token: "a", context: context))")
        }
        b.addProcess("worker") { context in
            let client = RedisClient(server: address)
            await context.sleep(nanoseconds: 150 * Nanos.millisecond)
            guard case .success(true) = await client.lock("job", token: "b", ttlMs: 1000, context: context),
                  case .success(.integer(let token)) = await client.run(.incr("job:fence"), context: context) else { return log.append("b could not lock") }
            log.append("b token \(token): \(await client.run(.setFenced("result", "from b", token: UInt64(token)), context: context))")
        }
        simulation.schedule(at: 20 * Nanos.millisecond) { a.pause() }
        simulation.schedule(at: 280 * Nanos.millisecond) { a.resume() }
        simulation.run()
        XCTAssertEqual(log, [
            "b token 2: success(SimServices.RedisReply.ok)",
            "a token 1: failure(ERR fencing token 1 for result is older than 2)",
            "a unlock: success(false)",
        ])
    }

    func testAppendOnlyFileReplaysAfterACrashByItsFsyncPolicy() {
        func survivors(_ policy: AppendFsync) -> String {
            var value = ""
            _ = runInfra(serverName: "redis", server: { await RedisServer.run(fsync: policy, context: $0) }) { context, node in
                let client = self.redis(node)
                _ = await client.run(.set("k", "v", onlyIfAbsent: false, expireMs: nil), context: context)
                _ = await client.run(.incr("n"), context: context)
                node.crash()
                node.restart()
                value = "\(await client.run(.get("k"), context: context)) \(await client.run(.get("n"), context: context))"
            }
            return value
        }
        XCTAssertEqual(survivors(.always), "success(SimServices.RedisReply.string(\"v\")) success(SimServices.RedisReply.string(\"1\"))")
        XCTAssertEqual(survivors(.no), "success(SimServices.RedisReply.null) success(SimServices.RedisReply.null)")
    }

    /// Every write the server logs comes back from its append-only record unchanged, separators
    /// and escape bytes in keys and values included; reads are never logged.
    func testAppendOnlyRecordsRoundTripEveryLoggedWrite() {
        let aof = RedisAppendOnlyFile()
        let odd = "a\u{1F}b\u{1B}c é"
        let writes: [RedisCommand] = [
            .set(odd, odd, onlyIfAbsent: false, expireMs: nil), .del(odd), .incr("n"),
            .hset("h", field: odd, value: ""), .setFenced("lock", odd, token: UInt64.max),
        ]
        for command in writes {
            guard let record = aof.encode(command) else { return XCTFail("\(command) has no record") }
            XCTAssertEqual(aof.decode(record), command)
        }
        XCTAssertNil(aof.encode(.get("k")))
        XCTAssertNil(aof.encode(.set("k", "v", onlyIfAbsent: true, expireMs: 5)), "only the normalized SET (absolute expiry logged apart) is written")
        XCTAssertNil(aof.decode(Array("SET\u{1F}only-key".utf8)), "a record with the wrong field count is refused")
    }

    func testPublishSubscribe() {
        var received: [String] = []
        _ = runInfra(serverName: "redis", server: { await RedisServer.run(context: $0) }) { context, node in
            let client = self.redis(node)
            let inbox = context.mailbox("events")
            _ = await client.run(.subscribe(channel: "models", subscriber: context.address("events")), context: context)
            _ = await client.run(.publish(channel: "models", message: "deployed v2"), context: context)
            if case .reply(.message(let channel, let message))? = (await inbox.receive(timeout: Nanos.second))?.payload as? RedisMessage { received.append("\(channel): \(message)") }
        }
        XCTAssertEqual(received, ["models: deployed v2"])
    }

    func testClusterModeClientAgainstAStandaloneServerFailsClearly() {
        var result: String?
        _ = runInfra(serverName: "redis", server: { await RedisServer.run(context: $0) }) { context, node in
            if case .failure(let error) = await self.redis(node, cluster: true).run(.get("k"), context: context) { result = "\(error)" }
        }
        XCTAssertEqual(result, "ERR This instance has cluster support disabled")
    }
}

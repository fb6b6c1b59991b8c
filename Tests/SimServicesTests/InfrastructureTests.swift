import XCTest
@testable import SimKernel
@testable import SimServices

/// A simulation with one server node running `server` and a client node running `client`.
func runInfra(seed: UInt64 = 1, serverName: String, disk: DiskOptions = DiskOptions(),
              server: @escaping (ProcessContext) async -> Void,
              client: @escaping (ProcessContext, Node) async -> Void, setup: (Simulation, Node) -> Void = { _, _ in }) -> Simulation {
    let simulation = Simulation(seed: seed)
    let serverNode = simulation.addNode(serverName, disk: disk), clientNode = simulation.addNode("app")
    serverNode.addProcess(serverName) { await server($0) }
    clientNode.addProcess("client") { await client($0, serverNode) }
    setup(simulation, serverNode)
    simulation.run()
    return simulation
}

final class KafkaTests: XCTestCase {
    func kafka(_ node: Node) -> KafkaClient { KafkaClient(broker: Address(node: node.id, service: "kafka")) }

    func testProduceAndConsumeInOrderPerPartition() {
        var values: [String] = []
        _ = runInfra(serverName: "kafka", server: { await KafkaBroker.run(context: $0) }) { context, node in
            let client = self.kafka(node)
            _ = await client.createTopic("events", partitions: 1, context: context)
            for i in 0 ..< 5 { _ = await client.produce("events", key: "k", value: Array("v\(i)".utf8), context: context) }
            let records = (try? await client.fetch(TopicPartition("events", 0), from: 2, context: context).get()) ?? []
            values = records.map { "\($0.offset):" + String(decoding: $0.value, as: UTF8.self) }
        }
        XCTAssertEqual(values, ["2:v2", "3:v3", "4:v4"])
    }

    func testUnknownTopicIsAnErrorWhileAutoCreationIsOffAndWorksWhenOn() {
        var results: [String] = []
        _ = runInfra(serverName: "kafka", server: { await KafkaBroker.run(context: $0) }) { context, node in
            let outcome = await self.kafka(node).produce("missing", key: "k", value: [1], context: context)
            if case .failure(let error) = outcome { results.append("\(error)") }
        }
        var configuration = KafkaConfiguration()
        configuration.autoCreateTopics = true
        _ = runInfra(serverName: "kafka", server: { await KafkaBroker.run(configuration: configuration, context: $0) }) { context, node in
            let outcome = await self.kafka(node).produce("missing", key: "k", value: [1], context: context)
            if case .success(let produced) = outcome { results.append("offset \(produced.offset)") }
        }
        XCTAssertEqual(results, ["UNKNOWN_TOPIC_OR_PARTITION: topic 'missing' does not exist (auto-creation is off)", "offset 0"])
    }

    func testBadInputGetsTypedErrors() {
        var errors: [String] = []
        var configuration = KafkaConfiguration()
        configuration.maxRecordBytes = 100
        _ = runInfra(serverName: "kafka", server: { await KafkaBroker.run(configuration: configuration, context: $0) }) { context, node in
            let client = self.kafka(node)
            if case .failure(let e) = await client.createTopic("bad name!", partitions: 1, context: context) { errors.append("\(e)") }
            _ = await client.createTopic("t", partitions: 1, context: context)
            if case .failure(let e) = await client.produce("t", key: "k", value: [UInt8](repeating: 0, count: 101), context: context) { errors.append("\(e)") }
            if case .failure(let e) = await client.fetch(TopicPartition("t", 5), from: 0, context: context) { errors.append("\(e)") }
        }
        XCTAssertEqual(errors, ["INVALID_TOPIC_EXCEPTION: 'bad name!'", "RECORD_TOO_LARGE: 101 bytes > 100", "UNKNOWN_TOPIC_OR_PARTITION: t has no partition 5"])
    }

    /// A consumer that stops polling past max.poll.interval is removed; the group rebalances, and
    /// the zombie's commit with its old generation is rejected.
    func testZombieCommitIsRejectedAfterRebalance() {
        var log: [String] = []
        _ = runInfra(serverName: "kafka", server: { await KafkaBroker.run(context: $0) }) { context, node in
            let client = self.kafka(node)
            _ = await client.createTopic("jobs", partitions: 2, context: context)
            guard case .success(let zombie) = await client.join(group: "g", member: "a", topics: ["jobs"], context: context),
                  case .success(let other) = await client.join(group: "g", member: "b", topics: ["jobs"], context: context) else { return }
            log.append("a gen \(zombie.generation), b gen \(other.generation) assigned \(other.assignment)")
            // b keeps heartbeating; a goes silent for longer than max.poll.interval (5 s).
            for _ in 0 ..< 8 {
                await context.sleep(for: .seconds(1))
                _ = await client.heartbeat(group: "g", member: "b", generation: other.generation, context: context)
            }
            let commit = await client.commit(group: "g", member: "a", generation: zombie.generation, offsets: [TopicPartition("jobs", 0): 5], context: context)
            if case .failure(let error) = commit { log.append("\(error)") }
            if case .failure(let error) = await client.heartbeat(group: "g", member: "b", generation: other.generation, context: context) { log.append("b: \(error)") }
            if case .success(let rejoined) = await client.join(group: "g", member: "b", topics: ["jobs"], context: context) {
                log.append("b rejoined gen \(rejoined.generation) assigned \(rejoined.assignment)")
                _ = await client.commit(group: "g", member: "b", generation: rejoined.generation, offsets: [TopicPartition("jobs", 0): 7], context: context)
                log.append("committed \((try? await client.committed(group: "g", partition: TopicPartition("jobs", 0), context: context).get()) ?? nil)")
            }
        }
        XCTAssertEqual(log, [
            "a gen 1, b gen 2 assigned [jobs-1]",
            "COMMIT_FAILED: a committed with generation 1, the group is at 3 (it was removed from the group)",
            "b: ILLEGAL_GENERATION: b at 2, group at 3",
            "b rejoined gen 4 assigned [jobs-0, jobs-1]",
            "committed Optional(7)",
        ])
    }

    func testAcksAllSurvivesACrashAndCommittedOffsetsToo() {
        var after: [Int] = []
        var committed: Int??
        _ = runInfra(serverName: "kafka", server: { await KafkaBroker.run(context: $0) }) { context, node in
            let client = self.kafka(node)
            _ = await client.createTopic("t", partitions: 1, context: context)
            for i in 0 ..< 3 { _ = await client.produce("t", key: "k", value: [UInt8(i)], acks: -1, context: context) }
            _ = await client.produce("t", key: "k", value: [9], acks: 1, context: context)  // leader ack only: not fsynced
            if case .success(let joined) = await client.join(group: "g", member: "m", topics: ["t"], context: context) {
                _ = await client.commit(group: "g", member: "m", generation: joined.generation, offsets: [TopicPartition("t", 0): 3], context: context)
            }
            node.crash()
            node.restart()
            after = ((try? await client.fetch(TopicPartition("t", 0), from: 0, context: context).get()) ?? []).map { Int($0.value[0]) }
            committed = try? await client.committed(group: "g", partition: TopicPartition("t", 0), context: context).get()
        }
        XCTAssertEqual(after, [0, 1, 2], "acks=all records survive; the acks=1 record was never fsynced")
        XCTAssertEqual(committed, 3)
    }

    func testRetentionMovesTheLogStart() {
        var offsets: [Int] = []
        var configuration = KafkaConfiguration()
        configuration.retentionRecords = 3
        _ = runInfra(serverName: "kafka", server: { await KafkaBroker.run(configuration: configuration, context: $0) }) { context, node in
            let client = self.kafka(node)
            _ = await client.createTopic("t", partitions: 1, context: context)
            for i in 0 ..< 6 { _ = await client.produce("t", key: "k", value: [UInt8(i)], context: context) }
            offsets = ((try? await client.fetch(TopicPartition("t", 0), from: 0, context: context).get()) ?? []).map(\.offset)
        }
        XCTAssertEqual(offsets, [3, 4, 5])
    }

    func testAPartitionedBrokerGivesTimeoutsNotHangs() {
        var result: String?
        _ = runInfra(serverName: "kafka", server: { await KafkaBroker.run(context: $0) }, client: { context, node in
            let outcome = await self.kafka(node).fetch(TopicPartition("t", 0), from: 0, context: context)
            if case .failure(let error) = outcome { result = "\(error)" }
        }, setup: { simulation, node in simulation.network.partition([node.id], [NodeID(1)]) })
        XCTAssertEqual(result, "kafka: no answer after 3 attempt(s)")
    }
}

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

final class ConsulTests: XCTestCase {
    func testSessionIsInvalidatedWhenItsCheckGoesCriticalAndLockDelayBlocksReacquire() {
        var log: [String] = []
        _ = runInfra(serverName: "consul", server: { await ConsulServer.run(context: $0) }) { context, node in
            let consul = ConsulClient(server: Address(node: node.id, service: "consul"))
            let me = ServiceInstance(id: "scheduler-1", service: "scheduler", address: context.address("scheduler"), check: .ttl(500 * Nanos.millisecond))
            _ = await consul.request(.register(me), context: context)
            guard case .success(.session(let session)) = await consul.request(.sessionCreate(checks: ["scheduler-1"], ttl: nil, lockDelay: 2 * Nanos.second), context: context) else { return }
            log.append("acquire \(await consul.request(.kvAcquire("leader", "scheduler-1", session: session), context: context))")
            await context.sleep(for: .seconds(1))  // no TTL pass: the check goes critical
            log.append("healthy \(((try? await consul.healthy("scheduler", context: context).get()) ?? []).map(\.id))")
            log.append("leader \(await consul.request(.kvGet("leader"), context: context))")
            _ = await consul.request(.pass(id: "scheduler-1"), context: context)
            guard case .success(.session(let second)) = await consul.request(.sessionCreate(checks: ["scheduler-1"], ttl: nil, lockDelay: 0), context: context) else { return }
            log.append("reacquire during lock-delay \(await consul.request(.kvAcquire("leader", "x", session: second), context: context))")
            for _ in 0 ..< 5 {  // keep the check passing while the lock-delay runs out
                await context.sleep(nanoseconds: 400 * Nanos.millisecond)
                _ = await consul.request(.pass(id: "scheduler-1"), context: context)
            }
            log.append("reacquire after \(await consul.request(.kvAcquire("leader", "x", session: second), context: context))")
        }
        XCTAssertEqual(log, [
            "acquire success(SimServices.ConsulReply.bool(true))",
            "healthy []",
            "leader success(SimServices.ConsulReply.value(Optional(\"scheduler-1\"), modifyIndex: 2, session: nil))",
            "reacquire during lock-delay success(SimServices.ConsulReply.bool(false))",
            "reacquire after success(SimServices.ConsulReply.bool(true))",
        ])
    }

    func testProbeCheckRemovesACrashedInstanceFromDiscovery() {
        let simulation = Simulation(seed: 2)
        let consulNode = simulation.addNode("consul"), api = simulation.addNode("api-1"), client = simulation.addNode("gateway")
        consulNode.addProcess("consul") { await ConsulServer.run(context: $0) }
        let consul = ConsulClient(server: Address(node: consulNode.id, service: "consul"))
        api.addProcess("api") { context in
            let control = context.mailbox("control")
            _ = await consul.request(.register(ServiceInstance(id: "api-1", service: "api", address: context.address("http"),
                                                                check: .probe(interval: 200 * Nanos.millisecond, timeout: 50 * Nanos.millisecond))), context: context)
            while true { let ping = await control.receive(); context.reply(to: ping, ProbePing()) }
        }
        var seen: [[String]] = []
        client.addProcess("watch") { context in
            for _ in 0 ..< 3 {
                await context.sleep(for: .seconds(1))
                seen.append(((try? await consul.healthy("api", context: context).get()) ?? []).map(\.id))
            }
        }
        simulation.schedule(at: 1500 * Nanos.millisecond) { api.crash() }
        simulation.schedule(at: 3200 * Nanos.millisecond) { simulation.finish() }
        simulation.run()
        XCTAssertEqual(seen, [["api-1"], [], []])
    }

    func testCatalogKVAndSessionsSurviveAConsulRestart() {
        var log: [String] = []
        _ = runInfra(serverName: "consul", server: { await ConsulServer.run(context: $0) }) { context, node in
            let consul = ConsulClient(server: Address(node: node.id, service: "consul"))
            _ = await consul.request(.register(ServiceInstance(id: "models-1", service: "models", address: context.address("http"), check: nil)), context: context)
            _ = await consul.request(.kvPut("feature-flags", "on", cas: nil), context: context)
            node.crash()
            node.restart()
            log.append("\(((try? await consul.healthy("models", context: context).get()) ?? []).map(\.id))")
            log.append("\(await consul.request(.kvGet("feature-flags"), context: context))")
        }
        XCTAssertEqual(log, ["[\"models-1\"]", "success(SimServices.ConsulReply.value(Optional(\"on\"), modifyIndex: 1, session: nil))"])
    }

    func testKVCheckAndSet() {
        var results: [String] = []
        _ = runInfra(serverName: "consul", server: { await ConsulServer.run(context: $0) }) { context, node in
            let consul = ConsulClient(server: Address(node: node.id, service: "consul"))
            for (value, cas) in [("a", UInt64(0)), ("b", UInt64(0)), ("c", UInt64(1)), ("d", UInt64(1))] {
                results.append("\(value): \(await consul.request(.kvPut("config", value, cas: cas), context: context))")
            }
        }
        XCTAssertEqual(results.map { $0.hasSuffix("bool(true))") }, [true, false, true, false])
    }
}

final class ObjectStoreTests: XCTestCase {
    func s3(_ node: Node) -> ObjectStoreClient { ObjectStoreClient(server: Address(node: node.id, service: "s3")) }

    func testBucketsPutGetAndConditionalWrites() {
        var log: [String] = []
        _ = runInfra(serverName: "minio", server: { await ObjectStoreServer.run(context: $0) }) { context, node in
            let s3 = self.s3(node)
            log.append("\(await s3.request(.createBucket("models"), context: context))")
            log.append("\(await s3.request(.createBucket("models"), context: context))")
            log.append("\(await s3.request(.createBucket("Bad_Name"), context: context))")
            _ = await s3.request(.put(bucket: "models", key: "m/1", bytes: [1, 2, 3], ifNoneMatch: true), context: context)
            log.append("\(await s3.request(.put(bucket: "models", key: "m/1", bytes: [9], ifNoneMatch: true), context: context))")
            if case .success(.object(let bytes, _)) = await s3.request(.get(bucket: "models", key: "m/1"), context: context) { log.append("\(bytes)") }
            log.append("\(await s3.request(.get(bucket: "nope", key: "x"), context: context))")
        }
        XCTAssertEqual(log, [
            "success(SimServices.ObjectStoreReply.ok)", "success(SimServices.ObjectStoreReply.ok)",
            "failure(InvalidBucketName: 'Bad_Name')", "failure(PreconditionFailed: m/1 exists (If-None-Match))",
            "[1, 2, 3]", "failure(NoSuchBucket: nope)",
        ])
    }

    func testMultipartUploadIsInvisibleUntilCompleteAndAbortDiscards() {
        var log: [String] = []
        _ = runInfra(serverName: "minio", server: { await ObjectStoreServer.run(context: $0) }) { context, node in
            let s3 = self.s3(node)
            _ = await s3.request(.createBucket("artifacts"), context: context)
            guard case .success(.upload(let id)) = await s3.request(.initiateMultipart(bucket: "artifacts", key: "big"), context: context) else { return }
            _ = await s3.request(.uploadPart(uploadID: id, part: 2, bytes: [3, 4]), context: context)
            _ = await s3.request(.uploadPart(uploadID: id, part: 1, bytes: [1, 2]), context: context)
            log.append("before: \(await s3.request(.list(bucket: "artifacts", prefix: ""), context: context))")
            _ = await s3.request(.completeMultipart(uploadID: id, parts: [1, 2]), context: context)
            if case .success(.object(let bytes, _)) = await s3.request(.get(bucket: "artifacts", key: "big"), context: context) { log.append("after: \(bytes)") }
            guard case .success(.upload(let other)) = await s3.request(.initiateMultipart(bucket: "artifacts", key: "tmp"), context: context) else { return }
            _ = await s3.request(.uploadPart(uploadID: other, part: 1, bytes: [7]), context: context)
            _ = await s3.request(.abortMultipart(uploadID: other), context: context)
            log.append("aborted: \(await s3.request(.completeMultipart(uploadID: other, parts: [1]), context: context))")
        }
        XCTAssertEqual(log, ["before: success(SimServices.ObjectStoreReply.keys([]))", "after: [1, 2, 3, 4]", "aborted: failure(NoSuchUpload: upload-0-2)"])
    }

    func testMultipartPartsSurviveARestartOfTheStore() {
        var log: [String] = []
        _ = runInfra(serverName: "minio", server: { await ObjectStoreServer.run(context: $0) }) { context, node in
            let s3 = self.s3(node)
            _ = await s3.request(.createBucket("artifacts"), context: context)
            guard case .success(.upload(let id)) = await s3.request(.initiateMultipart(bucket: "artifacts", key: "ckpt"), context: context) else { return }
            _ = await s3.request(.uploadPart(uploadID: id, part: 1, bytes: [5, 6]), context: context)
            node.crash()
            node.restart()
            _ = await s3.request(.uploadPart(uploadID: id, part: 2, bytes: [7]), context: context)
            _ = await s3.request(.completeMultipart(uploadID: id, parts: [1, 2]), context: context)
            if case .success(.object(let bytes, _)) = await s3.request(.get(bucket: "artifacts", key: "ckpt"), context: context) { log.append("\(bytes)") }
            log.append("\(node.disk.list(prefix: "uploads/"))")
        }
        XCTAssertEqual(log, ["[5, 6, 7]", "[]"])
    }

    /// A PUT interrupted by a crash at any disk operation leaves the old object or the new one,
    /// never a partial one (100 crash points, torn writes on).
    func testPutIsAtomicUnderCrashes() {
        for k in 1 ... 100 {
            var disk = DiskOptions()
            disk.tornWriteProbability = Ratio(1, 2)
            var read: [UInt8]?
            _ = runInfra(seed: UInt64(k), serverName: "minio", disk: disk, server: { await ObjectStoreServer.run(context: $0) }, client: { context, node in
                let s3 = self.s3(node)
                _ = await s3.request(.createBucket("bkt"), context: context)
                _ = await s3.request(.put(bucket: "bkt", key: "obj", bytes: [UInt8](repeating: 1, count: 2000), ifNoneMatch: false), context: context)
                let base = node.disk.operationCount
                node.disk.afterOperation = { count in if count == base + (k % 7) + 1 { node.crash() } }
                _ = await s3.request(.put(bucket: "bkt", key: "obj", bytes: [UInt8](repeating: 2, count: 3000), ifNoneMatch: false), context: context)
                node.disk.afterOperation = nil
                if node.state == .crashed { node.restart() }
                if case .success(.object(let bytes, _)) = await s3.request(.get(bucket: "bkt", key: "obj"), context: context) { read = bytes }
            })
            XCTAssertTrue(read == [UInt8](repeating: 1, count: 2000) || read == [UInt8](repeating: 2, count: 3000), "crash point \(k): \(read?.count ?? -1) bytes")
        }
    }

    func testCorruptionIsDetectedOnRead() {
        var result: String?
        _ = runInfra(serverName: "minio", server: { await ObjectStoreServer.run(context: $0) }) { context, node in
            let s3 = self.s3(node)
            _ = await s3.request(.createBucket("bkt"), context: context)
            _ = await s3.request(.put(bucket: "bkt", key: "k", bytes: [1, 2, 3, 4], ifNoneMatch: false), context: context)
            var bytes = try! node.disk.readAll("buckets/bkt/o/k")
            bytes[5] ^= 0x40
            try! node.disk.writeAll("buckets/bkt/o/k", bytes)
            if case .failure(let error) = await s3.request(.get(bucket: "bkt", key: "k"), context: context) { result = "\(error)" }
        }
        XCTAssertEqual(result, "checksum mismatch reading k")
    }
}

final class SearchTests: XCTestCase {
    func search(_ node: Node) -> SearchClient { SearchClient(server: Address(node: node.id, service: "search")) }

    func testMappingsQueriesAndOptimisticConcurrency() {
        var log: [String] = []
        _ = runInfra(serverName: "es", server: { await SearchServer.run(context: $0) }) { context, node in
            let es = self.search(node)
            log.append("\(await es.request(.index("models", id: "1", document: ["name": "x"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context))")
            _ = await es.request(.createIndex("models", mappings: ["name": .keyword, "description": .text, "version": .integer]), context: context)
            log.append("\(await es.request(.index("models", id: "1", document: ["version": "two"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context))")
            _ = await es.request(.index("models", id: "1", document: ["name": "resnet", "description": "Image classifier, residual", "version": "1"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            _ = await es.request(.index("models", id: "2", document: ["name": "bert", "description": "text classifier", "version": "3"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            log.append("\(await es.request(.search("models", .match(field: "description", text: "residual CLASSIFIER")), context: context))")
            log.append("\(await es.request(.search("models", .term(field: "name", value: "bert")), context: context))")
            // Two writers read seq_no 0 of document 1; the second conditional write loses.
            log.append("\(await es.request(.index("models", id: "1", document: ["name": "resnet-50"], ifSeqNo: 0, ifPrimaryTerm: 1), context: context))")
            log.append("\(await es.request(.index("models", id: "1", document: ["name": "resnet-101"], ifSeqNo: 0, ifPrimaryTerm: 1), context: context))")
        }
        XCTAssertEqual(log, [
            "failure(index_not_found_exception: no such index [models])",
            "failure(mapper_parsing_exception: failed to parse field [version] of type [integer]: 'two')",
            "success(SimServices.SearchReply.hits([\"1\", \"2\"]))",
            "success(SimServices.SearchReply.hits([\"2\"]))",
            "success(SimServices.SearchReply.indexed(seqNo: 2, primaryTerm: 1, version: 2))",
            "failure(version_conflict_engine_exception: [1]: required seqNo [0], current [2])",
        ])
    }

    func testTranslogReplaysAfterACrashAndThePrimaryTermGrows() {
        var log: [String] = []
        _ = runInfra(serverName: "es", server: { await SearchServer.run(context: $0) }) { context, node in
            let es = self.search(node)
            _ = await es.request(.createIndex("runs", mappings: ["tag": .keyword]), context: context)
            _ = await es.request(.index("runs", id: "r1", document: ["tag": "nightly"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            node.crash()
            node.restart()
            log.append("\(await es.request(.search("runs", .term(field: "tag", value: "nightly")), context: context))")
            log.append("\(await es.request(.index("runs", id: "r2", document: ["tag": "x"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context))")
        }
        XCTAssertEqual(log, ["success(SimServices.SearchReply.hits([\"r1\"]))", "success(SimServices.SearchReply.indexed(seqNo: 1, primaryTerm: 2, version: 1))"])
    }
}

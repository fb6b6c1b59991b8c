import XCTest
@testable import SimKernel
@testable import SimServices

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

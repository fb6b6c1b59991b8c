import SimKernel

/// Broker settings.
public struct KafkaConfiguration: Hashable, Sendable, Codable {
    /// `auto.create.topics.enable`: off by default, as the brief's L4 says.
    public var autoCreateTopics = false
    public var defaultPartitions = 3
    /// Records kept per partition (older ones are deleted: the log start moves).
    public var retentionRecords = 10_000
    public var maxRecordBytes = 1 << 20
    /// A member that neither polls nor heartbeats for this long leaves its group (ns).
    public var maxPollInterval: Int64 = 5 * Nanos.second
    public init() {}
}

/// A single Kafka broker: topics of partitions as append-only logs on its disk, producers with
/// acks (acks=all fsyncs before answering; acks=1 does not, so a crash can lose it), consumer
/// groups with generations (a member past its poll interval is removed, the group rebalances,
/// and its commits are rejected: fencing), committed offsets on disk, retention by record count.
public final class KafkaBroker {
    let configuration: KafkaConfiguration
    let context: ProcessContext
    var partitions: [TopicPartition: [KafkaRecord]] = [:]
    var logStart: [TopicPartition: Int] = [:]
    var topics: [String: Int] = [:]
    var groups: [String: Group] = [:]
    var committedOffsets: [String: [TopicPartition: Int]] = [:]

    final class Group {
        var generation = 0
        var members: [String: (topics: [String], lastSeen: Int64)] = [:]
        var assignment: [String: [TopicPartition]] = [:]
    }

    init(configuration: KafkaConfiguration, context: ProcessContext) {
        self.configuration = configuration
        self.context = context
    }

    public static func run(configuration: KafkaConfiguration = KafkaConfiguration(), context: ProcessContext) async {
        let broker = KafkaBroker(configuration: configuration, context: context)
        broker.recover()
        let inbox = context.mailbox("kafka")
        context.simulation.spawn {
            while true {  // expire members past their poll interval
                await context.sleep(nanoseconds: 100 * Nanos.millisecond)
                broker.expireMembers()
            }
        }
        while true {
            let envelope = await inbox.receive()
            guard let message = envelope.payload as? KafkaMessage else { continue }
            let (reply, sync) = broker.handle(message)
            if sync {  // the fsync already happened; its latency is paid before the answer
                let latency = context.disk.options.syncLatency
                await context.sleep(nanoseconds: context.withRandom { latency.sample(&$0) })
            }
            context.reply(to: envelope, reply)
        }
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 249 && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 46 || $0 == 95 || $0 == 45 }
    }

    func logPath(_ partition: TopicPartition) -> String { "kafka/\(partition.topic)-\(partition.partition).log" }

    /// Rebuilds topics, partitions and committed offsets from the disk.
    func recover() {
        let disk = context.disk
        for record in RecordLog.decodeAll((try? disk.readAll("kafka/topics")) ?? []) {
            let fields = Fields.split(record)
            guard fields.count == 2, let count = Int(String(decoding: fields[1], as: UTF8.self)) else { continue }
            topics[String(decoding: fields[0], as: UTF8.self)] = count
        }
        for (topic, count) in topics.sorted(by: { $0.key < $1.key }) {
            for index in 0 ..< count {
                let partition = TopicPartition(topic, index)
                var records: [KafkaRecord] = []
                for payload in RecordLog.decodeAll((try? disk.readAll(logPath(partition))) ?? []) {
                    let fields = Fields.split(payload)
                    guard fields.count == 3, let offset = Int(String(decoding: fields[0], as: UTF8.self)) else { break }
                    records.append(KafkaRecord(offset: offset, key: String(decoding: fields[1], as: UTF8.self), value: fields[2]))
                }
                partitions[partition] = records
                logStart[partition] = records.first?.offset ?? 0
                truncateTail(partition)
            }
        }
        for payload in RecordLog.decodeAll((try? disk.readAll("kafka/offsets")) ?? []) {
            let fields = Fields.split(payload).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count == 4, let p = Int(fields[2]), let offset = Int(fields[3]) else { continue }
            committedOffsets[fields[0], default: [:]][TopicPartition(fields[1], p)] = offset
        }
    }

    /// Drops a torn tail: the log file is rewritten to the records that verified.
    func truncateTail(_ partition: TopicPartition) {
        let valid = (partitions[partition] ?? []).map { RecordLog.encode(Fields.join([Array("\($0.offset)".utf8), Array($0.key.utf8), $0.value])) }.flatMap { $0 }
        if ((try? context.disk.size(logPath(partition))) ?? 0) != valid.count {
            try? context.disk.writeAll(logPath(partition), valid)
            try? context.disk.fsync(logPath(partition))
        }
    }

    func createTopic(_ name: String, partitions count: Int) -> KafkaError? {
        guard KafkaBroker.validName(name), count >= 1, count <= 1000 else { return .invalidTopicName(name) }
        guard topics[name] == nil else { return .topicExists(name) }
        topics[name] = count
        for index in 0 ..< count {
            partitions[TopicPartition(name, index)] = []
            logStart[TopicPartition(name, index)] = 0
            context.disk.create(logPath(TopicPartition(name, index)))
        }
        try? context.disk.append("kafka/topics", RecordLog.encode(Fields.join([Array(name.utf8), Array("\(count)".utf8)])))
        try? context.disk.fsync("kafka/topics")
        context.disk.syncDirectory()
        return nil
    }

    /// Handles a request; the flag says whether the answer must wait for an fsync's latency.
    func handle(_ message: KafkaMessage) -> (KafkaMessage, Bool) {
        let now = context.simulation.now
        switch message {
        case .createTopic(let name, let count):
            if let error = createTopic(name, partitions: count) { return (.error(error), false) }
            return (.ok, true)
        case .produce(let topic, let key, let value, let acks):
            if topics[topic] == nil {
                guard configuration.autoCreateTopics else { return (.error(.unknownTopic(topic)), false) }
                if let error = createTopic(topic, partitions: configuration.defaultPartitions) { return (.error(error), false) }
            }
            guard value.count <= configuration.maxRecordBytes else { return (.error(.recordTooLarge(bytes: value.count, limit: configuration.maxRecordBytes)), false) }
            let partition = TopicPartition(topic, Int(stableHash(key) % UInt64(topics[topic]!)))
            let offset = (partitions[partition]?.last?.offset).map { $0 + 1 } ?? logStart[partition] ?? 0
            partitions[partition, default: []].append(KafkaRecord(offset: offset, key: key, value: value))
            try? context.disk.append(logPath(partition), RecordLog.encode(Fields.join([Array("\(offset)".utf8), Array(key.utf8), value])))
            if acks < 0 || acks > 1 { try? context.disk.fsync(logPath(partition)) }  // acks=all
            applyRetention(partition)
            return (.produced(partition: partition.partition, offset: offset), acks < 0 || acks > 1)
        case .fetch(let topic, let index, let offset, let maxRecords, let member):
            guard let count = topics[topic] else { return (.error(.unknownTopic(topic)), false) }
            guard (0 ..< count).contains(index) else { return (.error(.invalidPartition(topic: topic, partition: index)), false) }
            if let member { touch(member: member, at: now) }
            let partition = TopicPartition(topic, index)
            // Offsets in a partition are consecutive from its first record: index, don't scan.
            let log = partitions[partition] ?? []
            let start = Swift.min(log.count, Swift.max(0, offset - (log.first?.offset ?? 0)))
            // BUGGIFY: a fetch may return fewer records than are there (as a size-limited fetch does).
            let limit = context.simulation.buggify(Ratio(1, 3)) ? Swift.min(1, maxRecords) : maxRecords
            let records = log[start...].prefix(Swift.max(0, limit))
            return (.records(Array(records), logStart: logStart[partition] ?? 0, highWatermark: (partitions[partition]?.last?.offset ?? -1) + 1), false)
        case .joinGroup(let groupName, let member, let wanted):
            for topic in wanted where topics[topic] == nil { return (.error(.unknownTopic(topic)), false) }
            let group = groups[groupName] ?? Group()
            groups[groupName] = group
            group.members[member] = (wanted, now)
            rebalance(groupName)
            return (.joined(generation: group.generation, assignment: group.assignment[member] ?? []), false)
        case .heartbeat(let groupName, let member, let generation):
            guard let group = groups[groupName], group.members[member] != nil else { return (.error(.unknownMember(member)), false) }
            group.members[member]!.lastSeen = now
            guard generation == group.generation else { return (.error(.illegalGeneration(member: member, generation: generation, current: group.generation)), false) }
            return (.ok, false)
        case .commit(let groupName, let member, let generation, let offsets):
            let group = groups[groupName]
            guard let group, group.members[member] != nil, generation == group.generation else {
                return (.error(.commitFailed(member: member, generation: generation, current: group?.generation ?? 0)), false)
            }
            group.members[member]!.lastSeen = now
            for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
                committedOffsets[groupName, default: [:]][partition] = offset
                try? context.disk.append("kafka/offsets", RecordLog.encode(Fields.join([groupName, partition.topic, "\(partition.partition)", "\(offset)"].map { Array($0.utf8) })))
            }
            try? context.disk.fsync("kafka/offsets")
            context.disk.syncDirectory()
            return (.ok, true)
        case .committed(let groupName, let partition):
            return (.offset(committedOffsets[groupName]?[partition]), false)
        default:
            return (.error(.unknownMember("?")), false)
        }
    }

    func touch(member: String, at now: Int64) {
        for group in groups.values where group.members[member] != nil { group.members[member]!.lastSeen = now }
    }

    func applyRetention(_ partition: TopicPartition) {
        guard var records = partitions[partition], records.count > configuration.retentionRecords else { return }
        records.removeFirst(records.count - configuration.retentionRecords)
        partitions[partition] = records
        logStart[partition] = records.first?.offset ?? 0
    }

    /// Range assignment over sorted members: each topic's partitions split in member order.
    func rebalance(_ groupName: String) {
        guard let group = groups[groupName] else { return }
        group.generation += 1
        group.assignment = [:]
        let members = group.members.keys.sorted()
        for topic in Set(group.members.values.flatMap(\.topics)).sorted() {
            let interested = members.filter { group.members[$0]!.topics.contains(topic) }
            guard !interested.isEmpty, let count = topics[topic] else { continue }
            for index in 0 ..< count { group.assignment[interested[index % interested.count], default: []].append(TopicPartition(topic, index)) }
        }
        context.record(.kafkaRebalance, payload: UInt64(group.generation), "\(groupName) generation \(group.generation): \(members)")
    }

    func expireMembers() {
        let now = context.simulation.now
        for name in groups.keys.sorted() {
            let group = groups[name]!
            let expired = group.members.filter { now - $0.value.lastSeen > configuration.maxPollInterval }.map(\.key).sorted()
            guard !expired.isEmpty else { continue }
            for member in expired { group.members[member] = nil }
            context.record(.kafkaMemberExpired, payload: UInt64(expired.count), "\(name): \(expired) missed max.poll.interval")
            rebalance(name)
        }
    }
}

extension TraceKind {
    public static let kafkaRebalance = TraceKind("kafka.rebalance")
    public static let kafkaMemberExpired = TraceKind("kafka.member_expired")
}

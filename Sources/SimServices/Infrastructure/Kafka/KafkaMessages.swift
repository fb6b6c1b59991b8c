import SimKernel

/// Errors a Kafka broker answers with.
public enum KafkaError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    case unknownTopic(String)
    case invalidPartition(topic: String, partition: Int)
    case recordTooLarge(bytes: Int, limit: Int)
    case invalidTopicName(String)
    case topicExists(String)
    /// The consumer's group generation is stale: it was removed in a rebalance (fencing).
    case commitFailed(member: String, generation: Int, current: Int)
    case unknownMember(String)
    case illegalGeneration(member: String, generation: Int, current: Int)

    public var description: String {
        switch self {
        case .unknownTopic(let t): return "UNKNOWN_TOPIC_OR_PARTITION: topic '\(t)' does not exist (auto-creation is off)"
        case .invalidPartition(let t, let p): return "UNKNOWN_TOPIC_OR_PARTITION: \(t) has no partition \(p)"
        case .recordTooLarge(let b, let l): return "RECORD_TOO_LARGE: \(b) bytes > \(l)"
        case .invalidTopicName(let t): return "INVALID_TOPIC_EXCEPTION: '\(t)'"
        case .topicExists(let t): return "TOPIC_ALREADY_EXISTS: \(t)"
        case .commitFailed(let m, let g, let c): return "COMMIT_FAILED: \(m) committed with generation \(g), the group is at \(c) (it was removed from the group)"
        case .unknownMember(let m): return "UNKNOWN_MEMBER_ID: \(m)"
        case .illegalGeneration(let m, let g, let c): return "ILLEGAL_GENERATION: \(m) at \(g), group at \(c)"
        }
    }
}

/// A record read back from a partition.
public struct KafkaRecord: Hashable, Sendable, Codable {
    public var offset: Int
    public var key: String
    public var value: [UInt8]
}

/// A topic partition.
public struct TopicPartition: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var topic: String
    public var partition: Int
    public init(_ topic: String, _ partition: Int) { self.topic = topic; self.partition = partition }
    public static func < (a: TopicPartition, b: TopicPartition) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)-\(partition)" }
}

/// Requests and replies of the broker.
public enum KafkaMessage: SimMessage {
    case createTopic(name: String, partitions: Int)
    case produce(topic: String, key: String, value: [UInt8], acks: Int)
    case fetch(topic: String, partition: Int, offset: Int, maxRecords: Int, member: String?)
    case joinGroup(group: String, member: String, topics: [String])
    case heartbeat(group: String, member: String, generation: Int)
    case commit(group: String, member: String, generation: Int, offsets: [TopicPartition: Int])
    case committed(group: String, partition: TopicPartition)
    // replies
    case ok
    case produced(partition: Int, offset: Int)
    case records([KafkaRecord], logStart: Int, highWatermark: Int)
    case joined(generation: Int, assignment: [TopicPartition])
    case offset(Int?)
    case error(KafkaError)

    public var wireSize: Int {
        switch self {
        case .produce(_, let k, let v, _): return 48 + k.utf8.count + v.count
        case .records(let r, _, _): return 32 + r.reduce(0) { $0 + 16 + $1.key.utf8.count + $1.value.count }
        default: return 64
        }
    }
    /// The content's digest, computed from the fields (no summary string: Kafka polling is a large
    /// share of a platform run's messages).
    public var traceDigest: UInt64 {
        func u(_ x: Int) -> UInt64 { UInt64(bitPattern: Int64(x)) }
        switch self {
        case .produce(let t, let k, let v, let a): return mix64(stableHash(v, seed: stableHash(t) ^ stableHash(k)), u(a) | 0x100)
        case .fetch(let t, let p, let o, let m, let member): return mix64(stableHash(t) ^ stableHash(member ?? "-"), u(p) << 48 ^ u(o) << 16 ^ u(m) | 0x200)
        case .heartbeat(let g, let m, let gen): return mix64(stableHash(g) ^ stableHash(m), u(gen) | 0x300)
        case .commit(let g, let m, let gen, let o):
            return o.sorted { $0.key < $1.key }.reduce(mix64(stableHash(g) ^ stableHash(m), u(gen) | 0x400)) { mix64($0, stableHash($1.key.topic) ^ u($1.key.partition) << 40 ^ u($1.value)) }
        case .ok: return 0x500
        case .produced(let p, let o): return mix64(0x600, u(p) << 40 ^ u(o))
        case .records(let r, let s, let h):
            return r.reduce(mix64(0x700, u(s) << 32 ^ u(h))) { mix64($0, stableHash($1.value, seed: stableHash($1.key) ^ u($1.offset))) }
        default: return stableHash(traceSummary)
        }
    }
    public var traceSummary: String {
        switch self {
        case .createTopic(let n, let p): return "create-topic \(n)/\(p)"
        case .produce(let t, let k, let v, let a): return "produce \(t) key \(k) \(v.count)B acks \(a)"
        case .fetch(let t, let p, let o, let m, _): return "fetch \(t)-\(p) @\(o) max \(m)"
        case .joinGroup(let g, let m, _): return "join \(g) as \(m)"
        case .heartbeat(let g, let m, let gen): return "heartbeat \(g) \(m) gen \(gen)"
        case .commit(let g, let m, let gen, let o): return "commit \(g) \(m) gen \(gen) \(o.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" })"
        case .committed(let g, let p): return "committed? \(g) \(p)"
        case .ok: return "ok"
        case .produced(let p, let o): return "produced p\(p) @\(o)"
        case .records(let r, let s, let h): return "\(r.count) records (start \(s), hw \(h))"
        case .joined(let g, let a): return "joined gen \(g) \(a)"
        case .offset(let o): return "offset \(o.map(String.init) ?? "none")"
        case .error(let e): return "error \(e)"
        }
    }
}

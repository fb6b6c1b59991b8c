import SimKernel

/// A typed Kafka client with per-request deadlines and bounded retries.
public struct KafkaClient: Sendable {
    public let broker: Address
    public var timeout: Int64 = 500 * Nanos.millisecond
    public var retries = 2
    public init(broker: Address) { self.broker = broker }

    /// Errors of a Kafka call: the broker's own, or no answer.
    public typealias Failure = InfraFailure<KafkaError>

    func request(_ message: KafkaMessage, context: ProcessContext, retries: Int? = nil) async -> Result<KafkaMessage, Failure> {
        switch await context.infraCall(broker, message, as: KafkaMessage.self, component: "kafka", timeout: timeout, retries: retries ?? self.retries) {
        case .success(.error(let error)): return .failure(.server(error))
        case .success(let reply): return .success(reply)
        case .failure(let timeout): return .failure(.timeout(timeout))
        }
    }

    public func createTopic(_ name: String, partitions: Int, context: ProcessContext) async -> Result<Void, Failure> {
        await request(.createTopic(name: name, partitions: partitions), context: context).map { _ in () }
    }

    /// Produces one record (not retried after a timeout unless asked: a retry may duplicate it).
    public func produce(_ topic: String, key: String, value: [UInt8], acks: Int = -1, context: ProcessContext, retries: Int = 0) async -> Result<(partition: Int, offset: Int), Failure> {
        await request(.produce(topic: topic, key: key, value: value, acks: acks), context: context, retries: retries).flatMap {
            if case .produced(let p, let o) = $0 { return .success((p, o)) }
            return .failure(.server(.unknownTopic(topic)))
        }
    }

    public func fetch(_ partition: TopicPartition, from offset: Int, max: Int = 100, member: String? = nil, context: ProcessContext) async -> Result<[KafkaRecord], Failure> {
        await request(.fetch(topic: partition.topic, partition: partition.partition, offset: offset, maxRecords: max, member: member), context: context).map {
            if case .records(let records, _, _) = $0 { return records }
            return []
        }
    }

    public func join(group: String, member: String, topics: [String], context: ProcessContext) async -> Result<(generation: Int, assignment: [TopicPartition]), Failure> {
        await request(.joinGroup(group: group, member: member, topics: topics), context: context).map {
            if case .joined(let g, let a) = $0 { return (g, a) }
            return (0, [])
        }
    }

    public func heartbeat(group: String, member: String, generation: Int, context: ProcessContext) async -> Result<Void, Failure> {
        await request(.heartbeat(group: group, member: member, generation: generation), context: context).map { _ in () }
    }

    public func commit(group: String, member: String, generation: Int, offsets: [TopicPartition: Int], context: ProcessContext) async -> Result<Void, Failure> {
        await request(.commit(group: group, member: member, generation: generation, offsets: offsets), context: context).map { _ in () }
    }

    public func committed(group: String, partition: TopicPartition, context: ProcessContext) async -> Result<Int?, Failure> {
        await request(.committed(group: group, partition: partition), context: context).map {
            if case .offset(let o) = $0 { return o }
            return nil
        }
    }
}

import SimKernel

extension ServiceRuntime {
    /// A consumer-group loop, as a Kafka consumer runs it: join `group` for `topic` as
    /// `<node>-<epoch>`, start each assigned partition at its committed offset, fetch, hand every
    /// record to `handle` in order, then commit. Offsets are committed only when they moved, or
    /// every 2 s as a liveness probe of the membership (a failed commit means a rebalance: join
    /// again); an empty fetch waits 500 ms before the next poll, as `fetch.max.wait.ms` does.
    /// `beforePoll` runs before every poll (the scheduler re-takes leadership there). Records are
    /// handled at least once: a crash between `handle` and the commit hands them out again.
    /// `coalesce` may drop records of a fetched batch that later records of the same batch make
    /// moot (the consumer still moves past them): a consumer catching up on a backlog then does
    /// the work of the newest state only.
    func consume(group: String, topic: String, beforePoll: () async -> Void = {}, coalesce: ([KafkaRecord]) -> [KafkaRecord] = { $0 },
                 handle: (KafkaRecord) async -> Void) async {
        let member = "\(context.node.name)-\(context.epoch)"
        var offsets: [TopicPartition: Int] = [:]
        var lastCommitted: [TopicPartition: Int]?
        var lastCommitAt: Int64 = 0
        while true {
            guard case .success(let joined) = await kafka.join(group: group, member: member, topics: [topic], context: context) else {
                await context.sleep(nanoseconds: 200 * Nanos.millisecond)
                continue
            }
            for partition in joined.assignment where offsets[partition] == nil {
                offsets[partition] = (try? await kafka.committed(group: group, partition: partition, context: context).get()) ?? nil ?? 0
            }
            var healthy = true
            lastCommitted = nil
            while healthy {
                await beforePoll()
                var fetched = 0
                for partition in joined.assignment {
                    guard case .success(let records) = await kafka.fetch(partition, from: offsets[partition] ?? 0, max: 20, member: member, context: context) else { continue }
                    fetched += records.count
                    for record in coalesce(records) {
                        await handle(record)
                        offsets[partition] = record.offset + 1
                    }
                    if let last = records.last { offsets[partition] = last.offset + 1 }
                }
                let owned = offsets.filter { joined.assignment.contains($0.key) }
                if owned != lastCommitted || context.simulation.now - lastCommitAt >= 2 * Nanos.second {
                    let commit = await kafka.commit(group: group, member: member, generation: joined.generation, offsets: owned, context: context)
                    if case .failure = commit { healthy = false } else { lastCommitted = owned; lastCommitAt = context.simulation.now }
                }
                await context.sleep(nanoseconds: (fetched == 0 ? 500 : 100) * Nanos.millisecond)
            }
        }
    }
}

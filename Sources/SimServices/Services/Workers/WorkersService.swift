import SimKernel

/// Task workers on the full platform: at start-up they register with the scheduler (waiting for
/// it; L15 asks once and fails), join the `tasks` consumer group and process tasks at least once,
/// recording each task id once in metrics_db (idempotent effects).
public enum WorkersService {
    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "workers") { runtime, request in
            let context = runtime.context
            let task = request.body["task"] ?? "t"
            guard case .success(let produced) = await runtime.kafka.produce("tasks", key: task, value: Array(task.utf8), context: context) else {
                return .error(500, "cannot enqueue")
            }
            // Wait (bounded) for the consumer loop to have processed it.
            for _ in 0 ..< 50 {
                if case .success(let rows) = await runtime.transaction([SQLStatement("SELECT COUNT(*) FROM task_effects WHERE task = ?", [.text(task)])]),
                   rows[0].rows.first?.first?.integer == 1 {
                    return HTTPResponse(200, ["task": task, "offset": "\(produced.offset)"])
                }
                await context.sleep(nanoseconds: 50 * Nanos.millisecond)
            }
            return .error(504, "task \(task) not processed in time")
        }
        spec.database = "metrics_db"
        spec.migrations = ["CREATE TABLE task_effects(task TEXT PRIMARY KEY, processed_at INTEGER NOT NULL)"]
        spec.topics = ["tasks"]
        spec.bootstrap = { runtime in
            let context = runtime.context
            if runtime.defects.contains(.L15) {
                // L15 asks once; without the scheduler it never registers, and never consumes.
                guard case .success(let list) = await runtime.consul.healthy("scheduler", context: context), !list.isEmpty else {
                    context.record(.serviceStartupFailed, payload: 15, "workers: registration skipped: the scheduler is not up")
                    return nil
                }
            } else {
                await runtime.waitUntil("scheduler") { ((try? await runtime.consul.healthy("scheduler", context: context).get()) ?? []).isEmpty == false }
            }
            let member = "\(context.node.name)-\(context.epoch)"
            context.simulation.spawn { await consume(runtime, member: member) }
            return nil
        }
        spec.createsTopics = !defects.contains(.L4)  // L4: left to auto-creation, which is off
        return spec
    }

    /// The consumer loop: join, fetch from assigned partitions, apply each task once, commit.
    static func consume(_ runtime: ServiceRuntime, member: String) async {
        let context = runtime.context
        var offsets: [TopicPartition: Int] = [:]
        // Committed only when they moved, or every 2 s as a liveness probe of the membership (a
        // failed commit means a rebalance: rejoin); an empty fetch waits 500 ms before the next
        // poll, as fetch.max.wait.ms does.
        var lastCommitted: [TopicPartition: Int]?
        var lastCommitAt: Int64 = 0
        while true {
            guard case .success(let joined) = await runtime.kafka.join(group: "workers", member: member, topics: ["tasks"], context: context) else {
                await context.sleep(nanoseconds: 200 * Nanos.millisecond)
                continue
            }
            for partition in joined.assignment where offsets[partition] == nil {
                offsets[partition] = (try? await runtime.kafka.committed(group: "workers", partition: partition, context: context).get()) ?? nil ?? 0
            }
            var healthy = true
            lastCommitted = nil
            while healthy {
                var fetched = 0
                for partition in joined.assignment {
                    guard case .success(let records) = await runtime.kafka.fetch(partition, from: offsets[partition] ?? 0, max: 20, member: member, context: context) else { continue }
                    fetched += records.count
                    for record in records {
                        _ = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO task_effects VALUES (?, ?)", [.text(record.key), .integer(context.trueTime)])])
                        offsets[partition] = record.offset + 1
                    }
                }
                let owned = offsets.filter { joined.assignment.contains($0.key) }
                if owned != lastCommitted || context.simulation.now - lastCommitAt >= 2 * Nanos.second {
                    let commit = await runtime.kafka.commit(group: "workers", member: member, generation: joined.generation, offsets: owned, context: context)
                    if case .failure = commit { healthy = false } else { lastCommitted = owned; lastCommitAt = context.simulation.now }  // failed: rebalanced, rejoin
                }
                await context.sleep(nanoseconds: (fetched == 0 ? 500 : 100) * Nanos.millisecond)
            }
        }
    }
}

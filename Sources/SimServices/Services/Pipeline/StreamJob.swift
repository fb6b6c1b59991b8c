import SimKernel

/// The streaming job of the pipeline service: click events from Kafka's `events` topic, counted
/// and summed per (tenant, user, 1 s tumbling window of event time) into experiments_db
/// (`stream_counts`). Each record carries its tenant (`StreamEvent.record`): ids are settled per
/// tenant (`tenant/id`), each tenant's records are validated against its own schemas, and a
/// backfill re-applies the asking tenant's events only.
///
/// - Exactly once: each batch commits in ONE transaction its effects (guarded by the event id in
///   `stream_seen`: an event counts once however often it is read) and the partition's next
///   offset (`stream_checkpoint`). A crash re-reads from the checkpoint and changes nothing twice.
///   D10 counts without the guard and commits offsets to Kafka afterwards (a re-read counts again);
///   D6 keeps the counts in memory and writes them every fifth batch while the checkpoint moves
///   every batch (a crash loses acknowledged records); D3's backfill re-applies without the guard.
/// - Event time: the watermark is the newest event time seen less the allowed lateness (2 s); a
///   record whose window closed before the watermark is late and dead-lettered (D4 allows no
///   lateness: records within it are dropped as late).
/// - Dead letters (late, unprocessable, refused by the schema) are decided in the batch's
///   transaction (an outbox table) and then published to `events-dlq` until Kafka acknowledges
///   (D7 keeps at most 10 and drops the rest).
/// - Lineage: each output row names the steps that made it (D9 leaves out deduplication).
enum StreamJob {
    static let topic = "events", deadLetterTopic = "events-dlq"
    static let window = Nanos.second, allowedLateness = 2 * Nanos.second
    static let steps = ["validate", "deduplicate", "window", "aggregate"]

    static let migrations = [
        "CREATE TABLE stream_counts(tenant TEXT NOT NULL, window INTEGER NOT NULL, user TEXT NOT NULL, count INTEGER NOT NULL, total REAL NOT NULL, lineage TEXT NOT NULL, PRIMARY KEY(tenant, window, user))",
        // `tenant/id`: producers choose ids, two tenants' may be equal.
        "CREATE TABLE stream_seen(id TEXT PRIMARY KEY)",
        "CREATE TABLE stream_checkpoint(partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL)",
        "CREATE TABLE stream_dead_outbox(id TEXT PRIMARY KEY, body TEXT NOT NULL, reason TEXT NOT NULL, newest_seen INTEGER NOT NULL)",
    ]

    /// Publishes the dead-letter outbox to the topic, each letter until Kafka acknowledges it, then
    /// deletes it (a crash in between publishes it again: at least once).
    static func publishDeadLetters(_ runtime: ServiceRuntime) async {
        let context = runtime.context
        guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT id, body, reason, newest_seen FROM stream_dead_outbox ORDER BY id")]) else { return }
        for row in rows[0].rows {
            guard let id = row[0].text, let body = row[1].text, let reason = row[2].text, let newest = row[3].integer else { continue }
            guard case .success = await runtime.kafka.produce(deadLetterTopic, key: id, value: Array("\(body)|\(reason)".utf8), context: context) else { return }
            context.simulation.stream.deadLetters[id] = (reason, newest)
            context.simulation.stream.revision &+= 1
            _ = await runtime.transaction([SQLStatement("DELETE FROM stream_dead_outbox WHERE id = ?", [.text(id)])])
        }
    }

    static func windowStart(_ time: Int64) -> Int64 { time >= 0 ? time / window * window : ((time + 1) / window - 1) * window }

    /// The lineage written on output rows.
    static func lineage(_ defects: DefectSet) -> String { (defects.contains(.D9) ? steps.filter { $0 != "deduplicate" } : steps).joined(separator: ">") }

    /// The statements that apply one event: guarded by its id (correct), or not (D10, D3's backfill).
    static func apply(_ event: StreamEvent, value: Double, guarded: Bool, lineage: String) -> [SQLStatement] {
        let window = windowStart(event.eventTime)
        let upsert = "INSERT INTO stream_counts(tenant, window, user, count, total, lineage) SELECT ?, ?, ?, 1, ?, ? \(guarded ? "WHERE changes() = 1 " : "WHERE 1 ")"
            + "ON CONFLICT(tenant, window, user) DO UPDATE SET count = count + 1, total = total + excluded.total, lineage = excluded.lineage"
        let effect = SQLStatement(upsert, [.text(event.tenant), .integer(window), .text(event.user), .real(value), .text(lineage)])
        return guarded ? [SQLStatement("INSERT OR IGNORE INTO stream_seen(id) VALUES (?)", [.text(event.key)]), effect] : [effect]
    }

    /// The job's loop, for as long as the pipeline service lives.
    static func run(_ runtime: ServiceRuntime) async {
        let context = runtime.context, defects = runtime.defects
        let member = "\(context.node.name)-\(context.epoch)"
        var newestSeen = Int64.min
        var deadLettered = 0
        var pending: [SQLStatement] = []  // D6's counts not yet written
        var batches = 0
        var recorded: [TopicPartition: Int] = [:]  // offsets up to which `processed` is recorded
        while true {
            guard case .success(let joined) = await runtime.kafka.join(group: "stream", member: member, topics: [topic], context: context),
                  var schemas = await StreamSchemas.byTenant(runtime) else {
                await context.sleep(nanoseconds: 200 * Nanos.millisecond)
                continue
            }
            await publishDeadLetters(runtime)  // what a crash left in the outbox
            var offsets: [TopicPartition: Int] = [:]
            for partition in joined.assignment {
                if defects.contains(.D10) {
                    offsets[partition] = (try? await runtime.kafka.committed(group: "stream", partition: partition, context: context).get()) ?? nil ?? 0
                } else if case .success(let rows) = await runtime.transaction([SQLStatement("SELECT next_offset FROM stream_checkpoint WHERE partition = ?", [.integer(Int64(partition.partition))])]) {
                    offsets[partition] = Int(rows[0].rows.first?[0].integer ?? 0)
                } else { offsets[partition] = nil }
            }
            guard offsets.count == joined.assignment.count else { continue }
            // For the checks: events below the checkpoint are processed, even those of a batch
            // whose commit answer was lost (or committed before a crash): recorded from the log.
            // Tried again before every round until done: a fetch that fails here (Kafka cut off
            // just after the rejoin) must not leave them unrecorded while the job goes on.
            func recordCommitted() async {
                for partition in joined.assignment where (recorded[partition] ?? 0) < offsets[partition]! {
                    var from = recorded[partition] ?? 0
                    while from < offsets[partition]!, case .success(let records) = await runtime.kafka.fetch(partition, from: from, max: 50, member: member, context: context), let last = records.last {
                        context.simulation.stream.processed.formUnion(records.filter { $0.offset < offsets[partition]! }.compactMap { StreamEvent.parse(record: $0.value)?.key })
                        from = last.offset + 1
                    }
                    recorded[partition] = Swift.max(recorded[partition] ?? 0, Swift.min(from, offsets[partition]!))
                }
            }
            var healthy = true
            while healthy {
                await recordCommitted()
                var fetched = 0
                for partition in joined.assignment {
                    guard case .success(let records) = await runtime.kafka.fetch(partition, from: offsets[partition]!, max: 50, member: member, context: context),
                          let last = records.last else { continue }
                    fetched += records.count
                    let events = records.compactMap { StreamEvent.parse(record: $0.value) }
                    // A version not known yet is fetched from the registry (as a schema-registry
                    // client does), before any record of the batch is judged.
                    if events.contains(where: { event in !(schemas[event.tenant] ?? []).contains { $0.version == event.schemaVersion } }) {
                        guard let fresh = await StreamSchemas.byTenant(runtime) else { continue }
                        schemas = fresh
                    }
                    // Deduplicate first: an event already settled (counted or dead-lettered), read
                    // again after a crash or from a producer's retry, is skipped whole.
                    var settled: Set<String> = []
                    if !defects.contains(.D10) && !events.isEmpty {
                        let marks = events.map { _ in "?" }.joined(separator: ",")
                        guard case .success(let seen) = await runtime.transaction([SQLStatement("SELECT id FROM stream_seen WHERE id IN (\(marks))", events.map { .text($0.key) })]) else { continue }
                        settled = Set(seen[0].rows.compactMap { $0[0].text })
                    }
                    var statements: [SQLStatement] = []
                    var letters: [(StreamEvent, String)] = []
                    for event in events where !settled.contains(event.key) {
                        settled.insert(event.key)  // a duplicate within the batch counts once too
                        if let problem = StreamSchemas.schema(for: event.schemaVersion, in: schemas[event.tenant] ?? [], consumer: true, defects: defects).map({ $0.problem(event.fields) }) ?? "unknown schema v\(event.schemaVersion)" {
                            context.simulation.stream.schemaRefusals[event.key] = problem
                            letters.append((event, "schema: \(problem)"))
                        } else if let value = event.value {
                            let lateness = defects.contains(.D4) ? 0 : allowedLateness
                            if newestSeen != .min && windowStart(event.eventTime) + window + lateness <= newestSeen {
                                letters.append((event, "late"))
                            } else {
                                statements += apply(event, value: value, guarded: !defects.contains(.D10), lineage: lineage(defects))
                            }
                        } else {
                            letters.append((event, "unprocessable: value '\(event.fields.first ?? "")' is not a number"))
                        }
                        newestSeen = Swift.max(newestSeen, event.eventTime)
                    }
                    // Dead letters go to an outbox in the batch's own transaction (the decision is
                    // committed with the offsets, never taken twice), then to the topic. A
                    // dead-lettered event is settled: marked seen, so a backfill leaves it alone.
                    for (event, reason) in letters {
                        deadLettered += 1
                        statements.append(SQLStatement("INSERT OR IGNORE INTO stream_seen(id) VALUES (?)", [.text(event.key)]))
                        if defects.contains(.D7) && deadLettered > 10 { continue }  // D7: the queue is full, the letter dropped
                        statements.append(SQLStatement("INSERT OR IGNORE INTO stream_dead_outbox(id, body, reason, newest_seen) VALUES (?, ?, ?, ?)",
                                                       [.text(event.key), .text(String(decoding: event.record, as: UTF8.self)), .text(reason), .integer(newestSeen)]))
                    }
                    let checkpoint = SQLStatement("INSERT INTO stream_checkpoint(partition, next_offset) VALUES (?, ?) ON CONFLICT(partition) DO UPDATE SET next_offset = excluded.next_offset",
                                                  [.integer(Int64(partition.partition)), .integer(Int64(last.offset + 1))])
                    let batch: [SQLStatement]
                    if defects.contains(.D6) {
                        pending += statements
                        batches += 1
                        batch = (batches % 5 == 0 ? pending : []) + [checkpoint]
                    } else if defects.contains(.D10) {
                        batch = statements
                    } else {
                        batch = statements + [checkpoint]
                    }
                    if case .failure = await runtime.transaction(batch) {
                        // The commit's answer may have been lost after it took effect: the
                        // checkpoint tells (it moves only with the batch).
                        guard !defects.contains(.D10), !defects.contains(.D6),
                              case .success(let check) = await runtime.transaction([SQLStatement("SELECT next_offset FROM stream_checkpoint WHERE partition = ?", [.integer(Int64(partition.partition))])]),
                              check[0].rows.first?[0].integer == Int64(last.offset + 1) else { healthy = false; break }
                    }
                    if defects.contains(.D6) && batches % 5 == 0 { pending = [] }
                    offsets[partition] = last.offset + 1
                    context.simulation.stream.stepsRun = steps
                    context.simulation.stream.judgedFailed += letters.map { ($0.0.key, $0.1, context.simulation.now) }
                    context.simulation.stream.processed.formUnion(events.map(\.key))
                    // Recorded only when contiguous with what is recorded: a gap below this batch
                    // (a catch-up that has not succeeded yet) is left for `recordCommitted`.
                    if (recorded[partition] ?? 0) >= records[0].offset { recorded[partition] = last.offset + 1 }
                    context.simulation.stream.revision &+= 1
                    if !letters.isEmpty { await publishDeadLetters(runtime) }
                    if defects.contains(.D10), case .failure = await runtime.kafka.commit(group: "stream", member: member, generation: joined.generation, offsets: [partition: last.offset + 1], context: context) {
                        healthy = false
                        break
                    }
                }
                if healthy, case .failure = await runtime.kafka.heartbeat(group: "stream", member: member, generation: joined.generation, context: context) { healthy = false }
                await context.sleep(nanoseconds: (fetched == 0 ? 300 : 50) * Nanos.millisecond)
            }
        }
    }

    /// Re-reads every partition from its start up to the job's checkpoint (what the job has
    /// processed) and applies `tenant`'s events again (a backfill after a fix): harmless with the
    /// id guard; D3 applies them without it. Events past the checkpoint are the job's to decide,
    /// other tenants' events are theirs.
    static func backfill(_ runtime: ServiceRuntime, tenant: String) async throws(ServiceError) -> Int {
        let context = runtime.context
        guard case .success(let checkpoints) = await runtime.transaction([SQLStatement("SELECT partition, next_offset FROM stream_checkpoint ORDER BY partition")]) else {
            throw .unavailable("cannot read the checkpoint")
        }
        var applied = 0
        for row in checkpoints[0].rows {
            guard let index = row[0].integer, let end = row[1].integer else { continue }
            var offset = 0
            while offset < end {
                guard case .success(let fetched) = await runtime.kafka.fetch(TopicPartition(topic, Int(index)), from: offset, max: 100, context: context) else {
                    throw .unavailable("cannot read \(topic)-\(index)")
                }
                let records = fetched.filter { $0.offset < end }
                guard let last = records.last else { break }
                var statements: [SQLStatement] = []
                for record in records {
                    guard let event = StreamEvent.parse(record: record.value), event.tenant == tenant, let value = event.value else { continue }
                    statements += apply(event, value: value, guarded: !runtime.defects.contains(.D3), lineage: lineage(runtime.defects))
                }
                guard case .success(let results) = await runtime.transaction(statements) else { throw .unavailable("cannot apply the backfill") }
                applied += results.filter { $0.changes > 0 }.count
                offset = last.offset + 1
            }
        }
        return applied
    }
}

import SimKernel

/// The scheduler. One leader, through a Consul session holding `scheduler/leader`. Its HTTP API
/// stores cron schedules (experiments_db; only the leader answers). The leader consumes the
/// `training.jobs` topic (consumer group `scheduler`, offsets committed after the job is handled)
/// and places each job that carries a spec: the job lock, then each trainer's lock while it tells
/// that trainer to start (lock order everywhere: job, then worker; defect F10 breaks it on the
/// trainer's side). Placements are recorded in its database; once a job is placed, the leader
/// sweeps the trainers' health every second under the same lock order. A restarted scheduler
/// resumes from its committed offset and its recorded placements (placing twice is harmless:
/// trainers answer `start` at any time).
///
/// Route: `POST scheduler/schedules` (AddSchedule -> Schedules). In memory (`State`): whether it
/// leads, its Consul session, and the placed jobs it sweeps (restored from its database).
public enum SchedulerService {
    public struct AddSchedule: Codable, Sendable, Equatable {
        public var name: String?
        /// Five cron fields (default `0 * * * *`).
        public var cron: String?
        /// The schedule's time zone (default UTC).
        public var tz: String?
    }
    public struct Schedules: Codable, Sendable, Equatable {
        /// How many schedules are stored.
        public var schedules: Int64
    }

    /// The scheduler's in-memory state. The session and its renewal belong to the process, not
    /// to one start-up attempt (see `takeLeadership`).
    public actor State {
        public private(set) var isLeader = false
        public private(set) var session: String?
        var renewing = false
        public private(set) var placed: [TrainingJobSpec] = []

        func lead(_ leading: Bool) { isLeader = leading }
        func use(session: String?) { self.session = session }
        /// Starts the renewal task once per process: true the first time.
        func startRenewing() -> Bool {
            defer { renewing = true }
            return !renewing
        }
        func stepDown() {
            session = nil
            isLeader = false
        }
        func remember(_ job: TrainingJobSpec) { if !placed.contains(where: { $0.name == job.name }) { placed.append(job) } }
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "scheduler", routes: [
            Route("POST", "scheduler/schedules", AddSchedule.self, Schedules.self) { runtime, request, _ throws(ServiceError) in
                guard await runtime.state(State.self).isLeader else { throw .unavailable("not the leader") }
                let cron = request.cron ?? "0 * * * *"
                guard cron.splitBytes(" ").count == 5 else { throw .badRequest("cron needs 5 fields") }
                guard case .success(let rows) = await runtime.transaction([
                    SQLStatement("INSERT INTO schedules(name, cron, timezone) VALUES (?, ?, ?)", [.text(request.name ?? "nightly"), .text(cron), .text(request.tz ?? "UTC")]),
                    SQLStatement("SELECT COUNT(*) FROM schedules"),
                ]) else { throw .internalError("cannot store the schedule") }
                return Schedules(schedules: rows[1].rows.first?.first?.integer ?? 0)
            },
        ])
        spec.makeState = { State() }
        spec.database = "experiments_db"
        spec.migrations = [
            "CREATE TABLE schedules(id INTEGER PRIMARY KEY, name TEXT NOT NULL, cron TEXT NOT NULL, timezone TEXT NOT NULL)",
            "CREATE TABLE placements(job TEXT PRIMARY KEY, spec TEXT NOT NULL)",
            "ALTER TABLE placements ADD COLUMN swept_at INTEGER",
        ]
        spec.bootstrap = { runtime in await takeLeadership(runtime) }
        spec.afterReady = { runtime in
            if runtime.directory.serving.autoscaleTargetPerReplica > 0 {
                runtime.context.simulation.spawn { await Autoscaler.run(runtime) { await runtime.state(State.self).isLeader } }
            }
            await lead(runtime)
        }
        return spec
    }

    /// Leadership: a Consul session (TTL 10 s, renewed every 3 s from the moment it exists, also
    /// while waiting for the lock) holding the `scheduler/leader` key. The session and its renewal
    /// belong to the process, not to one start-up attempt: a start-up that fails after taking
    /// leadership and is retried keeps its session, and so still holds the key. (A fresh session
    /// per attempt, as before, waited forever for a key held by the previous attempt's session,
    /// which a leftover task kept renewing.) A session that expired anyway is replaced.
    static func takeLeadership(_ runtime: ServiceRuntime) async -> String? {
        let context = runtime.context, state = runtime.state(State.self)
        if await state.startRenewing() {
            context.simulation.spawn {
                while true {
                    await context.sleep(for: .seconds(3))
                    guard let current = await state.session else { continue }
                    if case .success(.error(.unknownSession)) = await runtime.consul.request(.sessionRenew(current), context: context) {
                        // The session expired (a long partition from Consul): step down; the
                        // leader's loops take leadership again before they act.
                        await state.stepDown()
                        context.record(.schedulerLostLeadership, payload: stableHash(current), "\(current) expired: stepping down")
                    }
                }
            }
        }
        await runtime.waitUntil("scheduler leadership") {
            if await state.session == nil {
                guard case .success(.session(let created)) = await runtime.consul.request(.sessionCreate(checks: [], ttl: 10 * Nanos.second, lockDelay: Nanos.second), context: context) else { return false }
                await state.use(session: created)
            }
            guard let session = await state.session else { return false }
            switch await runtime.consul.request(.kvAcquire("scheduler/leader", context.node.name, session: session), context: context) {
            case .success(.bool(true)): return true
            case .success(.error(.unknownSession)): await state.use(session: nil); return false
            default: return false
            }
        }
        await state.lead(true)
        return nil
    }

    /// The leader's work: the health sweep of placed jobs, and the `training.jobs` consumer.
    static func lead(_ runtime: ServiceRuntime) async {
        let context = runtime.context, state = runtime.state(State.self)
        if case .success(let rows) = await runtime.transaction([SQLStatement("SELECT spec FROM placements ORDER BY job")]) {
            for row in rows[0].rows { if let text = row.first?.text, let job = TrainingService.decode(text) { await state.remember(job) } }
        }
        context.simulation.spawn {
            while true {
                await context.sleep(nanoseconds: Nanos.second)
                guard await state.isLeader else { continue }  // only the leader sweeps
                for job in await state.placed { await sweep(runtime, job: job) }
            }
        }
        await consumeJobs(runtime)
    }

    /// Consumes `training.jobs` (group `scheduler`): each job with a spec is placed, then its
    /// offset committed. A scheduler that stepped down takes leadership again before it polls.
    static func consumeJobs(_ runtime: ServiceRuntime) async {
        let context = runtime.context
        await runtime.consume(group: "scheduler", topic: "training.jobs", beforePoll: {
            if await !runtime.state(State.self).isLeader { _ = await takeLeadership(runtime) }
        }) { record in
            let text = String(decoding: record.value, as: UTF8.self)
            guard let job = TrainingService.decode(text) else { return }
            context.record(.schedulerJobConsumed, payload: UInt64(record.offset), "training.jobs offset \(record.offset): \(job.name)")
            await place(runtime, job: job, spec: text)
        }
    }

    /// Places a job on every trainer: the job lock, then each trainer's lock while it starts.
    static func place(_ runtime: ServiceRuntime, job: TrainingJobSpec, spec: String) async {
        let context = runtime.context
        let owner = "\(context.node.name)/placer"
        let jobGrant = await context.acquireUntilGranted("job/\(job.name)", owner: owner)
        for (index, trainer) in runtime.directory.trainers.enumerated() {
            let grant = await context.acquireUntilGranted("worker/\(index)", owner: owner)
            _ = await context.callUntilAnswered(trainer, .start(job))
            context.simulation.locks.release(grant)
        }
        context.simulation.locks.release(jobGrant)
        // Retried while the database is unreachable or busy; a statement the database refuses
        // outright would be refused forever, so it is reported instead.
        while case .failure(let error) = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO placements(job, spec) VALUES (?, ?)", [.text(job.name), .text(spec)])]) {
            if case .sql(let refusal) = error, !refusal.isTransient {
                context.record(.schedulerPlacementRefused, payload: stableHash(job.name), "cannot record the placement of \(job.name): \(refusal)")
                break
            }
            await context.sleep(nanoseconds: 100 * Nanos.millisecond)
        }
        await runtime.state(State.self).remember(job)
        context.record(.schedulerPlaced, payload: stableHash(job.name), "\(job.name) placed on \(runtime.directory.trainers.count) trainers")
    }

    /// The health sweep: the job lock first, then each trainer's lock while it pings that
    /// trainer; then, with the job lock released, the sweep's time is written to the placement row
    /// in a short transaction: the sweep never holds a database lock while it waits for a platform
    /// lock, nor a platform lock while it waits for the database.
    ///
    /// F10 (with the trainers' reversed lock order) also breaks this: the sweep keeps one database
    /// transaction open across the trainers' locks, holding the job's row (a read lock) while it
    /// waits. A trainer that holds its own lock and commits progress to the same rows then closes
    /// a cycle through a platform lock and a database lock, which the lock manager names.
    static func sweep(_ runtime: ServiceRuntime, job: TrainingJobSpec) async {
        let context = runtime.context
        let owner = "\(context.node.name)/sweep"
        let jobGrant = await context.acquireUntilGranted("job/\(job.name)", owner: owner)
        if runtime.defects.contains(.F10) {
            _ = await runtime.interactive(asOwner: owner) { session -> Result<Int, SQLClientError> in
                if case .failure(let error) = await session.execute("SELECT state FROM training_jobs WHERE name = ?", [.text(job.name)]) { return .failure(error) }
                await pingTrainers(runtime, owner: owner)
                return (await session.execute("UPDATE placements SET swept_at = ? WHERE job = ?", [.integer(context.localTime), .text(job.name)])).map { _ in 0 }
            }
            context.simulation.locks.release(jobGrant)
        } else {
            await pingTrainers(runtime, owner: owner)
            context.simulation.locks.release(jobGrant)
            _ = await runtime.transaction([SQLStatement("UPDATE placements SET swept_at = ? WHERE job = ?", [.integer(context.localTime), .text(job.name)])])
        }
    }

    /// Each trainer's lock in turn, while the sweep pings that trainer.
    static func pingTrainers(_ runtime: ServiceRuntime, owner: String) async {
        let context = runtime.context
        for (index, trainer) in runtime.directory.trainers.enumerated() {
            let grant = await context.acquireUntilGranted("worker/\(index)", owner: owner)
            let control = Address(node: trainer.node, service: "control")
            if case .failure = await context.call(control, TrainingMessage.ping, timeout: 200 * Nanos.millisecond) {
                context.record(.schedulerMissedPing, payload: UInt64(index), "worker-\(index)")
            }
            context.simulation.locks.release(grant)
        }
    }
}

extension TraceKind {
    public static let schedulerMissedPing = TraceKind("scheduler.missed_ping")
    public static let schedulerJobConsumed = TraceKind("scheduler.job_consumed")
    public static let schedulerPlaced = TraceKind("scheduler.placed")
    public static let schedulerLostLeadership = TraceKind("scheduler.lost_leadership")
    public static let schedulerPlacementRefused = TraceKind("scheduler.placement_refused")
}

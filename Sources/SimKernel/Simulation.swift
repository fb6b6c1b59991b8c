#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    let slot: UInt32
    let generation: UInt32
    /// The event argument that names this timer: slot in the low half, generation in the high.
    var argument: UInt64 { UInt64(generation) << 32 | UInt64(slot) }
}

/// A handler registered with `Simulation.register(handler:)`; events that name it carry one word.
public struct HandlerID: Hashable, Sendable {
    let index: Int
}

/// Carries a value across a `Task` boundary. Everything inside a simulation runs on its one
/// thread, so values that are not `Sendable` may still move between its tasks.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
}

/// A deterministic discrete-event simulation: one virtual clock, one event queue, one thread.
///
/// All work of the simulation (event handlers, and every Swift concurrency job of tasks created
/// while it runs) executes on the thread that calls `run()`, in (time, sequence) order. A run is a
/// pure function of the seed and of what the caller built.
public final class Simulation: @unchecked Sendable {
    /// The root seed of the run.
    public let seed: UInt64
    public let options: SimulationOptions
    /// The one true virtual time, in nanoseconds since the start.
    @inlinable public var now: Int64 { core.pointee.now }
    /// The trace: fingerprint, recent records, sinks.
    public let trace: Trace
    /// Events processed so far (handler events, timer actions and jobs).
    public var eventCount: UInt64 { core.pointee.eventCount }
    /// Set once the run has an outcome; the loop stops after the current event.
    public private(set) var outcome: Outcome?
    /// Every failure of the run in order (with `keepGoing`, one per checker; else at most one).
    public private(set) var findings: [Outcome] = [] {
        didSet { if oldValue.isEmpty && !findings.isEmpty { recentAtFirstFinding = trace.recent } }
    }
    /// The trace's recent records when the first finding was made (a run that goes on after it
    /// would otherwise report the events of its end).
    public private(set) var recentAtFirstFinding: [TraceRecord]?

    /// The hot state of the run loop, behind a pointer: accesses through it carry no dynamic
    /// exclusivity checks, which otherwise cost more than the heap operations themselves.
    @usableFromInline let core: UnsafeMutablePointer<KernelCore>
    /// Strong references to the handlers; the run loop dispatches through `core.handlers`.
    @exclusivity(unchecked) var handlerBoxes: [EventHandler] = []
    @exclusivity(unchecked) var pendingRoots: [UncheckedBox<() async -> Void>] = []
    @exclusivity(unchecked) var safetyCheckers: [any SafetyChecker] = []
    /// `safetyCheckers[i].runsOnChangesOnly`, read once when the checker is added.
    @exclusivity(unchecked) var checkerRunsOnChangesOnly: [Bool] = []
    /// How many of `safetyCheckers` run after every event (not change-driven).
    @exclusivity(unchecked) var everyEventCheckers = 0
    /// `checkerChanges.count` at the end of the last full pass of the checkers.
    @exclusivity(unchecked) var changesAtLastPass: UInt64 = .max
    /// Changes to what change-driven checkers read: observation objects and nodes note theirs here.
    public let checkerChanges = ChangeCounter()
    let foreignCalls = Atomic<Int>(0)
    @exclusivity(unchecked) var faultMessages: [String] = []
    @exclusivity(unchecked) var streams: [String: SimRandom] = [:]
    @exclusivity(unchecked) var router: SimulationRouter
    /// Components attached to this run (network, nodes, locks, buggify), by type name.
    @exclusivity(unchecked) var components: [ObjectIdentifier: AnyObject] = [:]
    /// The two components asked for on every message (each send and arrival names its nodes,
    /// each call and reply reaches the network), kept beside the table once made: a table
    /// look-up each time was a hundredth of a serving run. Made when first asked, as any other.
    @exclusivity(unchecked) var cachedNodeRegistry: NodeRegistry?
    @exclusivity(unchecked) var cachedNetwork: Network?
    static let slotHandler = 0

    /// A simulation with the given root seed. Nothing runs until `run()`.
    public init(seed: UInt64, options: SimulationOptions = SimulationOptions()) {
        self.seed = seed
        self.options = options
        trace = Trace(ringCapacity: options.traceRingCapacity)
        router = ExecutorCapture.installed
        core = .allocate(capacity: 1)
        core.initialize(to: KernelCore())
        // unowned(unsafe): the simulation owns its handlers, so they never outlive it.
        addHandler { [unowned(unsafe) self] argument in self.fireSlot(argument) }
    }

    deinit {
        core.pointee.queue.deallocate()
        core.pointee.handlers.deallocate()
        core.deinitialize(count: 1)
        core.deallocate()
    }

    private func addHandler(_ body: @escaping (UInt64) -> Void) {
        _ = register(handler: ClosureEventHandler(body))
    }

    /// Registers a handler object for raw events (see `EventHandler`). The simulation keeps it alive.
    public func register(handler box: EventHandler) -> HandlerID {
        precondition(handlerBoxes.count < Int(PendingEvent.handlerMask), "too many handlers: \(handlerBoxes.count)")
        handlerBoxes.append(box)
        if core.pointee.handlerCount == core.pointee.handlerCapacity {
            let capacity = core.pointee.handlerCapacity * 2
            let grown = UnsafeMutablePointer<Unmanaged<EventHandler>>.allocate(capacity: capacity)
            grown.moveInitialize(from: core.pointee.handlers, count: core.pointee.handlerCount)
            core.pointee.handlers.deallocate()
            core.pointee.handlers = grown
            core.pointee.handlerCapacity = capacity
        }
        (core.pointee.handlers + core.pointee.handlerCount).initialize(to: Unmanaged.passUnretained(box))
        core.pointee.handlerCount += 1
        return HandlerID(index: handlerBoxes.count - 1)
    }

    // MARK: randomness

    /// A fresh generator for the named stream `name` of this run, derived from (seed, name): every
    /// call returns the same starting state, so hold on to the value you get, or use
    /// `withRandom(stream:)` for draws spread over time.
    public func random(stream name: String) -> SimRandom {
        SimRandom(rootSeed: seed, stream: name)
    }

    /// Draws from the persistent named stream `name`, created from (seed, name) on first use.
    public func withRandom<T>(stream name: String, _ body: (inout SimRandom) -> T) -> T {
        var generator = streams[name] ?? SimRandom(rootSeed: seed, stream: name)
        let result = body(&generator)
        streams[name] = generator
        return result
    }

    // MARK: scheduling

    /// Registers a handler for raw events. Raw events are the cheapest kind: no allocation per
    /// event, one argument word. Up to 2^20 handlers.
    public func register(handler: @escaping (_ argument: UInt64) -> Void) -> HandlerID {
        register(handler: ClosureEventHandler(handler))
    }

    /// Schedules a raw event for `handler` at absolute virtual time `time` (ns).
    @inline(__always)
    public func schedule(at time: Int64, handler: HandlerID, argument: UInt64) {
        push(time: time, handler: handler.index, argument: argument)
    }

    @inline(__always)
    func push(time: Int64, handler: Int, argument: UInt64) {
        guard checkThread() else { return }
        let core = self.core
        precondition(time >= core.pointee.now, "cannot schedule in the past: \(time) < now \(core.pointee.now)")
        let event = PendingEvent(time: time, sequence: core.pointee.nextSequence, handler: handler, argument: argument)
        core.pointee.nextSequence &+= 1
        if time == core.pointee.now && core.pointee.running { core.pointee.dueNow.append(event) } else { core.pointee.queue.push(event) }
    }

    /// Runs `action` at absolute virtual time `time` (ns). Returns an id for `cancel`.
    @discardableResult
    public func schedule(at time: Int64, _ action: @escaping () -> Void) -> TimerID {
        store(.closure(action), at: time)
    }

    /// Runs `action` after `delay` nanoseconds of virtual time.
    @discardableResult
    public func schedule(after delay: Int64, _ action: @escaping () -> Void) -> TimerID {
        precondition(delay >= 0, "negative delay \(delay)")
        return store(.closure(action), at: now &+ delay)
    }

    /// Cancels a timer. Returns false when it already fired or was cancelled.
    @discardableResult
    public func cancel(_ timer: TimerID) -> Bool {
        guard checkThread() else { return false }
        let slot = Int(timer.slot)
        guard slot < core.pointee.slots.count, core.pointee.slots[slot].generation == timer.generation, core.pointee.slots[slot].action != nil else { return false }
        releaseSlot(slot)
        return true
    }

    func store(_ action: TimerAction, at time: Int64) -> TimerID {
        let slot: UInt32
        if let free = core.pointee.freeSlots.popLast() {
            slot = free
            core.pointee.slots[Int(free)].action = action
        } else {
            slot = UInt32(core.pointee.slots.count)
            core.pointee.slots.append(TimerSlot(generation: 0, action: action))
        }
        let timer = TimerID(slot: slot, generation: core.pointee.slots[Int(slot)].generation)
        push(time: time, handler: Simulation.slotHandler, argument: timer.argument)
        return timer
    }

    /// Frees a slot; bumping its generation makes any event still naming it a no-op.
    private func releaseSlot(_ slot: Int) {
        core.pointee.slots[slot].action = nil
        core.pointee.slots[slot].generation &+= 1
        core.pointee.freeSlots.append(UInt32(slot))
    }

    @inline(__always) func isCancelled(_ argument: UInt64) -> Bool {
        let slot = Int(truncatingIfNeeded: argument & 0xFFFF_FFFF)
        return core.pointee.slots[slot].generation != UInt32(truncatingIfNeeded: argument >> 32)
    }

    func fireSlot(_ argument: UInt64) {
        let slot = Int(truncatingIfNeeded: argument & 0xFFFF_FFFF)
        let generation = UInt32(truncatingIfNeeded: argument >> 32)
        guard core.pointee.slots[slot].generation == generation, let action = core.pointee.slots[slot].action else { return }  // cancelled
        releaseSlot(slot)
        switch action {
        case .closure(let body): body()
        case .resume(let continuation): continuation.resume()
        case .resumeThrowing(let continuation): continuation.resume()
        }
    }

    // MARK: async

    /// Starts a root task of the simulation. Called before `run()`, the task starts when the run
    /// starts; called during the run, it starts now. The task and everything it creates run on
    /// the simulation's thread.
    public func spawn(_ body: @escaping () async -> Void) {
        let box = UncheckedBox(value: body)
        if core.pointee.running {
            guard checkThread() else { return }
            Task { await box.value() }
        } else {
            pendingRoots.append(box)
        }
    }

    /// Suspends the calling task until virtual time `deadline` (ns). Throws `CancellationError`
    /// when the task is cancelled first.
    public func sleep(until deadline: Int64) async throws {
        try Task.checkCancellation()
        let state = SleepState()
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                if state.cancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                state.continuation = continuation
                state.timer = store(.resumeThrowing(continuation), at: Swift.max(deadline, now))
            }
        } onCancel: {
            state.cancelled = true
            if let timer = state.timer, self.cancel(timer) {
                state.continuation?.resume(throwing: CancellationError())
            }
        }
    }

    /// Suspends the calling task for `nanoseconds` of virtual time.
    public func sleep(nanoseconds: Int64) async throws {
        try await sleep(until: now &+ Swift.max(0, nanoseconds))
    }

    /// Suspends for a `Duration` of virtual time.
    public func sleep(for duration: Duration) async throws {
        try await sleep(nanoseconds: duration.nanosecondsClamped)
    }

    /// Suspends the calling task and resumes it from the event loop at the current instant,
    /// after the events already due now. The cheapest suspension point: one event, one job.
    public func yield() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            _ = store(.resume(continuation), at: now)
        }
    }

    /// A `Clock` over this simulation's virtual time, for code written against `Clock`.
    public var clock: SimClock { SimClock(simulation: self) }

    @inline(__always) func enqueueReady(_ job: UnownedJob) {
        core.pointee.ready.append(job)
    }

    // MARK: components

    /// The component of type `T` attached to this run, created by `make` on first use.
    public func component<T: AnyObject>(_ type: T.Type, make: () -> T) -> T {
        // determinism-ok: keyed by type identity for lookup only; the table is never iterated.
        let key = ObjectIdentifier(type)
        if let existing = components[key] { return unsafeDowncast(existing, to: T.self) }
        let created = make()
        components[key] = created
        return created
    }

    // MARK: checks and outcome

    /// Runs `body` synchronously as if inside this simulation (code that looks up the simulation
    /// of the calling thread, such as the SQL engine's simulated files, finds this one). For
    /// inspections after `run()` has returned: nothing may be scheduled from it.
    public func inspect<T>(_ body: () -> T) -> T {
        precondition(!core.pointee.running, "inspect is for a simulation that is not running")
        let previous = CurrentSimulation.get()
        CurrentSimulation.set(self)
        defer { CurrentSimulation.set(previous) }
        return body()
    }

    /// Called every 65,536 events with the virtual time and the event count, for a progress display.
    /// It must not touch the simulation: it only reports.
    public var onProgress: ((_ now: Int64, _ events: UInt64) -> Void)?

    /// Adds a safety checker, run after events (see `SimulationOptions.safetyCheckInterval`).
    public func add(checker: any SafetyChecker) {
        safetyCheckers.append(checker)
        checkerRunsOnChangesOnly.append(checker.runsOnChangesOnly)
        if !checker.runsOnChangesOnly { everyEventCheckers += 1 }
    }

    /// Ends the run with `outcome` after the current event. The first failure wins.
    public func fail(_ outcome: Outcome) {
        if self.outcome == nil && outcome.isFailure {
            findings.append(outcome)
            trace.noteFailure(outcome, at: now)
        }
        if self.outcome == nil {
            self.outcome = outcome
            core.pointee.stop = true
        }
    }

    /// Records a failure beside the one that ends the run (several liveness checks that all
    /// missed one deadline), without stopping the run or changing its outcome.
    public func addFinding(_ finding: Outcome) {
        guard finding.isFailure, !findings.contains(finding) else { return }
        findings.append(finding)
        trace.noteFailure(finding, at: now)
    }

    /// Ends the run after the current event with `.passed` (unless it already has an outcome):
    /// for scenarios whose goal is reached before their horizon.
    public func finish() {
        if outcome == nil { fail(.passed) }
    }

    /// Fails the run with a liveness timeout unless `condition` holds at virtual time `deadline`.
    public func expect(_ name: String, by deadline: Int64, _ condition: @escaping () -> Bool,
                       message: @escaping () -> String) {
        schedule(at: deadline) { [unowned self] in
            if !condition() { self.fail(.livenessTimeout(check: name, message: message(), at: self.now)) }
        }
    }

    /// Records an event in the trace and the fingerprint. `detail` is only built when someone
    /// reads details (ring buffer, sinks).
    public func record(_ kind: TraceKind, node: String = "-", actor: String, payload: UInt64 = 0,
                       _ detail: @autoclosure () -> String = "") {
        trace.record(time: now, kind: kind, node: node, actor: actor, payload: payload, detail: detail)
    }

    // MARK: thread discipline

    /// True when the caller is on the thread running this simulation (or the simulation is not
    /// running). A call from any other thread is counted as foreign work, and the run fails with
    /// a simulator fault after the current event.
    @inline(__always) func checkThread() -> Bool {
        guard core.pointee.running else { return true }
        if core.pointee.runningThread == pthread_self() { return true }  // pthread_t is an integer on Linux
        foreignCalls.add(1, ordering: .relaxed)
        return false
    }

    func reportRealTimeUse(_ message: String) {
        faultMessages.append(message)
        core.pointee.faultPending = true
    }

    // MARK: the run loop

    /// Runs until the horizon, an outcome, the event budget, or until nothing is left to do.
    /// Returns the outcome (`.passed` unless something failed).
    @discardableResult
    public func run() -> Outcome {
        precondition(!core.pointee.running, "Simulation.run() is not reentrant")
        let previous = CurrentSimulation.get()
        CurrentSimulation.set(self)
        core.pointee.running = true
        core.pointee.runningThread = pthread_self()
        defer {
            core.pointee.running = false
            CurrentSimulation.set(previous)
            trace.finish()
        }
        let roots = pendingRoots
        pendingRoots.removeAll()
        for root in roots { Task { await root.value() } }
        loop()
        if outcome == nil { outcome = .passed }
        // With keepGoing the run's outcome is its first finding, whatever ended it.
        if let first = findings.first, outcome != first { outcome = first }
        return outcome!
    }

    private func loop() {
        let maxTime = options.maxTime, maxEvents = options.maxEvents
        let checkInterval = Swift.max(1, options.safetyCheckInterval)
        let router = self.router
        let core = self.core
        let trace = self.trace
        let checking = !safetyCheckers.isEmpty
        let onProgress = self.onProgress
        while !core.pointee.stop {
            if core.pointee.eventCount >= maxEvents {
                fail(.outOfEvents(limit: maxEvents, at: core.pointee.now))
                break
            }
            core.pointee.eventCount &+= 1
            if core.pointee.ready.count > 0 {
                let job = core.pointee.ready.popFirst()!
                trace.fold(UInt64(bitPattern: core.pointee.now) ^ 0x4A4F_4200_0000_0000)
                ExecutorCapture.run(job, on: router)
            } else {
                let event: PendingEvent
                if core.pointee.dueNow.count > 0
                    && (core.pointee.queue.isEmpty || core.pointee.queue.storage[0].time > core.pointee.now) {
                    event = core.pointee.dueNow.popFirst()!
                } else if !core.pointee.queue.isEmpty {
                    if core.pointee.queue.storage[0].time > maxTime { core.pointee.eventCount &-= 1; break }
                    event = core.pointee.queue.pop()
                    if event.handler == Simulation.slotHandler && isCancelled(event.argument) {
                        core.pointee.eventCount &-= 1  // a cancelled timer neither counts nor moves the clock
                        continue
                    }
                    core.pointee.now = event.time
                } else {
                    core.pointee.eventCount &-= 1
                    break  // nothing left: the simulation is quiet
                }
                let index = event.handler
                // A resume event's argument is an address: fold 0 for it (determinism).
                let folded = index == core.pointee.resumeHandler ? 0 : event.argument
                trace.fold(UInt64(bitPattern: event.time) &+ event.order &* 0x9E37_79B9 ^ folded)
                core.pointee.handlers[index]._withUnsafeGuaranteedRef { $0.handle(event.argument) }
            }
            if core.pointee.faultPending || foreignCalls.load(ordering: .relaxed) != 0 {
                reportFaults()
            }
            if checking && core.pointee.eventCount % checkInterval == 0 { runSafetyCheckers() }
            if let onProgress, core.pointee.eventCount & 0xFFFF == 0 { onProgress(core.pointee.now, core.pointee.eventCount) }
        }
    }

    func runSafetyCheckers() {
        // A change-driven checker called after an event that changed nothing it reads would
        // return nil again: skip it then. A pass cut short by a finding leaves the count of the
        // last full pass as it was, so the checkers after the one that fired run after the next
        // event as they did before.
        let changes = checkerChanges.count
        let changed = changes != changesAtLastPass
        if !changed && everyEventCheckers == 0 { return }  // the common event: nothing to call
        for index in safetyCheckers.indices where changed || !checkerRunsOnChangesOnly[index] {
            let checker = safetyCheckers[index]
            if let message = checker.check(self) {
                let violation = Outcome.violation(checker: checker.name, message: message, at: now)
                if options.keepGoing {
                    // Keep the first violation of this checker, silence it, and go on.
                    findings.append(violation)
                    trace.noteFailure(violation, at: now)
                    safetyCheckers.remove(at: index)
                    if !checkerRunsOnChangesOnly.remove(at: index) { everyEventCheckers -= 1 }
                    return
                }
                fail(violation)
                return
            }
        }
        changesAtLastPass = changes
    }

    private func reportFaults() {
        let foreign = foreignCalls.load(ordering: .relaxed)
        var parts = faultMessages
        if foreign > 0 { parts.insert("\(foreign) call(s) into the simulation from a thread that is not running it (foreign work)", at: 0) }
        fail(.simulatorFault(message: parts.joined(separator: "; ")))
    }
}

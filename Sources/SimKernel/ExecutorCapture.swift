// All use of Swift's experimental executor SPI lives in this file (see docs/determinism.md):
// the SPI may change in later toolchains, and the probe tests in ExecutorCaptureTests fail
// first when it does.
@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency

#if canImport(Glibc)
import Glibc
#endif

/// The simulation running on the current thread, if any. Routing is per thread, so several
/// simulations can run at once on several threads of one process.
enum CurrentSimulation {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed with \(status)")
        return key
    }()

    @inline(__always) static func get() -> Simulation? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<Simulation>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Sets the thread's simulation; the caller keeps the simulation alive while it is set.
    static func set(_ simulation: Simulation?) {
        let pointer = simulation.map { Unmanaged.passUnretained($0).toOpaque() }
        pthread_setspecific(key, pointer)
    }
}

extension Simulation {
    /// The simulation running on the calling thread, if any (for C callbacks, such as SQLite's VFS,
    /// that cannot carry a context of their own).
    public static var current: Simulation? { CurrentSimulation.get() }
}

/// Replaces Swift's default (global) executor. A job enqueued from a thread that is running a
/// simulation goes to that simulation's ready queue; every other job goes to the original
/// executor untouched, so code outside simulations behaves as before.
final class SimulationRouter: TaskExecutor, SchedulingExecutor, @unchecked Sendable {
    let original: any TaskExecutor

    init(original: any TaskExecutor) { self.original = original }

    func enqueue(_ job: consuming ExecutorJob) {
        if let simulation = CurrentSimulation.get() {
            simulation.enqueueReady(UnownedJob(job))
        } else {
            original.enqueue(job)
        }
    }

    // determinism-ok: the detector of real-clock sleeps (it never reads real time). They land
    // here; inside a simulation that is a bug in the simulated code (real time would leak into
    // the run): report it and let the task continue at once, so the run ends with a simulator
    // fault rather than hanging.
    func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        if let simulation = CurrentSimulation.get() {
            simulation.reportRealTimeUse("Task.sleep on \(C.self) inside a simulation; use the simulation clock")  // determinism-ok: detector
            simulation.enqueueReady(UnownedJob(job))
        } else if let scheduling = original as? any SchedulingExecutor {
            scheduling.enqueue(job, at: instant, tolerance: tolerance, clock: clock)
        } else {
            original.enqueue(job)
        }
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C) {
        if let simulation = CurrentSimulation.get() {
            simulation.reportRealTimeUse("Task.sleep on \(C.self) inside a simulation; use the simulation clock")  // determinism-ok: detector
            simulation.enqueueReady(UnownedJob(job))
        } else if let scheduling = original as? any SchedulingExecutor {
            scheduling.enqueue(job, after: delay, tolerance: tolerance, clock: clock)
        } else {
            original.enqueue(job)
        }
    }
}

/// Installs the router once per process. `_createExecutors` only swaps the default and main
/// executors (a plain store), so doing it lazily, before the first simulation runs, is safe.
enum ExecutorCapture {
    nonisolated(unsafe) static var savedMain: (any MainExecutor)?
    nonisolated(unsafe) static var router: SimulationRouter?

    struct Factory: ExecutorFactory {
        static var mainExecutor: any MainExecutor { ExecutorCapture.savedMain! }
        static var defaultExecutor: any TaskExecutor { ExecutorCapture.router! }
    }

    /// Thread-safe by `static let` (swift_once).
    static let installed: SimulationRouter = {
        let router = SimulationRouter(original: Task.defaultExecutor)
        savedMain = MainActor.executor
        ExecutorCapture.router = router
        _createExecutors(factory: Factory.self)
        return router
    }()

    /// True when Swift's default executor is the router (the probe tests assert it).
    static var isRouterInstalled: Bool { Task.defaultExecutor is SimulationRouter }

    @inline(__always) static func run(_ job: UnownedJob, on router: SimulationRouter) {
        job.runSynchronously(on: router.asUnownedTaskExecutor())
    }
}

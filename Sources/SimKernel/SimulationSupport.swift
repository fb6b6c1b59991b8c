#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The run loop's hot state (see `Simulation.core`).
@usableFromInline
struct KernelCore {
    @usableFromInline var now: Int64 = 0
    @usableFromInline var eventCount: UInt64 = 0
    @usableFromInline var nextSequence: UInt64 = 0
    @usableFromInline var queue = EventQueue()
    @usableFromInline var dueNow = RingQueue<PendingEvent>()
    @usableFromInline var ready = RingQueue<UnownedJob>(capacity: 1024)
    /// The dispatch table: unmanaged, so a dispatch costs no reference counting.
    var handlers = UnsafeMutablePointer<Unmanaged<EventHandler>>.allocate(capacity: 16)
    var handlerCount = 0
    var handlerCapacity = 16
    /// Set when the run has an outcome.
    var stop = false
    var faultPending = false
    var running = false
    var runningThread: pthread_t = 0
    /// Timer actions, by slot; freed slots are reused (LIFO, so deterministic).
    var slots: [TimerSlot] = []
    var freeSlots: [UInt32] = []
    /// The handler that resumes a continuation whose address is the event's argument (registered
    /// on the first `timeout`; -1 until then). The run loop folds 0 for that argument, so the
    /// fingerprint never sees an address.
    var resumeHandler = -1
}

/// A registered event handler; held unmanaged in the dispatch table (the simulation keeps the
/// strong reference), so dispatch costs no reference counting.
/// A handler of raw events. Subclass it for the hottest paths: dispatching to a method of a
/// class costs no reference counting, while a closure's context is retained for each call.
open class EventHandler {
    public init() {}
    /// Called with the event's argument word, at the event's time, on the simulation's thread.
    open func handle(_ argument: UInt64) {}
}

final class ClosureEventHandler: EventHandler {
    let body: (UInt64) -> Void
    init(_ body: @escaping (UInt64) -> Void) { self.body = body }
    override func handle(_ argument: UInt64) { body(argument) }
}

/// Resumes the continuation whose address is the event's argument: a `timeout` costs one event
/// and no timer slot (it cannot be cancelled, so it needs none).
final class ResumeHandler: EventHandler {
    override func handle(_ argument: UInt64) {
        unsafeBitCast(UInt(truncatingIfNeeded: argument), to: UnsafeContinuation<Void, Never>.self).resume()
    }
}

/// What a timer slot runs when it fires.
enum TimerAction {
    case closure(() -> Void)
    case resume(UnsafeContinuation<Void, Never>)
    case resumeThrowing(UnsafeContinuation<Void, any Error>)
}

struct TimerSlot {
    var generation: UInt32
    var action: TimerAction?
}

/// State shared between a sleep and its cancellation handler (same thread, no races).
final class SleepState: @unchecked Sendable {
    var cancelled = false
    var timer: TimerID?
    var continuation: UnsafeContinuation<Void, any Error>?
}

/// A `Clock` whose time is a simulation's virtual time. `sleep` suspends in virtual time.
public struct SimClock: Clock {
    public typealias Instant = SimInstant
    public typealias Duration = Swift.Duration
    let simulation: Simulation
    public init(simulation: Simulation) { self.simulation = simulation }
    public var now: SimInstant { SimInstant(nanoseconds: simulation.now) }
    public var minimumResolution: Swift.Duration { .nanoseconds(1) }
    public func sleep(until deadline: SimInstant, tolerance: Swift.Duration? = nil) async throws {
        try await simulation.sleep(until: deadline.nanoseconds)
    }
}

/// A safety invariant, checked after events. Return a message when it is broken.
public protocol SafetyChecker: AnyObject {
    var name: String { get }
    /// Whether the checker reads only state that notes its changes in `Simulation.checkerChanges`
    /// (the platform's observation objects and the nodes' state, epoch and memory) and judges
    /// nothing by the clock alone. Such a checker runs only after events that changed something:
    /// called after an event that changed nothing, it would return nil again. Default: false
    /// (after every event).
    var runsOnChangesOnly: Bool { get }
    func check(_ simulation: Simulation) -> String?
}

extension SafetyChecker {
    public var runsOnChangesOnly: Bool { false }
}

/// A count of changes to what change-driven safety checkers read (see
/// `SafetyChecker.runsOnChangesOnly`). Observation objects and nodes call `note()` on every
/// change; the run loop compares the count after each event with the one of the last full pass.
public final class ChangeCounter {
    public private(set) var count: UInt64 = 0
    public init() {}
    /// Records one change.
    @inline(__always) public func note() { count &+= 1 }
}

/// A safety checker from a closure.
public final class ClosureChecker: SafetyChecker {
    public let name: String
    let body: (Simulation) -> String?
    public init(_ name: String, _ body: @escaping (Simulation) -> String?) {
        self.name = name
        self.body = body
    }
    public func check(_ simulation: Simulation) -> String? { body(simulation) }
}

/// Discrete-event primitives as SimPy users know them, in Swift concurrency terms: a process is a
/// task of the simulation; `timeout` is SimPy's `env.timeout`; `SimResource` its `Resource`
/// (slots shared first come, first served), `SimStore` its `Store` (items, FIFO), `SimContainer`
/// its `Container` (an amount between 0 and a capacity). All of them live on the simulation's
/// thread: waiters resume in the order they began to wait, so a run is a function of its seed.
extension Simulation {
    /// Suspends the calling task for `nanoseconds` of virtual time (SimPy's `timeout`). Cheaper
    /// than `sleep`, and not cancellable: for models whose processes are never cancelled.
    public func timeout(_ nanoseconds: Int64) async {
        let handler = core.pointee.resumeHandler >= 0 ? core.pointee.resumeHandler : registerResumeHandler()
        let time = now &+ Swift.max(0, nanoseconds)
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            // determinism-ok: the address only travels in the event; the loop folds 0 for it.
            push(time: time, handler: handler, argument: UInt64(unsafeBitCast(continuation, to: UInt.self)))
        }
    }

    private func registerResumeHandler() -> Int {
        let id = register(handler: ResumeHandler())
        core.pointee.resumeHandler = id.index
        return id.index
    }

    /// Starts a process (SimPy's `env.process`) and runs it at once, on the calling thread, up to
    /// its first suspension; the caller goes on after that, at the same virtual time. Cheaper than
    /// `spawn` during a run (no start job): for discrete-event models with a process per entity.
    /// Before `run()`, it is `spawn`.
    public func process(_ body: @escaping () async -> Void) {
        guard core.pointee.running else { return spawn(body) }
        guard checkThread() else { return }
        let box = UncheckedBox(value: body)
        Task.immediate { await box.value() }
    }
}

/// A first-in-first-out queue of waiting tasks (an array and a head index: no shifting).
struct Waiters<Element> {
    private var items: [Element] = []
    private var head = 0
    var isEmpty: Bool { head == items.count }
    var count: Int { items.count - head }
    mutating func append(_ item: Element) { items.append(item) }
    mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count {  // drop the consumed prefix now and then
            items.removeFirst(head)
            head = 0
        }
        return item
    }
    var first: Element? { head < items.count ? items[head] : nil }
}

/// SimPy's `Resource`: `capacity` slots; `request()` takes one, waiting first come, first served
/// while all are in use; `release()` hands the slot to the longest waiter, or frees it.
public final class SimResource: @unchecked Sendable {  // confined to its simulation's thread
    public let capacity: Int
    /// Slots taken now.
    public private(set) var inUse = 0
    private var waiting = Waiters<UnsafeContinuation<Void, Never>>()
    /// Tasks waiting for a slot.
    public var queueLength: Int { waiting.count }

    public init(capacity: Int) {
        precondition(capacity >= 1, "a resource has at least one slot, got \(capacity)")
        self.capacity = capacity
    }

    /// Takes a slot, waiting for one when all are in use.
    public func request() async {
        if inUse < capacity {
            inUse += 1
            return
        }
        await withUnsafeContinuation { waiting.append($0) }
    }

    /// Gives a slot back: to the longest waiter (who then holds it), or to the pool.
    public func release() {
        precondition(inUse > 0, "release of a resource nobody holds")
        if let next = waiting.popFirst() { next.resume() } else { inUse -= 1 }
    }
}

/// SimPy's `Store`: items in FIFO order, at most `capacity` of them; `put` waits while it is
/// full, `get` while it is empty.
public final class SimStore<Item: Sendable>: @unchecked Sendable {  // confined to its simulation's thread
    public let capacity: Int
    private var items = Waiters<Item>()
    private var getters = Waiters<UnsafeContinuation<Item, Never>>()
    private var putters = Waiters<(Item, UnsafeContinuation<Void, Never>)>()
    public var count: Int { items.count }

    public init(capacity: Int = Int.max) {
        precondition(capacity >= 1, "a store holds at least one item, got \(capacity)")
        self.capacity = capacity
    }

    /// Adds `item`, waiting while the store is full.
    public func put(_ item: Item) async {
        if let getter = getters.popFirst() {  // someone waits: the item goes straight to them
            getter.resume(returning: item)
            return
        }
        if items.count < capacity {
            items.append(item)
            return
        }
        await withUnsafeContinuation { putters.append((item, $0)) }
    }

    /// Takes the oldest item, waiting while the store is empty.
    public func get() async -> Item {
        if let item = items.popFirst() {
            if let (waitingItem, putter) = putters.popFirst() {  // room now: the longest putter's item goes in
                items.append(waitingItem)
                putter.resume()
            }
            return item
        }
        return await withUnsafeContinuation { getters.append($0) }
    }
}

/// SimPy's `Container`: an amount between 0 and `capacity`; `put(n)` waits until it fits,
/// `get(n)` until there is that much. Waiters are served in order: a large `get` at the head
/// is not overtaken by smaller ones behind it.
public final class SimContainer: @unchecked Sendable {  // confined to its simulation's thread
    public let capacity: Int
    public private(set) var level: Int
    private var getters = Waiters<(Int, UnsafeContinuation<Void, Never>)>()
    private var putters = Waiters<(Int, UnsafeContinuation<Void, Never>)>()

    public init(capacity: Int, level: Int = 0) {
        precondition(capacity >= 1 && (0 ... capacity).contains(level), "a container needs capacity >= 1 and 0 <= level <= capacity, got \(capacity), \(level)")
        self.capacity = capacity
        self.level = level
    }

    public func put(_ amount: Int) async {
        precondition((1 ... capacity).contains(amount), "put of \(amount) into a container of \(capacity)")
        if putters.isEmpty && level + amount <= capacity {
            level += amount
            serve()
            return
        }
        await withUnsafeContinuation { putters.append((amount, $0)) }
    }

    public func get(_ amount: Int) async {
        precondition((1 ... capacity).contains(amount), "get of \(amount) from a container of \(capacity)")
        if getters.isEmpty && level >= amount {
            level -= amount
            serve()
            return
        }
        await withUnsafeContinuation { getters.append((amount, $0)) }
    }

    /// Lets waiters through, each queue in order, while their heads fit.
    private func serve() {
        var progressed = true
        while progressed {
            progressed = false
            if let (amount, putter) = putters.first, level + amount <= capacity {
                _ = putters.popFirst()
                level += amount
                putter.resume()
                progressed = true
            }
            if let (amount, getter) = getters.first, level >= amount {
                _ = getters.popFirst()
                level -= amount
                getter.resume()
                progressed = true
            }
        }
    }
}

extension KernelBenchmark {
    /// An M/M/1 queue written the way SimPy writes it: an arrival process that starts one process
    /// per customer, and a FIFO `SimResource` of capacity 1 as the server; arrivals at rate
    /// `arrivalRate`, service at rate `serviceRate` (per virtual second). Returns the customers
    /// served per wall second and their mean time in system (virtual seconds; 1 / (mu - lambda)
    /// in theory: 10 s at 0.9 and 1.0).
    public static func mm1(customers: Int, seed: UInt64 = 1, arrivalRate: Double = 0.9, serviceRate: Double = 1.0) -> (customersPerSecond: Double, meanTimeInSystem: Double, served: Int) {
        var options = SimulationOptions()
        options.maxTime = Int64.max
        options.maxEvents = UInt64.max
        options.traceRingCapacity = 0
        let simulation = Simulation(seed: seed, options: options)
        let server = SimResource(capacity: 1)
        let meanGap = Int64(1e9 / arrivalRate), meanService = Int64(1e9 / serviceRate)
        var served = 0
        var timeInSystem: Int64 = 0
        // Two seeded streams, drawn from directly (as SimPy's model draws from one `random.Random`).
        var arrivals = simulation.random(stream: "arrivals"), service = simulation.random(stream: "service")
        simulation.spawn {
            for _ in 0 ..< customers {
                await simulation.timeout(arrivals.exponential(meanNanoseconds: meanGap))
                simulation.process {  // the customer
                    let arrived = simulation.now
                    await server.request()
                    await simulation.timeout(service.exponential(meanNanoseconds: meanService))
                    server.release()
                    timeInSystem &+= simulation.now - arrived
                    served += 1
                }
            }
        }
        let start = wallSeconds()
        _ = simulation.run()
        let seconds = wallSeconds() - start
        return (Double(served) / seconds, Double(timeInSystem) / Double(Swift.max(served, 1)) / 1e9, served)
    }
}

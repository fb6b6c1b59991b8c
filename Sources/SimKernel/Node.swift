/// Identifies a node of a simulation (its index in creation order).
public struct NodeID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.index < rhs.index }
    public var description: String { "n\(index)" }
}

/// The life state of a node.
public enum NodeState: String, Sendable, Codable {
    /// Running its processes.
    case up
    /// Stopped: processes gone, unsynced disk data lost, messages to it lost.
    case crashed
    /// Frozen (a GC pause, a SIGSTOP): nothing of it runs; its timers and messages wait.
    case paused
}

/// Why a node went down.
public enum CrashReason: String, Sendable, Codable {
    case killed
    case outOfMemory = "out_of_memory"
}

/// A node's view of time over the one true virtual time: a fixed offset (skew), a rate error
/// (drift, in parts per million) and jumps (an NTP step, a VM migration).
public struct NodeClock: Hashable, Sendable, Codable {
    /// Nanoseconds added to true time.
    public var offset: Int64 = 0
    /// Parts per million the clock runs fast (positive) or slow (negative).
    public var driftPPM: Int64 = 0

    public init(offset: Int64 = 0, driftPPM: Int64 = 0) {
        self.offset = offset
        self.driftPPM = driftPPM
    }

    /// The local reading at true time `trueTime`: the drift is `trueTime * driftPPM / 10^6`,
    /// computed at full width and truncated, so a clock that runs slow (down to -10^6 ppm) never
    /// reads less than it read before. (Drift charged per whole millisecond, as it was until
    /// 2026-12-07, stepped a slow clock back at every millisecond boundary; no scenario set one.)
    public func reading(at trueTime: Int64) -> Int64 {
        let drift = driftPPM == 0 ? 0 : Int64(1_000_000).dividingFullWidth(trueTime.multipliedFullWidth(by: driftPPM)).quotient
        return trueTime &+ offset &+ drift
    }
}

/// A simulated machine: a name, a clock, a disk, a memory budget and processes built by factory
/// closures. Crash and restart rebuild the processes from what the disk made durable.
public final class Node: @unchecked Sendable {
    public let id: NodeID
    public let name: String
    unowned let simulation: Simulation
    @exclusivity(unchecked) public private(set) var state: NodeState = .up { didSet { simulation.checkerChanges.note() } }
    /// Increments on every crash; contexts of an older epoch are dead.
    @exclusivity(unchecked) public private(set) var epoch: UInt64 = 0 { didSet { simulation.checkerChanges.note() } }
    /// Bytes the node may use before it is killed for running out of memory.
    @exclusivity(unchecked) public var memoryBudget: Int { didSet { simulation.checkerChanges.note() } }
    /// Bytes currently allocated by the node's processes.
    @exclusivity(unchecked) public private(set) var memoryUsed: Int = 0 { didSet { simulation.checkerChanges.note() } }
    @exclusivity(unchecked) public var clock: NodeClock
    public let disk: SimDisk
    @exclusivity(unchecked) public private(set) var crashCount = 0 { didSet { simulation.checkerChanges.note() } }
    @exclusivity(unchecked) public private(set) var lastCrashReason: CrashReason? { didSet { simulation.checkerChanges.note() } }
    /// When the node last came up (0: it has run since the start).
    @exclusivity(unchecked) public private(set) var restartedAt: Int64 = 0 { didSet { simulation.checkerChanges.note() } }
    @exclusivity(unchecked) var processes: [(name: String, body: (ProcessContext) async -> Void)] = []
    @exclusivity(unchecked) var pausedWork: [() -> Void] = []
    @exclusivity(unchecked) var crashHooks: [(Node) -> Void] = []

    init(id: NodeID, name: String, simulation: Simulation, memoryBudget: Int, disk: DiskOptions) {
        self.id = id
        self.name = name
        self.simulation = simulation
        self.memoryBudget = memoryBudget
        self.clock = NodeClock()
        self.disk = SimDisk(options: disk)
    }

    /// The node's local clock reading now.
    public var localTime: Int64 { clock.reading(at: simulation.now) }

    /// Adds a process. Its body runs now if the node is up and the simulation running, at the
    /// start of the run otherwise, and again after every restart.
    public func addProcess(_ name: String, _ body: @escaping (ProcessContext) async -> Void) {
        processes.append((name, body))
        if state == .up { start(processAt: processes.count - 1) }
    }

    private func start(processAt index: Int) {
        let (name, body) = processes[index]
        let context = ProcessContext(simulation: simulation, node: self, epoch: epoch, name: name)
        simulation.record(.processStart, node: self.name, actor: name, payload: epoch, "epoch \(epoch)")
        simulation.spawn { await body(context) }
    }

    /// Runs code when this node crashes (components drop their state for it).
    public func onCrash(_ hook: @escaping (Node) -> Void) { crashHooks.append(hook) }

    /// Crashes the node: its processes stop for good, unsynced disk data is lost or torn (as the
    /// seed decides), memory is freed, and messages to it are lost until it restarts.
    public func crash(reason: CrashReason = .killed) {
        guard state != .crashed else { return }
        state = .crashed
        epoch &+= 1
        crashCount += 1
        lastCrashReason = reason
        memoryUsed = 0
        pausedWork.removeAll()
        var random = simulation.random(stream: "disk-crash/\(name)/\(crashCount)")
        let report = disk.crash(random: &random)
        simulation.record(.nodeCrash, node: name, actor: "kernel", payload: UInt64(crashCount),
                          "\(reason.rawValue); disk: \(report)")
        for hook in crashHooks { hook(self) }
    }

    /// Restarts a crashed node: every process is rebuilt by its factory from the durable disk.
    public func restart() {
        guard state == .crashed else { return }
        state = .up
        restartedAt = simulation.now
        simulation.record(.nodeRestart, node: name, actor: "kernel", payload: epoch, "epoch \(epoch)")
        for index in processes.indices { start(processAt: index) }
    }

    /// Freezes the node: nothing of it runs until `resume()`.
    public func pause() {
        guard state == .up else { return }
        state = .paused
        simulation.record(.nodePause, node: name, actor: "kernel")
    }

    /// Unfreezes the node; work that came due while paused runs now, in order.
    public func resume() {
        guard state == .paused else { return }
        state = .up
        simulation.record(.nodeResume, node: name, actor: "kernel", payload: UInt64(pausedWork.count))
        let work = pausedWork
        pausedWork.removeAll()
        for item in work { item() }
    }

    /// Moves the clock by `delta` ns (a jump, forward or back).
    public func jumpClock(by delta: Int64) {
        clock.offset &+= delta
        simulation.record(.clockJump, node: name, actor: "kernel", payload: UInt64(bitPattern: delta), "by \(formatNanoseconds(delta))")
    }

    /// Runs `work` for a process of epoch `epoch`: dropped when the node crashed since, deferred
    /// while the node is paused.
    func deliver(epoch: UInt64, _ work: @escaping () -> Void) {
        guard epoch == self.epoch else { return }
        switch state {
        case .up: work()
        case .paused: pausedWork.append(work)
        case .crashed: return
        }
    }

    /// Allocates `bytes` for a process. Going over the budget kills the node (OOM) and throws.
    public func allocate(bytes: Int, by actor: String) throws(NodeError) {
        guard state != .crashed else { throw .crashed(node: name) }
        memoryUsed += bytes
        if memoryUsed > memoryBudget {
            let used = memoryUsed
            simulation.record(.outOfMemory, node: name, actor: actor, payload: UInt64(used),
                              "\(used) bytes > budget \(memoryBudget)")
            crash(reason: .outOfMemory)
            throw .outOfMemory(node: name, used: used, budget: memoryBudget)
        }
    }

    /// Returns memory to the node.
    public func free(bytes: Int) {
        memoryUsed = Swift.max(0, memoryUsed - bytes)
    }
}

/// Errors a node reports to its processes.
public enum NodeError: Error, Hashable, Sendable, CustomStringConvertible {
    case crashed(node: String)
    case outOfMemory(node: String, used: Int, budget: Int)

    public var description: String {
        switch self {
        case .crashed(let node): return "node \(node) is crashed"
        case .outOfMemory(let node, let used, let budget): return "node \(node) out of memory: \(used) > \(budget) bytes"
        }
    }
}

/// What a process sees of the simulation: its node, its epoch, time, sleep, the network, the
/// disk, locks. Operations of a process whose node crashed since it started never return: the
/// process is gone, as a killed process is.
public struct ProcessContext: @unchecked Sendable {
    public let simulation: Simulation
    public let node: Node
    public let epoch: UInt64
    public let name: String

    /// True while the node is up or paused and has not crashed since this process started.
    public var isAlive: Bool { node.epoch == epoch && node.state != .crashed }

    /// The node's local clock (skewed, drifting), in ns.
    public var localTime: Int64 { node.localTime }
    /// The true virtual time, in ns (for traces; services should read `localTime`).
    public var trueTime: Int64 { simulation.now }

    /// Suspends the process for `nanoseconds` of virtual time.
    public func sleep(nanoseconds: Int64) async {
        await suspend(until: simulation.now &+ Swift.max(0, nanoseconds))
    }

    /// Suspends the process for `duration` of virtual time.
    public func sleep(for duration: Duration) async {
        await sleep(nanoseconds: duration.nanosecondsClamped)
    }

    /// Suspends until true virtual time `deadline`.
    public func suspend(until deadline: Int64) async {
        let node = self.node, epoch = self.epoch, simulation = self.simulation
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            guard node.epoch == epoch else { return }  // dead process: never resumes
            simulation.schedule(at: Swift.max(deadline, simulation.now)) {
                node.deliver(epoch: epoch) { continuation.resume() }
            }
        }
    }

    /// Suspends forever if the process is dead; returns at once otherwise. Call after anything
    /// that may have crashed the node (an allocation, a disk write) to stop the dead process.
    public func haltIfDead() async {
        if isAlive { return }
        await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
    }

    /// Records a trace event attributed to this process.
    public func record(_ kind: TraceKind, payload: UInt64 = 0, _ detail: @autoclosure () -> String = "") {
        simulation.record(kind, node: node.name, actor: name, payload: payload, detail())
    }

    /// Draws from this process's own stream, derived from (seed, node, process name).
    public func withRandom<T>(_ body: (inout SimRandom) -> T) -> T {
        simulation.withRandom(stream: "process/\(node.name)/\(name)", body)
    }
}

/// The nodes of a simulation, in creation order.
final class NodeRegistry {
    @exclusivity(unchecked) var nodes: [Node] = []
    @exclusivity(unchecked) var byName: [String: Int] = [:]
}

extension Simulation {
    var nodeRegistry: NodeRegistry {
        if let cachedNodeRegistry { return cachedNodeRegistry }
        let registry = component(NodeRegistry.self) { NodeRegistry() }
        cachedNodeRegistry = registry
        return registry
    }

    /// Adds a node. Names are unique.
    @discardableResult
    public func addNode(_ name: String, memoryBudget: Int = 1 << 34, disk: DiskOptions = DiskOptions()) -> Node {
        let registry = nodeRegistry
        precondition(registry.byName[name] == nil, "duplicate node name \(name)")
        let node = Node(id: NodeID(registry.nodes.count), name: name, simulation: self,
                        memoryBudget: memoryBudget, disk: disk)
        node.disk.seedFaults(random(stream: "disk-faults/\(name)"))
        registry.byName[name] = registry.nodes.count
        registry.nodes.append(node)
        return node
    }

    /// All nodes, in creation order.
    public var nodes: [Node] { nodeRegistry.nodes }

    /// The node called `name`.
    public func node(named name: String) -> Node? { nodeRegistry.byName[name].map { nodeRegistry.nodes[$0] } }

    public func node(_ id: NodeID) -> Node { nodeRegistry.nodes[id.index] }
}

extension TraceKind {
    public static let processStart = TraceKind("process.start")
    public static let nodeCrash = TraceKind("node.crash")
    public static let nodeRestart = TraceKind("node.restart")
    public static let nodePause = TraceKind("node.pause")
    public static let nodeResume = TraceKind("node.resume")
    public static let clockJump = TraceKind("clock.jump")
    public static let outOfMemory = TraceKind("node.oom")
}

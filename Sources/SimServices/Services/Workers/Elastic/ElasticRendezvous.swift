import SimKernel

/// The members of an elastic job at one generation: a worker's rank is its place in `members`.
public struct RendezvousState: Sendable, Equatable {
    public var generation: Int
    public var members: [String]

    public init(generation: Int, members: [String]) {
        self.generation = generation
        self.members = members
    }

    /// `generation|a,b,c`, the value kept in Consul's KV store.
    public var encoded: String { "\(generation)|" + members.joined(separator: ",") }

    public init?(encoded text: String) {
        let parts = text.splitBytes("|", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let generation = Int(parts[0]) else { return nil }
        self.generation = generation
        members = parts[1].isEmpty ? [] : parts[1].splitBytes(",").map(String.init)
    }

    public func rank(of worker: String) -> Int? { members.firstIndex(of: worker) }
}

/// The elastic job's rendezvous (torchelastic's etcd rendezvous, on Consul's KV store): one key
/// holds the generation and the ordered members. Every change (join, leave, eviction of a dead
/// member) reads the key and writes the next generation with compare-and-set on the index it
/// read, retrying when another change got in between: changes are serialised, and ranks are the
/// members' places, without duplicates or gaps.
///
/// Defect A5 (`compareAndSet: false`): the new state is written blindly. Two workers joining at
/// once both read generation g and both write g + 1 with themselves at the same rank; the later
/// write erases the earlier join.
public struct ElasticRendezvous: Sendable {
    public let consul: ConsulClient
    public let job: String
    public let compareAndSet: Bool

    public init(consul: ConsulClient, job: String, compareAndSet: Bool = true) {
        self.consul = consul
        self.job = job
        self.compareAndSet = compareAndSet
    }

    var key: String { "elastic/\(job)/rendezvous" }
    var doneKey: String { "elastic/\(job)/done" }

    /// The current state and its modify index (0 and generation 0 when never written), or nil when
    /// Consul does not answer.
    public func read(context: ProcessContext) async -> (state: RendezvousState, index: UInt64)? {
        guard case .success(.value(let value, let index, _)) = await consul.request(.kvGet(key), context: context) else { return nil }
        return (value.flatMap(RendezvousState.init(encoded:)) ?? RendezvousState(generation: 0, members: []), index)
    }

    /// Applies `change` to the current state until a write of its result gets through; returns
    /// the state written, or the current one when `change` leaves it as it is (nil).
    func update(context: ProcessContext, _ change: (RendezvousState) -> RendezvousState?) async -> RendezvousState {
        while true {
            if let (state, index) = await read(context: context) {
                guard let next = change(state) else { return state }
                let written = await consul.request(.kvPut(key, next.encoded, cas: compareAndSet ? index : nil), context: context)
                if case .success(.bool(true)) = written { return next }
            }
            await context.sleep(nanoseconds: context.withRandom { $0.uniform(5 * Nanos.millisecond ... 40 * Nanos.millisecond) })
        }
    }

    /// Joins (or joins again after a restart): the next generation with `worker` last.
    public func join(_ worker: String, context: ProcessContext) async -> RendezvousState {
        await update(context: context) { state in
            RendezvousState(generation: state.generation + 1, members: state.members.filter { $0 != worker } + [worker])
        }
    }

    /// Leaves: the next generation without `worker` (nothing when it is not a member).
    public func leave(_ worker: String, context: ProcessContext) async -> RendezvousState {
        await update(context: context) { state in
            state.members.contains(worker) ? RendezvousState(generation: state.generation + 1, members: state.members.filter { $0 != worker }) : nil
        }
    }

    /// Evicts a member found dead in `generation`; nothing when the membership moved on since.
    public func evict(_ worker: String, seenIn generation: Int, context: ProcessContext) async -> RendezvousState {
        await update(context: context) { state in
            state.generation == generation && state.members.contains(worker)
                ? RendezvousState(generation: state.generation + 1, members: state.members.filter { $0 != worker }) : nil
        }
    }

    /// The checkpoint generation `generation` resumes from, agreed by its members: the first to
    /// propose (compare-and-set on an absent key) decides, the others take its choice, so every
    /// member starts from the same parameters and step. `""` stands for "from scratch". Nil when
    /// Consul does not answer. `decided` tells whether this call's proposal was the one taken.
    public func agreeOnResume(generation: Int, proposal: () async -> String??, context: ProcessContext) async -> (manifest: String, decided: Bool)? {
        let key = "elastic/\(job)/resume-g\(generation)"
        while true {
            guard case .success(.value(let value, _, _)) = await consul.request(.kvGet(key), context: context) else { return nil }
            if let value { return (value, false) }
            guard let proposed = await proposal() else { return nil }
            let written = await consul.request(.kvPut(key, proposed ?? "", cas: 0), context: context)
            guard case .success(.bool(let taken)) = written else { return nil }
            if taken { return (proposed ?? "", true) }
        }
    }

    /// The step the job completed at, when it has.
    public func completedStep(context: ProcessContext) async -> Int? {
        guard case .success(.value(let value?, _, _)) = await consul.request(.kvGet(doneKey), context: context) else { return nil }
        return Int(value)
    }

    /// Marks the job completed at `step` (every finishing worker writes it; the same value).
    public func markCompleted(step: Int, context: ProcessContext) async {
        while true {
            if case .success(.bool(true)) = await consul.request(.kvPut(doneKey, "\(step)", cas: nil), context: context) { return }
            await context.sleep(nanoseconds: 50 * Nanos.millisecond)
        }
    }
}

/// Named locks with shared and exclusive modes, FIFO waiters, acquisition timeouts, leases with
/// TTL, fencing tokens that only ever increase, and deadlock detection over the wait-for graph.
///
/// Wait-for edges: a waiter waits for every holder whose mode conflicts with its request, and
/// (because grants are strictly FIFO) for every conflicting waiter queued ahead of it. A cycle in
/// that graph can never resolve by itself; a chain that ends in a running owner always can, so
/// long chains are never reported.
public final class LockManager {
    public enum Mode: String, Sendable, Codable {
        case shared, exclusive
        func conflicts(with other: Mode) -> Bool { self == .exclusive || other == .exclusive }
    }

    /// What the manager does when a new wait closes a cycle.
    public enum DeadlockPolicy: Sendable {
        /// End the run with `Outcome.deadlock` naming the cycle (the default: a deadlock is a bug).
        case failRun
        /// Throw `LockError.deadlock` to the requester that closed the cycle, as PostgreSQL does.
        case abortRequester
    }

    /// A granted lock.
    public struct Grant: Hashable, Sendable {
        public var resource: String
        public var owner: String
        public var mode: Mode
        /// Fencing token: strictly greater than every token granted before, on any resource.
        public var token: UInt64
        public var grantedAt: Int64
        /// When the lease ends, if the lock was taken with a TTL.
        public var expiresAt: Int64?
    }

    struct Waiter {
        var id: UInt64
        var owner: String
        var mode: Mode
        var since: Int64
        var lease: Int64?
        var continuation: UnsafeContinuation<Result<Grant, LockError>, Never>
        var timer: TimerID?
        var isAlive: () -> Bool
        var deliver: (@escaping () -> Void) -> Void
    }

    final class Resource {
        var holders: [Grant] = []
        var waiters: [Waiter] = []
    }

    unowned let simulation: Simulation
    public var deadlockPolicy: DeadlockPolicy = .failRun
    var resources: [String: Resource] = [:]
    /// owner -> resource it is waiting for.
    var waitingFor: [String: String] = [:]
    var nextToken: UInt64 = 0
    var nextWaiterID: UInt64 = 0
    var leaseTimers: [UInt64: TimerID] = [:]
    /// Holds and waits mirrored from an external lock system (`ExternalLocks.swift`).
    var externalHolds: [String: [ExternalHold]] = [:]
    var externalWaits: [String: ExternalWait] = [:]
    /// Deadlocks found so far (with `.abortRequester` the run goes on).
    public internal(set) var deadlocksDetected: [DeadlockCycle] = []

    init(simulation: Simulation) { self.simulation = simulation }

    /// Current holders of `resource`, in grant order.
    public func holders(of resource: String) -> [Grant] { resources[resource]?.holders ?? [] }

    /// Owners waiting for `resource`, in queue order.
    public func waiters(of resource: String) -> [String] { resources[resource]?.waiters.map(\.owner) ?? [] }

    /// Resources `owner` holds, sorted.
    public func resourcesHeld(by owner: String) -> [String] {
        (resources.filter { $0.value.holders.contains { $0.owner == owner } }.map(\.key) + externalResourcesHeld(by: owner)).sorted()
    }

    /// Takes the lock now if it can be granted without waiting.
    public func tryAcquire(_ resource: String, mode: Mode, owner: String, lease: Int64? = nil) -> Grant? {
        let state = resources[resource] ?? Resource()
        resources[resource] = state
        guard state.waiters.isEmpty, compatible(mode, owner: owner, with: state.holders) else { return nil }
        return grant(resource, state: state, owner: owner, mode: mode, lease: lease)
    }

    /// Acquires `resource` in `mode` for `owner`, waiting in FIFO order. Fails with `.timeout` after
    /// `timeout` ns, or `.deadlock` when the wait closes a cycle under `.abortRequester`.
    /// `lease` gives the grant a TTL: it is released automatically when the TTL runs out.
    public func acquire(_ resource: String, mode: Mode, owner: String, timeout: Int64? = nil, lease: Int64? = nil,
                        isAlive: @escaping () -> Bool = { true },
                        deliver: @escaping (@escaping () -> Void) -> Void = { $0() }) async -> Result<Grant, LockError> {
        if let granted = tryAcquire(resource, mode: mode, owner: owner, lease: lease) { return .success(granted) }
        return await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<Grant, LockError>, Never>) in
            nextWaiterID += 1
            let id = nextWaiterID
            let state = resources[resource]!
            var waiter = Waiter(id: id, owner: owner, mode: mode, since: simulation.now, lease: lease,
                                continuation: continuation, timer: nil, isAlive: isAlive, deliver: deliver)
            if let timeout {
                waiter.timer = simulation.schedule(after: timeout) { [unowned self] in self.expireWait(resource, id: id) }
            }
            state.waiters.append(waiter)
            waitingFor[owner] = resource
            record(.lockWait, owner: owner, payload: stableHash(resource), "\(resource) \(mode.rawValue)")
            if let cycle = findCycle(from: owner) {
                deadlocksDetected.append(cycle)
                record(.lockDeadlock, owner: owner, payload: UInt64(cycle.members.count), cycle.description)
                switch deadlockPolicy {
                case .failRun:
                    simulation.fail(.deadlock(cycle))
                case .abortRequester:
                    removeWaiter(resource, id: id)
                    continuation.resume(returning: .failure(.deadlock(cycle)))
                }
            }
        }
    }

    /// Releases `owner`'s hold on `resource`. Fails when it holds nothing there (for example after
    /// its lease expired).
    @discardableResult
    public func release(_ resource: String, owner: String) -> Result<Void, LockError> {
        guard let state = resources[resource], let index = state.holders.firstIndex(where: { $0.owner == owner }) else {
            return .failure(.notHolder(resource: resource, owner: owner))
        }
        let grant = state.holders.remove(at: index)
        if let timer = leaseTimers.removeValue(forKey: grant.token) { simulation.cancel(timer) }
        record(.lockRelease, owner: owner, payload: grant.token, "\(resource) token \(grant.token)")
        grantWaiters(resource, state: state)
        return .success(())
    }

    /// Releases the grant only if it is still the current one (same token).
    @discardableResult
    public func release(_ grant: Grant) -> Result<Void, LockError> {
        guard let state = resources[grant.resource], state.holders.contains(where: { $0.token == grant.token }) else {
            return .failure(.staleToken(resource: grant.resource, token: grant.token))
        }
        return release(grant.resource, owner: grant.owner)
    }

    /// Releases every lock `owner` holds and drops its waits (its process died).
    public func releaseAll(owner: String) {
        releaseAll { $0 == owner }
    }

    /// Releases every lock held by owners whose name starts with `prefix`, and drops their waits:
    /// what a lock service does when a node's session ends (Consul invalidates the session of a
    /// node that died, and its locks go with it).
    public func releaseAll(ownersWithPrefix prefix: String) {
        releaseAll { $0.hasPrefix(prefix) }
    }

    private func releaseAll(where matches: (String) -> Bool) {
        for resource in resources.keys.sorted() {
            let state = resources[resource]!
            while let index = state.waiters.firstIndex(where: { matches($0.owner) }) {
                let waiter = state.waiters.remove(at: index)
                if let timer = waiter.timer { simulation.cancel(timer) }
                waitingFor[waiter.owner] = nil
            }
            for holder in state.holders.filter({ matches($0.owner) }) { release(resource, owner: holder.owner) }
            grantWaiters(resource, state: state)
        }
    }

    // MARK: internals

    /// Records a lock event on the owner's node when the owner is named `node/...`.
    func record(_ kind: TraceKind, owner: String, payload: UInt64, _ detail: @autoclosure () -> String) {
        let node = owner.firstIndex(of: "/").map { String(owner[..<$0]) } ?? "-"
        simulation.record(kind, node: simulation.node(named: node) == nil ? "-" : node, actor: owner, payload: payload, detail())
    }

    private func compatible(_ mode: Mode, owner: String, with holders: [Grant]) -> Bool {
        holders.allSatisfy { $0.owner == owner ? false : !mode.conflicts(with: $0.mode) }
    }

    private func grant(_ resource: String, state: Resource, owner: String, mode: Mode, lease: Int64?) -> Grant {
        nextToken += 1
        let token = nextToken
        let expires = lease.map { simulation.now &+ $0 }
        let granted = Grant(resource: resource, owner: owner, mode: mode, token: token, grantedAt: simulation.now, expiresAt: expires)
        state.holders.append(granted)
        if let lease {
            leaseTimers[token] = simulation.schedule(after: lease) { [unowned self] in self.expireLease(resource, token: token) }
        }
        record(.lockAcquire, owner: owner, payload: token,
                          "\(resource) \(mode.rawValue) token \(token)" + (expires.map { " lease until \(formatNanoseconds($0))" } ?? ""))
        return granted
    }

    /// Grants queued waiters in FIFO order while they are compatible with the holders.
    private func grantWaiters(_ resource: String, state: Resource) {
        while let first = state.waiters.first {
            if !first.isAlive() {
                state.waiters.removeFirst()
                if let timer = first.timer { simulation.cancel(timer) }
                waitingFor[first.owner] = nil
                continue
            }
            guard compatible(first.mode, owner: first.owner, with: state.holders) else { return }
            state.waiters.removeFirst()
            if let timer = first.timer { simulation.cancel(timer) }
            waitingFor[first.owner] = nil
            let granted = grant(resource, state: state, owner: first.owner, mode: first.mode, lease: first.lease)
            let continuation = first.continuation
            first.deliver { continuation.resume(returning: .success(granted)) }
        }
    }

    private func removeWaiter(_ resource: String, id: UInt64) {
        guard let state = resources[resource], let index = state.waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = state.waiters.remove(at: index)
        if let timer = waiter.timer { simulation.cancel(timer) }
        waitingFor[waiter.owner] = nil
        grantWaiters(resource, state: state)  // those behind it may now go
    }

    private func expireWait(_ resource: String, id: UInt64) {
        guard let state = resources[resource], let index = state.waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = state.waiters[index]
        let waited = simulation.now - waiter.since
        record(.lockTimeout, owner: waiter.owner, payload: stableHash(resource), "\(resource) after \(formatNanoseconds(waited))")
        state.waiters[index].timer = nil
        removeWaiter(resource, id: id)
        waiter.deliver { waiter.continuation.resume(returning: .failure(.timeout(resource: resource, waited: waited))) }
    }

    private func expireLease(_ resource: String, token: UInt64) {
        leaseTimers[token] = nil
        guard let state = resources[resource], let index = state.holders.firstIndex(where: { $0.token == token }) else { return }
        let grant = state.holders.remove(at: index)
        record(.lockLeaseExpired, owner: grant.owner, payload: token, "\(resource) token \(token)")
        grantWaiters(resource, state: state)
    }

    /// The owners `owner` waits for: conflicting holders and conflicting waiters ahead of it.
    private func blockers(of owner: String) -> [String] {
        var result = externalBlockers(of: owner)
        guard let resource = waitingFor[owner], let state = resources[resource],
              let position = state.waiters.firstIndex(where: { $0.owner == owner }) else { return result }
        let mode = state.waiters[position].mode
        for holder in state.holders where holder.owner != owner && mode.conflicts(with: holder.mode) { result.append(holder.owner) }
        for ahead in state.waiters[..<position] where ahead.owner != owner && mode.conflicts(with: ahead.mode) { result.append(ahead.owner) }
        return result
    }

    /// Depth-first search for a path of wait-for edges from `start` back to itself.
    func findCycle(from start: String) -> DeadlockCycle? {
        var path: [String] = [start]
        var visited: Set<String> = [start]
        func search(_ owner: String) -> Bool {
            for next in blockers(of: owner) {
                if next == start { return true }
                if visited.contains(next) { continue }
                visited.insert(next)
                path.append(next)
                if search(next) { return true }
                path.removeLast()
            }
            return false
        }
        guard search(start) else { return nil }
        let members = path.map { owner -> DeadlockCycle.Member in
            // Where the cycle continues: this member's wait whose blockers include the next member.
            let next = path[(path.firstIndex(of: owner)! + 1) % path.count]
            if let external = externalWaits(of: owner).first(where: { wait in (externalHolds[wait.resource] ?? []).contains { $0.owner == next } }) {
                return DeadlockCycle.Member(owner: owner, holds: resourcesHeld(by: owner), waitsFor: external.resource,
                                            mode: external.mode.rawValue, since: external.since)
            }
            let resource = waitingFor[owner] ?? "?"
            let waiter = resources[resource]?.waiters.first { $0.owner == owner }
            return DeadlockCycle.Member(owner: owner, holds: resourcesHeld(by: owner), waitsFor: resource,
                                        mode: waiter?.mode.rawValue ?? "?", since: waiter?.since ?? 0)
        }
        return DeadlockCycle(members: members, detectedAt: simulation.now)
    }
}

/// Why a lock operation failed.
public enum LockError: Error, Hashable, Sendable, CustomStringConvertible {
    case timeout(resource: String, waited: Int64)
    case deadlock(DeadlockCycle)
    case notHolder(resource: String, owner: String)
    case staleToken(resource: String, token: UInt64)

    public var description: String {
        switch self {
        case .timeout(let r, let w): return "lock \(r): timed out after \(formatNanoseconds(w))"
        case .deadlock(let cycle): return "deadlock detected: \(cycle)"
        case .notHolder(let r, let o): return "lock \(r): \(o) does not hold it"
        case .staleToken(let r, let t): return "lock \(r): token \(t) is no longer current"
        }
    }
}

/// A resource that accepts a write only with a fencing token at least as new as any it has seen
/// (Kleppmann's fencing): a paused holder whose lease expired cannot overwrite newer work.
public struct FencingGate: Hashable, Sendable {
    public private(set) var highestToken: UInt64 = 0
    public init() {}
    /// Accepts `token` (and remembers it) unless a newer one was seen.
    public mutating func admit(_ token: UInt64) -> Bool {
        guard token >= highestToken else { return false }
        highestToken = token
        return true
    }
}

extension Simulation {
    /// The simulation's lock manager (created on first use).
    public var locks: LockManager { component(LockManager.self) { LockManager(simulation: self) } }
}

extension ProcessContext {
    /// Acquires a lock as `owner` (default: `node/process`). A grant that arrives after this
    /// process died is released instead of delivered.
    public func acquire(_ resource: String, mode: LockManager.Mode = .exclusive, owner: String? = nil,
                        timeout: Int64? = nil, lease: Int64? = nil) async -> Result<LockManager.Grant, LockError> {
        let node = self.node, epoch = self.epoch
        return await simulation.locks.acquire(
            resource, mode: mode, owner: owner ?? "\(node.name)/\(name)", timeout: timeout, lease: lease,
            isAlive: { node.epoch == epoch && node.state != .crashed },
            deliver: { work in node.deliver(epoch: epoch, work) })
    }
}

extension TraceKind {
    public static let lockAcquire = TraceKind("lock.acquire")
    public static let lockRelease = TraceKind("lock.release")
    public static let lockWait = TraceKind("lock.wait")
    public static let lockTimeout = TraceKind("lock.timeout")
    public static let lockLeaseExpired = TraceKind("lock.lease_expired")
    public static let lockDeadlock = TraceKind("lock.deadlock")
}

/// Locks held and awaited in another lock system (a database's), mirrored into the lock manager's
/// wait-for graph so that a cycle running through both a platform lock and an external one is
/// found and named as one deadlock. The manager grants nothing here: the external system decides;
/// the mirror only records who holds what and who waits for what.
///
/// Entries are keyed by the external system's own handle (a database session, one request), so
/// that two sessions acting for the same owner never erase each other; the graph's nodes are the
/// owners, as for platform locks. An owner's edges are those of its platform wait, if any, and of
/// each of its external waits.
extension LockManager {
    struct ExternalHold: Hashable {
        var key: String
        var owner: String
        var mode: Mode
    }

    struct ExternalWait: Hashable {
        var owner: String
        var resource: String
        var mode: Mode
        var since: Int64
    }

    /// Records that `owner` holds `resource` in the external system, through handle `key`.
    public func noteExternalHold(_ resource: String, owner: String, mode: Mode, key: String) {
        var holds = externalHolds[resource] ?? []
        guard !holds.contains(where: { $0.key == key }) else { return }
        holds.append(ExternalHold(key: key, owner: owner, mode: mode))
        externalHolds[resource] = holds
    }

    /// Records that handle `key` no longer holds `resource`.
    public func noteExternalRelease(_ resource: String, key: String) {
        externalHolds[resource]?.removeAll { $0.key == key }
        if externalHolds[resource]?.isEmpty == true { externalHolds[resource] = nil }
    }

    /// Drops every external hold and wait on `resource` (the external system restarted).
    public func clearExternal(_ resource: String) {
        externalHolds[resource] = nil
        for key in externalWaits.keys.sorted() where externalWaits[key]?.resource == resource { externalWaits[key] = nil }
    }

    /// Drops the external holds and waits of owners whose name starts with `prefix` (their node
    /// died: what they hold in the external system is released by its own timeout, and waits for
    /// nothing meanwhile, so it closes no cycle).
    public func dropExternal(ownersWithPrefix prefix: String) {
        for resource in externalHolds.keys.sorted() {
            externalHolds[resource]?.removeAll { $0.owner.hasPrefix(prefix) }
            if externalHolds[resource]?.isEmpty == true { externalHolds[resource] = nil }
        }
        for key in externalWaits.keys.sorted() where externalWaits[key]?.owner.hasPrefix(prefix) == true { externalWaits[key] = nil }
    }

    /// Records that handle `key`, acting for `owner`, waits for `resource` in `mode`, and looks for
    /// a cycle through it. Under `.failRun` a cycle ends the run with `Outcome.deadlock`; it is
    /// returned either way (the external system may abort the waiter, as a database would).
    @discardableResult
    public func noteExternalWait(_ resource: String, owner: String, mode: Mode, key: String) -> DeadlockCycle? {
        if externalWaits[key] != nil { return nil }  // already waiting (and checked)
        externalWaits[key] = ExternalWait(owner: owner, resource: resource, mode: mode, since: simulation.now)
        record(.lockWait, owner: owner, payload: stableHash(resource), "\(resource) \(mode.rawValue) (external)")
        guard let cycle = findCycle(from: owner) else { return nil }
        deadlocksDetected.append(cycle)
        record(.lockDeadlock, owner: owner, payload: UInt64(cycle.members.count), cycle.description)
        if deadlockPolicy == .failRun { simulation.fail(.deadlock(cycle)) }
        return cycle
    }

    /// Records that handle `key`'s external wait ended (granted, timed out or aborted).
    public func noteExternalWaitEnded(key: String) {
        externalWaits[key] = nil
    }

    /// The external waits of `owner`, in key order.
    func externalWaits(of owner: String) -> [ExternalWait] {
        externalWaits.filter { $0.value.owner == owner }.sorted { $0.key < $1.key }.map(\.value)
    }

    /// Owners that `owner`'s external waits are blocked by: the conflicting external holders.
    func externalBlockers(of owner: String) -> [String] {
        var result: [String] = []
        for wait in externalWaits(of: owner) {
            for hold in externalHolds[wait.resource] ?? [] where hold.owner != owner && wait.mode.conflicts(with: hold.mode) && !result.contains(hold.owner) {
                result.append(hold.owner)
            }
        }
        return result
    }

    /// External resources `owner` holds, sorted.
    func externalResourcesHeld(by owner: String) -> [String] {
        externalHolds.filter { $0.value.contains { $0.owner == owner } }.map(\.key).sorted()
    }
}

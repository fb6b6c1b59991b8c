/// Locks held and awaited in another lock system (a database's), mirrored into the lock manager's
/// wait-for graph so that a cycle running through both a platform lock and an external one is
/// found and named as one deadlock. The manager grants nothing here: the external system decides;
/// the mirror only records who holds what and who waits for what.
extension LockManager {
    struct ExternalHold: Hashable {
        var owner: String
        var mode: Mode
    }

    /// Records that `owner` holds `resource` in the external system.
    public func noteExternalHold(_ resource: String, owner: String, mode: Mode) {
        var holds = externalHolds[resource] ?? []
        guard !holds.contains(ExternalHold(owner: owner, mode: mode)) else { return }
        holds.append(ExternalHold(owner: owner, mode: mode))
        externalHolds[resource] = holds
    }

    /// Records that `owner` no longer holds `resource` in the external system.
    public func noteExternalRelease(_ resource: String, owner: String) {
        externalHolds[resource]?.removeAll { $0.owner == owner }
        if externalHolds[resource]?.isEmpty == true { externalHolds[resource] = nil }
    }

    /// Drops every external hold and wait on `resource` (the external system restarted).
    public func clearExternal(_ resource: String) {
        externalHolds[resource] = nil
        for owner in externalWaits.keys.sorted() where externalWaits[owner]?.resource == resource {
            externalWaits[owner] = nil
            if waitingFor[owner] == resource { waitingFor[owner] = nil }
        }
    }

    /// Records that `owner` waits for `resource` in `mode` in the external system, and looks for a
    /// cycle through it. Under `.failRun` a cycle ends the run with `Outcome.deadlock`; it is
    /// returned either way (the external system may abort the waiter, as a database would).
    @discardableResult
    public func noteExternalWait(_ resource: String, owner: String, mode: Mode) -> DeadlockCycle? {
        if externalWaits[owner]?.resource == resource { return nil }  // already waiting (and checked)
        externalWaits[owner] = (resource, mode, simulation.now)
        waitingFor[owner] = resource
        record(.lockWait, owner: owner, payload: stableHash(resource), "\(resource) \(mode.rawValue) (external)")
        guard let cycle = findCycle(from: owner) else { return nil }
        deadlocksDetected.append(cycle)
        record(.lockDeadlock, owner: owner, payload: UInt64(cycle.members.count), cycle.description)
        if deadlockPolicy == .failRun { simulation.fail(.deadlock(cycle)) }
        return cycle
    }

    /// Records that `owner`'s external wait ended (granted, timed out or aborted).
    public func noteExternalWaitEnded(owner: String) {
        guard let wait = externalWaits.removeValue(forKey: owner) else { return }
        if waitingFor[owner] == wait.resource { waitingFor[owner] = nil }
    }

    /// Owners that `owner`'s external wait is blocked by: the conflicting external holders.
    func externalBlockers(of owner: String) -> [String]? {
        guard let wait = externalWaits[owner], waitingFor[owner] == wait.resource else { return nil }
        return (externalHolds[wait.resource] ?? []).filter { $0.owner != owner && wait.mode.conflicts(with: $0.mode) }.map(\.owner)
    }

    /// External resources `owner` holds, sorted.
    func externalResourcesHeld(by owner: String) -> [String] {
        externalHolds.filter { $0.value.contains { $0.owner == owner } }.map(\.key).sorted()
    }
}

import SimKernel
import SimServices

/// Cache eviction: replays each replica's model-cache trace (uses, loads, unpins, evictions) and
/// checks every eviction took the least recently used version among those no request was using
/// (the version just loaded aside). It replays the same trace through a plain LRU of the same
/// capacity beside it, to report both hit rates. First in, first out (H8) evicts a version used
/// more recently than another one cached — the hot version, once it is the oldest loaded — and
/// evicting a version in use (H1) shows here too.
public final class CacheEvictionChecker: ServingSafetyChecker, Checker {
    public static let name = "cache-eviction"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard scenario.topology.has(role: "inference"), let workload = scenario.workloads.compactMap({ $0 as? ModelDeploymentsWorkload }).first else {
            return "no model versions are deployed to inference replicas in this scenario"
        }
        return workload.deploys > workload.serving.cacheSize ? nil : "\(workload.deploys) deployments never fill a cache of \(workload.serving.cacheSize) versions"
    }

    /// One replica's replay.
    struct Replay {
        var lastUse: [ModelKey: UInt64] = [:]
        var pins: [ModelKey: Int] = [:]
        var clock: UInt64 = 0
        var justInserted: ModelKey?
        /// The plain LRU beside it: last use by version, and both hit counts.
        var reference: [ModelKey: UInt64] = [:]
        var referenceClock: UInt64 = 0
        var hits = 0, referenceHits = 0, uses = 0
        var position = 0
    }
    let capacity: Int
    /// Each replica's replay, in name order.
    var replicas = NameOrderedProgress<Replay>()
    var checkedRevision = UInt64.max
    public init(scenario: Scenario) {
        capacity = scenario.workloads.compactMap { $0 as? ModelDeploymentsWorkload }.first?.serving.cacheSize ?? 1
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving, serving.cacheTracesRevision != checkedRevision else { return nil }
        checkedRevision = serving.cacheTracesRevision
        let traces = serving.cacheTraces
        replicas.follow(traces) { Replay() }
        for index in replicas.indices {
            let replica = replicas.entries[index].name
            guard let trace = traces[replica] else { continue }
            while replicas[index].position < trace.count {  // nothing new on this replica: no step
                let event = trace[replicas[index].position]
                replicas[index].position += 1
                if let violation = apply(event, to: &replicas[index], replica: replica) { return violation }
            }
        }
        return nil
    }

    func apply(_ event: ServingObservations.CacheEvent, to replay: inout Replay, replica: String) -> String? {
        switch event {
        case .restart:
            replay = Replay(position: replay.position)
        case .use(let key, let hit):
            replay.uses += 1
            replay.justInserted = nil
            if hit {
                replay.hits += 1
                replay.clock += 1
                replay.lastUse[key] = replay.clock
                replay.pins[key, default: 0] += 1
            }
            referenceAccess(key, &replay)
        case .insert(let key, let pinned):
            replay.clock += 1
            replay.lastUse[key] = replay.clock
            if pinned { replay.pins[key, default: 0] += 1 }
            replay.justInserted = key
            if replay.reference[key] == nil { referenceAccess(key, &replay, counts: false) }
        case .unpin(let key):
            replay.justInserted = nil
            if let pins = replay.pins[key], pins > 0 { replay.pins[key] = pins - 1 }
        case .evict(let victim):
            defer {
                replay.lastUse[victim] = nil
                replay.pins[victim] = nil
            }
            // Worded only when a finding is (an eviction is judged after every deployment).
            var rates: String { "hit rate \(percent(replay.hits, replay.uses)) against LRU's \(percent(replay.referenceHits, replay.uses)) on the same trace" }
            if let pins = replay.pins[victim], pins > 0 {
                return "\(replica) evicted \(victim) while \(pins) request(s) used it (\(rates))"
            }
            let candidates = replay.lastUse.filter { replay.pins[$0.key, default: 0] == 0 && $0.key != replay.justInserted }
            guard let expected = candidates.min(by: { ($0.value, $0.key) < ($1.value, $1.key) }), expected.key != victim else { return nil }
            return "\(replica) evicted \(victim), used more recently than \(expected.key) (its use \(replay.lastUse[victim] ?? 0) against \(expected.value) of \(replay.clock)): "
                + "not the least recently used version (\(rates))"
        }
        return nil
    }

    /// An access through the plain LRU of the same capacity (versions' last uses are distinct).
    private func referenceAccess(_ key: ModelKey, _ replay: inout Replay, counts: Bool = true) {
        replay.referenceClock += 1
        if counts, replay.reference[key] != nil { replay.referenceHits += 1 }
        replay.reference[key] = replay.referenceClock
        if replay.reference.count > capacity, let oldest = replay.reference.min(by: { $0.value < $1.value }) { replay.reference[oldest.key] = nil }
    }

    private func percent(_ part: Int, _ whole: Int) -> String {
        whole == 0 ? "n/a" : "\((Double(part) * 1000 / Double(whole)).rounded() / 10) %"
    }
}

import SimKernel
import SimServices

/// The online feature cache: every value served is younger than its view's TTL (else NOT_FOUND,
/// never stale); the version served for an entity never goes back (compare-and-set writes: an
/// older materialization finishing late must not replace a newer value) between reads that do not
/// overlap: a read begun after another was answered sees at least that one's version (two reads in
/// flight together may be answered in either order, as any linearizable store allows); and, at the end, the
/// online store's write log shows no key going back to an older version.
public final class FeatureCacheChecker: FeatureSafetyChecker, Checker {
    public static let name = "feature-cache"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    /// Per view/entity, the reads answered so far in answer order: (answered at, version, newest
    /// version answered up to and including this one).
    var served: [String: [(at: Int64, version: Int64, newest: Int64)]] = [:]
    let topology: Topology?
    public required init(scenario: Scenario) { topology = scenario.topology }

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.onlineReads.count {
            let read = observations.onlineReads[checked]
            checked += 1
            guard let version = read.version, let eventTime = read.eventTime else { continue }
            if read.readClock - eventTime > read.ttl {
                return "features served \(read.view)/\(read.entity) aged \(formatNanoseconds(read.readClock - eventTime)), past its TTL of \(formatNanoseconds(read.ttl)) (must be NOT_FOUND)"
            }
            let key = "\(read.view)/\(read.entity)"
            var history = served[key] ?? []
            // The newest version among reads answered strictly before this one began.
            if let before = history.last(where: { $0.at < read.started }), version < before.newest,
               let witness = history.last(where: { $0.at < read.started && $0.version == before.newest }) {
                return "features served \(key) at version \(version) at \(formatNanoseconds(read.at)) (asked at \(formatNanoseconds(read.started))), after serving version \(witness.version) at \(formatNanoseconds(witness.at)): the cached value went back"
            }
            history.append((read.at, version, max(version, history.last?.newest ?? .min)))
            served[key] = history
        }
        return nil
    }

    public func finalViolation(_ simulation: Simulation) -> String? {
        guard let topology else { return nil }
        let view = ServiceStateView(simulation: simulation, topology: topology)
        defer { view.close() }
        return FeaturesService.invariants(view).first
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features", "redis"] }
}

import SimKernel
import SimServices

/// The online feature cache: every value served is younger than its view's TTL (else NOT_FOUND,
/// never stale); the version served for an entity never goes back (compare-and-set writes: an
/// older materialization finishing late must not replace a newer value); and, at the end, the
/// online store's write log shows no key going back to an older version.
public final class FeatureCacheChecker: FeatureSafetyChecker, Checker {
    public static let name = "feature-cache"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    var newestServed: [String: (version: Int64, at: Int64)] = [:]
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
            if let before = newestServed[key], version < before.version {
                return "features served \(key) at version \(version) at \(formatNanoseconds(read.at)), after serving version \(before.version) at \(formatNanoseconds(before.at)): the cached value went back"
            }
            if version >= newestServed[key]?.version ?? .min { newestServed[key] = (version, read.at) }
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

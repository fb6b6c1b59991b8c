import SimKernel
import SimServices

/// Expiry bursts: no more than 50 online values are due to expire within any one millisecond. With
/// jitter the keys of one materialization spread over a tenth of the TTL (5 s views: 501 one-ms
/// slots): even a run that writes 2,000 keys after an outage puts Binomial(2000, 1/501) in a slot,
/// mean 4, and P(> 50) is below 1e-30. Without jitter (H7) every key a run writes is due at the
/// same instant. (A 10 ms window raised false alarms: swarm seeds 1051 and 1063 of 03, a
/// post-outage run writing over a thousand keys, mean 20 a window.)
public final class ExpiryBurstChecker: FeatureSafetyChecker, Checker {
    public static let name = "expiry-burst"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    static let bucket = Nanos.millisecond, bound = 50
    var checked = 0
    var perBucket: [Int64: Int] = [:]
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.expiries.count {
            let at = observations.expiries[checked]
            checked += 1
            let bucket = at >= 0 ? at / Self.bucket : (at + 1) / Self.bucket - 1
            perBucket[bucket, default: 0] += 1
            if perBucket[bucket]! > Self.bound {
                return "more than \(Self.bound) online values are due to expire within 1 ms of \(formatNanoseconds(bucket * Self.bucket)) (\(perBucket[bucket]!) so far): a synchronised expiry storm"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features", "redis"] }
}

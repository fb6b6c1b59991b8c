import SimKernel
import SimServices

/// Expiry bursts: no more than 50 online values are due to expire within any 10 ms window (the
/// keys of one materialization, about 100, spread over a tenth of the TTL: 5 s views spread over
/// 500 ms, a few a window; without jitter they all fall in one).
public final class ExpiryBurstChecker: FeatureSafetyChecker, Checker {
    public static let name = "expiry-burst"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    static let bucket = 10 * Nanos.millisecond, bound = 50
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
                return "more than \(Self.bound) online values are due to expire within 10 ms of \(formatNanoseconds(bucket * Self.bucket)) (\(perBucket[bucket]!) so far): a synchronised expiry storm"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features", "redis"] }
}

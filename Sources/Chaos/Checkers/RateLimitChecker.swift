import SimKernel
import SimServices

/// Rate limit: for every caller the gateway admitted, and every window from one of its admissions
/// to a later one, the admissions in the window number at most `burst + floor(W / interval)`
/// (GCRA's bound, W the window's length). Each new admission is checked against the windows that
/// start at the caller's previous `2 * burst + 64` admissions: a limiter that lets a caller through
/// too fast breaks the bound within a few bursts.
public final class RateLimitChecker: Checker, SafetyChecker {
    public static let name = "rate-limit"
    public var name: String { Self.name }
    /// Reads only observations and node state: see `SafetyChecker.runsOnChangesOnly`.
    public var runsOnChangesOnly: Bool { true }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.topology.has(role: "gateway") && !scenario.workloads.isEmpty ? nil : "no request goes through a gateway in this scenario"
    }
    let interval: Int64
    let burst: Int
    var checked: [String: Int] = [:]
    var observations: PlatformObservations?
    var checkedRevision = UInt64.max
    public init(scenario: Scenario) {
        let serving = scenario.servingConfiguration
        interval = 1_000_000_000 / Int64(serving.rateLimitPerSecond)
        burst = serving.rateLimitBurst
    }
    public func install(on platform: Platform) {
        observations = platform.simulation.platformObservations
        platform.simulation.add(checker: self)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["gateway"] }

    public func check(_ simulation: Simulation) -> String? {
        guard let observations, observations.admissionsRevision != checkedRevision else { return nil }
        checkedRevision = observations.admissionsRevision
        for caller in observations.admissions.keys.sorted() {
            let times = observations.admissions[caller]!
            var index = checked[caller] ?? 0
            defer { checked[caller] = index }
            while index < times.count {
                let end = times[index]
                for start in Swift.max(0, index - 2 * burst - 64) ..< index {
                    let admitted = index - start + 1
                    let bound = burst + Int((end - times[start]) / interval)
                    if admitted > bound {
                        return "the gateway admitted \(admitted) requests of \(caller) between \(formatNanoseconds(times[start])) and \(formatNanoseconds(end)), "
                            + "above the limit's bound of \(bound) (burst \(burst) + one every \(interval / 1000) µs)"
                    }
                }
                index += 1
            }
        }
        return nil
    }
}

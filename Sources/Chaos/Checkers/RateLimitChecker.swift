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
    /// Each caller's progress, in name order: the admissions checked so far and the window over them.
    var callers = NameOrderedProgress<(checked: Int, window: Window)>()
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
        let admissions = observations.admissions
        callers.follow(admissions) { (0, Window()) }
        for position in callers.indices {
            let caller = callers.entries[position].name
            guard let times = admissions[caller] else { continue }
            while callers[position].checked < times.count {  // nothing new of this caller: no step
                let index = callers[position].checked
                if callers[position].window.mayBreakTheBound(at: index, times: times, interval: interval, burst: burst, span: span),
                   let violation = Self.firstViolation(at: index, times: times, caller: caller, burst: burst, interval: interval) {
                    return violation
                }
                callers[position].checked = index + 1
            }
        }
        return nil
    }

    /// How many earlier admissions each new one is checked against.
    var span: Int { Self.span(burst: burst) }
    static func span(burst: Int) -> Int { 2 * burst + 64 }

    /// The first window ending at admission `index` that holds more admissions than the bound,
    /// worded, or nil: the windows starting at each of the `span` admissions before it, in order.
    static func firstViolation(at index: Int, times: [Int64], caller: String, burst: Int, interval: Int64) -> String? {
        let end = times[index]
        for start in Swift.max(0, index - span(burst: burst)) ..< index {
            let admitted = index - start + 1
            let bound = burst + Int((end - times[start]) / interval)
            if admitted > bound {
                return "the gateway admitted \(admitted) requests of \(caller) between \(formatNanoseconds(times[start])) and \(formatNanoseconds(end)), "
                    + "above the limit's bound of \(bound) (burst \(burst) + one every \(interval / 1000) µs)"
            }
        }
        return nil
    }

    /// A caller's sliding maximum of `t_s - s * interval` over the `span` admissions before the
    /// one being checked, so that an admission that breaks no bound is passed in constant time
    /// (scanning its 1,064 windows was a fiftieth of a serving run). With times in order, the
    /// window from admission s to admission i breaks the bound exactly when
    /// `i - s + 1 > burst + floor((t_i - t_s) / interval)`, that is (k = i + 1 - s - burst, an
    /// integer: floor(y) < k when y < k) when `t_s - s * interval > t_i - (i + 1 - burst) * interval`;
    /// so some window ending at i breaks it exactly when the window's maximum of
    /// `t_s - s * interval` exceeds the right side. Only then is `firstViolation` asked, which
    /// words the first such window as the scan always did. Times out of order (never seen: they
    /// are the simulation's clock) make every admission of the caller take the scan.
    struct Window {
        /// Admission indices whose `t_s - s * interval` decrease from front to back.
        var indices: [Int] = []
        var head = 0
        var unordered = false

        mutating func mayBreakTheBound(at index: Int, times: [Int64], interval: Int64, burst: Int, span: Int) -> Bool {
            func key(_ s: Int) -> Int64 { times[s] - Int64(s) * interval }
            if index > 0, times[index] < times[index - 1] { unordered = true }
            while head < indices.count, indices[head] < index - span { head += 1 }
            let end = times[index]
            let may = unordered || (head < indices.count && key(indices[head]) > end - Int64(index + 1 - burst) * interval)
            // Admission `index` joins the window of the admissions after it.
            while indices.count > head, key(indices[indices.count - 1]) <= key(index) { indices.removeLast() }
            indices.append(index)
            if head >= 1024, head * 2 >= indices.count {
                indices.removeFirst(head)
                head = 0
            }
            return may
        }
    }
}

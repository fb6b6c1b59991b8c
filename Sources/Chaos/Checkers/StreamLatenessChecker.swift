import SimKernel
import SimServices

/// Late data: an event is dead-lettered as late only when its window closed more than the allowed
/// lateness (2 s) before the newest event time the job had seen.
public final class StreamLatenessChecker: StreamChecker, Checker {
    public static let name = "stream-lateness"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    public required init(scenario: Scenario) { super.init(topology: scenario.topology) }
    var checked: Set<String> = []
    static let window = Nanos.second, allowedLateness = 2 * Nanos.second

    override func checkNew(_ stream: StreamObservations, _ simulation: Simulation) -> String? {
        // The new letters only, in id order, not the dictionary's (which differs between
        // processes): the message names the first. Only the new ones are sorted, on every revision.
        for id in stream.deadLetters.keys.filter({ !checked.contains($0) }).sorted() {
            checked.insert(id)
            guard let letter = stream.deadLetters[id], letter.reason == "late" else { continue }
            guard let event = stream.accepted[id] else { continue }
            let closes = event.window + Self.window + Self.allowedLateness
            if closes > letter.newestSeen {
                return "event \(id) (window \(formatNanoseconds(event.window))) was dropped as late when the newest event seen was \(formatNanoseconds(letter.newestSeen)); its window stays open until \(formatNanoseconds(closes)) (2 s allowed lateness)"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["pipeline"] }
}

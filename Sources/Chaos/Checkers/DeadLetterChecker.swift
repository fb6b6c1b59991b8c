import SimKernel
import SimServices

/// Dead letters: every event the job judged failed (late, unprocessable, refused by its schema) in
/// a batch it committed has its dead letter on the dead-letter topic within 10 s of the later of
/// its judgement, the heal and the last restart (the outbox is published right after the commit,
/// and after a restart): no failed event is dropped.
public final class DeadLetterChecker: StreamChecker, Checker {
    public static let name = "dead-letter"
    public override var name: String { Self.name }
    /// Not change-driven: its 10 s deadline is judged by the clock. (It still looks only when
    /// the stream's revision moved, and once more after the run, as it did before checkers could
    /// be change-driven.)
    public override var runsOnChangesOnly: Bool { false }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    public required init(scenario: Scenario) {
        healAt = scenario.healAtSeconds * Nanos.second
        super.init(topology: scenario.topology)
    }
    var checked = 0

    let healAt: Int64

    override func checkNew(_ stream: StreamObservations, _ simulation: Simulation) -> String? { missing(stream, simulation) }

    public func finalViolation(_ simulation: Simulation) -> String? { missing(simulation.stream, simulation) }

    /// The first failed event without its dead letter 10 s after it was judged, or after the
    /// faults healed and the last node restarted when that came later (a cut from Kafka holds the
    /// outbox back).
    func missing(_ stream: StreamObservations, _ simulation: Simulation) -> String? {
        while checked < stream.judgedFailed.count, simulation.settled(healAt: Swift.max(healAt, stream.judgedFailed[checked].at), settle: 10 * Nanos.second) <= simulation.now {
            let (id, reason, at) = stream.judgedFailed[checked]
            checked += 1
            if stream.deadLetters[id] == nil {
                return "event \(id) failed at \(formatNanoseconds(at)) (\(reason)) and is neither processed nor dead-lettered 10 s later (\(stream.deadLetters.count) dead letters kept)"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["pipeline", "kafka"] }
}

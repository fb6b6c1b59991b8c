import SimKernel
import SimServices

/// What the serving checkers share (scenarios 01 and 04): the serving observations, and their
/// registration as a change-driven safety checker (`SafetyChecker.runsOnChangesOnly`): they read
/// the serving observations and the nodes' state, which note every change, and judge nothing by
/// the clock alone. A subclass names itself, judges in `check`, and calls `super.install` when it
/// needs more than the observations.
public class ServingSafetyChecker: SafetyChecker {
    public var name: String { fatalError("subclasses name themselves") }
    public var runsOnChangesOnly: Bool { true }
    var serving: ServingObservations?

    public func install(on platform: Platform) {
        serving = platform.simulation.serving
        platform.simulation.add(checker: self)
    }

    public func check(_ simulation: Simulation) -> String? { nil }
}

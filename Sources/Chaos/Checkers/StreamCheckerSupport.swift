import SimKernel
import SimServices

/// A base for checkers of the streaming job: it installs itself (as a safety checker when it has
/// one) and reads the job's output tables after the run.
public class StreamChecker: SafetyChecker {
    public var name: String { fatalError("subclasses name themselves") }
    var stream: StreamObservations?
    var seenRevision = UInt64.max
    /// Change-driven (gated by the stream's revision): see `SafetyChecker.runsOnChangesOnly`.
    public var runsOnChangesOnly: Bool { true }
    let topology: Topology

    init(topology: Topology) { self.topology = topology }

    public func install(on platform: Platform) {
        stream = platform.simulation.stream
        platform.simulation.add(checker: self)
    }

    public func check(_ simulation: Simulation) -> String? {
        guard let stream, stream.revision != seenRevision else { return nil }
        seenRevision = stream.revision
        return checkNew(stream, simulation)
    }

    func checkNew(_ stream: StreamObservations, _ simulation: Simulation) -> String? { nil }

    /// Rows of the job's tables in experiments_db, read after the run (nil: not there).
    func rows(_ simulation: Simulation, _ sql: String) -> [[SQLValue]]? {
        let view = ServiceStateView(simulation: simulation, topology: topology)
        defer { view.close() }
        guard view.hasTable("experiments_db", "stream_counts") else { return nil }
        return view.rows("experiments_db", sql)
    }
}

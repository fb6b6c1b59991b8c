import XCTest
@testable import SimKernel
@testable import SimServices

/// The platform's observation objects note every change of their stored properties in the
/// simulation's `checkerChanges` (what change-driven safety checkers wait for), and a list
/// grows in place: appending does not copy it.
final class ObservationChangesTests: XCTestCase {
    func testServingObservationsNoteAppendsInPlaceEditsAndScalarChanges() {
        let simulation = Simulation(seed: 1)
        let serving = simulation.serving
        XCTAssertTrue(serving.changes === simulation.checkerChanges, "the simulation's observations note into its counter")
        var before = simulation.checkerChanges.count
        serving.answers.append(.init(sentAt: 1, answeredAt: 2, model: "m", version: 1, status: 200, replica: "inference", error: nil))
        XCTAssertEqual(simulation.checkerChanges.count, before + 1, "an append is one change")
        before = simulation.checkerChanges.count
        serving.answers[0].p = 0.5
        XCTAssertEqual(simulation.checkerChanges.count, before + 1, "an edit of an element in place is one change")
        before = simulation.checkerChanges.count
        serving.revision &+= 1
        XCTAssertEqual(simulation.checkerChanges.count, before + 1, "a scalar's change is one change")
        before = simulation.checkerChanges.count
        _ = serving.answers.count
        XCTAssertEqual(simulation.checkerChanges.count, before, "a read is not a change")
    }

    func testAnAppendDoesNotCopyTheList() {
        let serving = ServingObservations()
        serving.deployments.append((time: 0, model: "m", version: 1))
        serving.deployments.reserveCapacity(64)
        let reserved = serving.deployments.withUnsafeBufferPointer { $0.baseAddress }
        for version in 2 ... 10 as ClosedRange<Int64> { serving.deployments.append((time: version, model: "m", version: version)) }
        XCTAssertEqual(serving.deployments.withUnsafeBufferPointer { $0.baseAddress }, reserved,
                       "appends within the reserved capacity keep the buffer: the list is modified in place, not copied")
        XCTAssertEqual(serving.deployments.map(\.version), Array(1 ... 10))
    }

    func testEveryObservationObjectOfASimulationSharesItsCounter() {
        let simulation = Simulation(seed: 1)
        let counters: [ChangeCounter] = [simulation.serving.changes, simulation.platformObservations.changes, simulation.features.changes,
                                         simulation.stream.changes, simulation.trainingRuns.changes, simulation.training.changes,
                                         simulation.experiments.changes, simulation.security.changes, simulation.elasticTraining.changes]
        for counter in counters { XCTAssertTrue(counter === simulation.checkerChanges) }
    }
}

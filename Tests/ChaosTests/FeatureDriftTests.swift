import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 03, the feature drift alert storm.
let Drift03 = ShippedScenario("03_feature_drift_storm")

final class FeatureDriftStormTests: XCTestCase {
    static let defects: Set<DefectID> = [.C1, .C2, .C3, .C4, .C5, .C6, .C7, .C8, .D8, .H2, .H7, .M4, .D1, .D2, .D3, .D4, .D5, .D6, .D7, .D9, .D10]

    func testTheScenarioLoadsWithItsStatedValues() throws {
        let scenario = Drift03.scenario
        let workload = try XCTUnwrap(scenario.featureDrift)
        XCTAssertEqual(workload.windows, 40)
        XCTAssertEqual(workload.referenceWindows, 5)
        XCTAssertEqual(workload.shiftAtWindow, 22)
        XCTAssertEqual(workload.rowsPerWindow, 100)
        XCTAssertEqual(workload.remoteSharePercent, 20)
        XCTAssertEqual(Set(scenario.defects), [.C3, .M4, .C8, .D8, .C2, .C4, .H2])
        for defect in Self.defects { XCTAssertNil(scenario.whyDefectCannotFire(defect), "\(defect)") }
    }

    /// Without defects: every shifted window monitoring checked is one alert for the demographics
    /// (none for the behaviour view), windows without drift stay within the alarm bound, every
    /// pipeline run started 10 s before the end finishes, and the stream's counts match the accepted events.
    func testWithoutDefectsTheShiftIsOneAlertPerWindowAndTheRestIsQuiet() throws {
        let configuration = Drift03.configuration(seed: 1, defects: [])
        let simulation = Simulation(seed: 1, options: ScenarioRunner.options(for: configuration))
        _ = ScenarioRunner.build(simulation, configuration)
        XCTAssertEqual(simulation.run(), .passed)
        let features = simulation.features
        let shifted = Set(features.checkedWindows.filter { features.shiftedWindows[$0.view]?[$0.window] == true }.map { "\($0.view)#\($0.window)" })
        XCTAssertEqual(shifted.count, 40 - 22, "every shifted window of the demographics was checked")
        let alerted = features.alerts.map { "\($0.view)#\($0.window)" }
        XCTAssertEqual(Set(alerted).count, alerted.count, "one alert per view and window")
        let shiftedAlerts = alerted.filter { shifted.contains($0) }
        XCTAssertGreaterThanOrEqual(shiftedAlerts.count, shifted.count - 3, "the shift alerts (the last windows may still be in delivery)")
        XCTAssertTrue(features.alerts.allSatisfy { $0.group == $0.view }, "grouped by view, not per feature")
        XCTAssertLessThanOrEqual(alerted.count - shiftedAlerts.count, DriftAlarmsChecker.binomialBound(n: 2 * (22 - 5) + (40 - 22), p: 0.05, tail: 1e-6))
        XCTAssertTrue(features.runs.values.allSatisfy { $0.finishedAt != nil || $0.startedAt > simulation.now - 10 * Nanos.second },
                      "every pipeline run started 10 s before the end finished")
        XCTAssertGreaterThan(features.runs.count, 30)
        XCTAssertGreaterThan(simulation.stream.accepted.count, 500)
        XCTAssertGreaterThan(simulation.stream.deadLetters.count, 10, "unprocessable and late events were dead-lettered")
    }

    /// A crash of the pipeline service mid-run (and of the workers, later) loses nothing: every
    /// pipeline run started before the end finishes (resumed from the database), and the stream's
    /// counts equal the accepted events (the job resumes from its checkpoint).
    func testPipelineAndWorkerCrashesResumeEveryRunAndKeepTheCountsExact() throws {
        var configuration = Drift03.configuration(seed: 3, defects: [], profile: FaultProfile.none)
        configuration.faults.crashes = [CrashFault(node: "pipeline", atMs: 20_000, restartAfterMs: 1_500),
                                         CrashFault(node: "workers", atMs: 26_000, restartAfterMs: 1_000)]
        let simulation = Simulation(seed: 3, options: ScenarioRunner.options(for: configuration))
        _ = ScenarioRunner.build(simulation, configuration)
        XCTAssertEqual(simulation.run(), .passed, "includes stream-counts (exact counts) and pipeline-order (runs finish)")
        XCTAssertEqual(simulation.nodes.filter { $0.restartedAt > 0 }.map(\.name).sorted(), ["pipeline", "workers"])
        let runs = simulation.features.runs
        XCTAssertTrue(runs.filter { $0.value.startedAt < 20 * Nanos.second }.allSatisfy { $0.value.finishedAt != nil }, "runs started before the crash finished")
        let stream = simulation.stream
        XCTAssertTrue(stream.accepted.keys.allSatisfy { stream.processed.contains($0) }, "the job caught up after its restart")
    }

    /// Swarm seed 72: experiments-db crashes just after committing the job's batch of e209 and
    /// e210 (the answer lost), and Kafka is cut off from the pipeline when the job rejoins, so its
    /// catch-up of the events below the checkpoint fails once; it is tried again before the next
    /// rounds (and the batches after the gap do not paper over it), so both events count as
    /// processed and the run passes (it failed stream-counts' liveness before).
    func testEventsCommittedBeforeADatabaseCrashAreRecordedAfterAFailedCatchUp() throws {
        let configuration = Drift03.configuration(seed: 72, defects: [], profile: .swarm)
        let simulation = Simulation(seed: 72, options: ScenarioRunner.options(for: configuration))
        _ = ScenarioRunner.build(simulation, configuration)
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertTrue(configuration.faults.crashes.contains { $0.node == "experiments-db" && $0.atMs < 23_000 }, "the seed still crashes experiments-db at 22.8 s")
        XCTAssertTrue(configuration.faults.partitions.contains { ($0.sideA.contains("pipeline") && $0.sideB.contains("kafka")) || ($0.sideB.contains("pipeline") && $0.sideA.contains("kafka")) },
                      "the seed still cuts Kafka off from the pipeline (as the job rejoins)")
        XCTAssertTrue(simulation.stream.processed.isSuperset(of: ["t1/e209", "t1/e210"]))
        XCTAssertTrue(simulation.stream.accepted.keys.allSatisfy { simulation.stream.processed.contains($0) })
    }

    /// Each of the scenario's defects has a seed file in Seeds/ that replays to its recorded
    /// outcome, checker and fingerprint.
    func testEveryFeatureDefectHasASeedFileThatReplays() throws {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("03_feature_drift_storm-") }.sorted()
        let covered = Set(try files.flatMap { try SeedFile.load(path: folder.appendingPathComponent($0).path).defects })
        XCTAssertEqual(covered, Self.defects)
        for name in files {
            let seedFile = try SeedFile.load(path: folder.appendingPathComponent(name).path)
            let verdict = Replay.run(seedFile, scenario: Drift03.scenario)
            XCTAssertTrue(verdict.matches, "\(name): \(verdict.differences)")
            XCTAssertEqual(seedFile.outcome.checker, DefectCatalogue.entry(seedFile.defects[0]).checker, "\(name) is found by its catalogue checker")
        }
    }
}

import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 05's job travels the whole platform: gateway -> training -> Kafka -> scheduler ->
/// trainers and parameter servers -> storage and the object store -> experiments -> registry.
final class TrainingJourneyTests: XCTestCase {
    func testTheJobTravelsThroughEveryServiceInOrder() {
        let configuration = RunConfiguration(scenario: Chaos05.scenario, seed: 5, defects: .empty)
        let recorder = RecordingTraceSink()
        let result = ScenarioRunner.run(configuration, sinks: [recorder])
        XCTAssertEqual(result.outcome, .passed)
        XCTAssertEqual(result.servicesUp, Topology.services, "all fifteen services came up")
        XCTAssertEqual(result.nodes.count, 30)
        XCTAssertEqual(result.registeredVersion, "1")
        let steps: [(String, (TraceRecord) -> Bool)] = [
            ("the gateway routed a POST /training/jobs", { $0.kind == TraceKind.gatewayRoute.name && $0.detail.contains("POST /training/jobs") }),
            ("the training service published the job on Kafka", { $0.kind == TraceKind.netSend.name && $0.node == "training" && $0.detail.contains("produce training.jobs key t1/job-1") }),
            ("the scheduler consumed it from Kafka", { $0.kind == TraceKind.schedulerJobConsumed.name }),
            ("the scheduler placed it on the trainers", { $0.kind == TraceKind.schedulerPlaced.name }),
            ("a parameter server applied a push", { $0.kind == TraceKind.psApply.name }),
            ("storage published a checkpoint to the object store", { $0.kind == TraceKind.storageCommit.name && $0.detail.contains("s3://checkpoints") }),
            ("the gateway routed the run's metrics to experiments", { $0.kind == TraceKind.gatewayRoute.name && $0.detail.contains("experiments/runs") && $0.node == "gateway" && $0.time > 10 * Nanos.second }),
            ("the gateway routed the model to the registry", { $0.kind == TraceKind.gatewayRoute.name && $0.detail.contains("registry/versions") && $0.time > 10 * Nanos.second }),
            ("the job completed", { $0.kind == TraceKind.jobCompleted.name }),
        ]
        XCTAssertTrue(recorder.records.contains { $0.kind == TraceKind.trainingJobAccepted.name && $0.detail.contains("job-1") }, "the training service stored the job")
        XCTAssertTrue(recorder.records.contains { $0.kind == TraceKind.jobSubmitted.name }, "the client was told the job was accepted")
        var position = 0
        for (what, matches) in steps {
            guard let found = recorder.records[position...].firstIndex(where: matches) else {
                return XCTFail("not seen after the previous step: \(what)")
            }
            position = found
        }
    }
}

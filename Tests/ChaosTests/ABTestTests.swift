import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 04, the A/B test disaster.
let AB04 = ShippedScenario("04_ab_test_disaster")

final class ABTestDisasterTests: XCTestCase {
    func testTheScenarioLoadsWithItsStatedValues() throws {
        let scenario = AB04.scenario
        XCTAssertEqual(scenario.defects, [.B3, .B5, .B7, .B2, .B8, .M10])
        let workload = try XCTUnwrap(scenario.workloads.compactMap { $0 as? ABTestWorkload }.first)
        XCTAssertEqual(workload.parsedArms.map(\.version), [1, 2, 3])
        XCTAssertEqual(workload.parsedArms.map(\.weight), [5000, 2500, 2500])
        XCTAssertEqual(workload.serving.coldStartMillis, 2340)
        XCTAssertEqual(workload.serving.predictionMillis, 40 ... 48)
        XCTAssertEqual(workload.features(version: 3), ["age", "income", "score", "segment"])
        XCTAssertEqual(workload.artifact(version: 3).output, .label, "variant B answers a class label")
        XCTAssertEqual(workload.serving.batchMaxSize, 8)
        XCTAssertEqual(workload.serving.batchMaxWaitMillis, 10)
        XCTAssertEqual(workload.textRequestsPerSecond, 4)
        XCTAssertEqual(scenario.checks, ["ab-assignment", "ab-verdict", "latency", "schema", "batch-answers", "output-type", "preprocessing-parity", "serving", "routing",
                                         "rate-limit", "cold-start", "service-invariants"])
    }

    /// Without defects: every user is answered by its bucket's arm, every arm answers, no
    /// prediction computes cold, and old-client requests reaching version 3 are refused.
    func testWithoutDefectsUsersGetTheirBucketsArmWarmAndValidated() throws {
        for seed in UInt64(1) ... 2 {
            let configuration = AB04.configuration(seed: seed, defects: [])
            let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
            _ = ScenarioRunner.build(simulation, configuration)
            XCTAssertEqual(simulation.run(), .passed, "seed \(seed)")
            let serving = simulation.serving
            let served = serving.answers.filter { $0.status == 200 && $0.user != nil }
            XCTAssertGreaterThan(served.count, 300, "seed \(seed)")
            let arms = try XCTUnwrap(AB04.scenario.workloads.compactMap { $0 as? ABTestWorkload }.first).parsedArms
            for answer in served {
                XCTAssertEqual(answer.servedVersion, ABSplit.arm(bucket: ABSplit.bucket(model: ModelsService.key(tenant: "t1", model: "ranker"), user: answer.user!), arms: arms), "seed \(seed) \(answer.user!)")
            }
            XCTAssertEqual(Set(served.compactMap(\.servedVersion)), [1, 2, 3])
            // Steady compute is at most 48 ms, plus a batch's 10 ms wait and 0.5 ms a row beyond the first.
            XCTAssertLessThanOrEqual(serving.computed.map(\.millis).max() ?? 0, 48 + 10 + 4, "seed \(seed): no cold prediction")
            XCTAssertTrue(serving.batchWaiting.isEmpty || serving.batchWaiting.values.allSatisfy { simulation.now - $0.admittedAt < 3 * Nanos.second },
                          "seed \(seed): every batched request was answered")
            XCTAssertGreaterThan(serving.batchSizes.filter { $0.key > 1 }.values.reduce(0, +), 0, "seed \(seed): some batches held several requests")
            let labelled = served.filter { $0.servedVersion == 3 }
            XCTAssertTrue(labelled.allSatisfy { $0.label == "0" || $0.label == "1" }, "seed \(seed): v3 answers integer labels")
            let legacyOnV3 = serving.answers.filter { $0.features?.contains("segment") == false && $0.status == 422 }
            XCTAssertFalse(legacyOnV3.isEmpty, "seed \(seed): an old client's request reached v3 and was refused")
            XCTAssertTrue(legacyOnV3.allSatisfy { $0.error?.contains("needs feature 'segment'") == true })
            // The text model answers each ticket as the offline replay through its training
            // pre-processing does (right padding), short tickets and the truncated long one alike.
            let texts = serving.textAnswers
            // About 4 tickets a second from when both replicas loaded the text model: its
            // deployment is consumed in its partition's order, behind any A/B arm sharing it
            // (each warmed up 2.34 s), so from 12-18 s until the run reaches its goal.
            XCTAssertGreaterThan(texts.count, 25, "seed \(seed): about 4 tickets a second once the text model is loaded")
            XCTAssertEqual(Set(texts.map(\.text)).count, ABTestWorkload.tickets.count, "seed \(seed): every ticket was answered")
            XCTAssertEqual(Set(texts.map(\.replica)), ["inference", "inference-b"], "seed \(seed): both replicas answered texts")
            for answer in texts {
                XCTAssertEqual(answer.p, ABTestWorkload.textArtifact.probability(text: answer.text) ?? -1, accuracy: 1e-6, "seed \(seed): '\(answer.text)'")
            }
        }
    }

    // Measured over 200 seeds (lite profile): B3, B5 and B7 each 200 of 200, first failing seed 1.
    // The bound of 5 seeds leaves room for changes that shift the interleavings.
    func testB3SplitDriftIsFoundByTheAssignmentCheckWithin5Seeds() {
        AB04.assertFound(.B3, checker: "ab-assignment", within: 5, messageContains: "but its arm is")
    }

    func testB5MissingWarmUpIsFoundByTheLatencyCheckWithin5Seeds() {
        AB04.assertFound(.B5, checker: "latency", within: 5, messageContains: "before it was warmed up")
    }

    func testB7SchemaDriftIsFoundByTheSchemaCheckWithin5Seeds() {
        AB04.assertFound(.B7, checker: "schema", within: 5, messageContains: "accepted a request without 'segment'")
    }

    func testB2DroppedPartialBatchIsFoundByTheBatchCheckWithin5Seeds() {
        AB04.assertFound(.B2, checker: "batch-answers", within: 5, messageContains: "longer than a batch can live")
    }

    func testB8FloatLabelIsFoundByTheOutputTypeCheckWithin5Seeds() {
        AB04.assertFound(.B8, checker: "output-type", within: 5, messageContains: "declares an integer class label, but answered label '1.0'")
    }

    // Measured over 200 seeds (lite profile): M10 200 of 200, first failing seed 1 (five of the
    // six tickets are shorter than the sequence, so nearly every answer shows it).
    func testM10LeftPaddingIsFoundByThePreprocessingParityCheckWithin5Seeds() {
        AB04.assertFound(.M10, checker: "preprocessing-parity", within: 5, messageContains: "the answer is the left-padded sequence's")
    }

    /// Without text traffic the parity check has nothing to judge and says so, rather than pass silently.
    func testThePreprocessingParityCheckExplainsWhyItCannotFireWithoutText() throws {
        var scenario = AB04.scenario
        XCTAssertNil(PreprocessingParityChecker.whyItCannotFire(in: scenario))
        let index = try XCTUnwrap(scenario.workloads.firstIndex { $0 is ABTestWorkload })
        var workload = try XCTUnwrap(scenario.workloads[index] as? ABTestWorkload)
        workload.textRequestsPerSecond = 0
        scenario.workloads[index] = workload
        XCTAssertEqual(PreprocessingParityChecker.whyItCannotFire(in: scenario), "ab_test.text_requests_per_s is 0: no text is sent to the text model")
    }

    func testEveryABDefectHasASeedFileThatReplays() throws {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("04_ab_test_disaster-") }.sorted()
        let covered = Set(try files.flatMap { try SeedFile.load(path: folder.appendingPathComponent($0).path).defects })
        XCTAssertEqual(covered, [.B2, .B3, .B5, .B7, .B8, .M10])
        for name in files {
            let verdict = Replay.run(try SeedFile.load(path: folder.appendingPathComponent(name).path), scenario: AB04.scenario)
            XCTAssertTrue(verdict.matches, "\(name): \(verdict.differences)")
        }
    }

    func testArmsThatAreNotTheWorkloadsVersionsOrDoNotSumAreRefused() {
        func load(_ arms: String) -> String? {
            let text = """
                name: ab
                topology:
                  platform: standard
                  nodes: [{name: client, role: client}]
                workloads:
                  ab_test: {arms: "\(arms)"}
                duration_s: 150
                """
            do { _ = try ScenarioLoader.parse(text, file: "ab.yaml"); return nil } catch { return error.description }
        }
        XCTAssertEqual(load("1:4000,2:3000,3:2000"), "ab.yaml:6: workloads.ab_test.arms: arms: weights sum to 9000 basis points, not 10000")
        XCTAssertEqual(load("2:5000,3:5000"), "ab.yaml:6: workloads.ab_test.arms: the arms must be versions 1, 2 (and 3) in order: the workload registers those")
        XCTAssertNil(load("1:5000,2:5000"))
    }
}

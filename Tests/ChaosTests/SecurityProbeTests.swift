import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 06: traversal probes of the artifact download, refused without the defect; I9 found
/// by `artifact-bucket`; the seed file replays.
final class SecurityProbeTests: XCTestCase {
    static let shipped = ShippedScenario("06_security_probe")
    static var scenario: Scenario { shipped.scenario }

    func run(seed: UInt64, defects: DefectSet) -> (Outcome, Simulation) { Self.shipped.simulate(seed: seed, defects: defects) }

    /// Without the defect every traversal is refused and logged, and the harmless spellings are
    /// served from the artifacts bucket.
    func testEveryTraversalIsRefusedAndTheHarmlessKeysServed() {
        let (outcome, simulation) = run(seed: 1, defects: .empty)
        XCTAssertEqual(outcome, .passed)
        let security = simulation.security
        XCTAssertGreaterThan(security.refusals.count, 20, "the attacker's probes were refused")
        XCTAssertTrue(security.refusals.allSatisfy { SecurityProbeWorkload.traversals.contains($0.detail) }, "only traversals refused")
        XCTAssertFalse(security.downloads.isEmpty)
        XCTAssertTrue(security.downloads.allSatisfy { $0.bucket == "artifacts" && $0.key == SecurityProbeWorkload.report })
    }

    /// With I9 a traversal reads the checkpoint, and `artifact-bucket` names it.
    func testI9IsFoundByTheArtifactBucketCheck() {
        let (outcome, _) = run(seed: 1, defects: DefectSet([.I9]))
        XCTAssertEqual(outcome.checker, "artifact-bucket")
        XCTAssertTrue(outcome.message.contains("storage served checkpoints/secret-model/ckpt-1"), outcome.message)
    }

    /// The shipped seed file replays to its outcome, checker and fingerprint.
    func testTheI9SeedFileReplays() throws {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("06_security_probe-") }
        XCTAssertEqual(files.count, 1)
        for name in files {
            let seedFile = try SeedFile.load(path: folder.appendingPathComponent(name).path)
            let verdict = Replay.run(seedFile, scenario: Self.scenario)
            XCTAssertTrue(verdict.matches, "\(name): \(verdict.differences)")
        }
    }

    /// The checker on planted observations: a download from another bucket is a violation.
    func testArtifactBucketNamesADownloadFromAnotherBucket() {
        let checker = ArtifactBucketChecker(scenario: Self.scenario)
        let simulation = Simulation(seed: 1)
        checker.observations = simulation.security
        simulation.security.downloads = [(at: 1, caller: "eve", asked: "reports/q3", bucket: "artifacts", key: "reports/q3")]
        XCTAssertNil(checker.check(simulation))
        simulation.security.downloads.append((at: 2, caller: "eve", asked: "../checkpoints/c", bucket: "checkpoints", key: "c"))
        XCTAssertEqual(checker.check(simulation), "storage served checkpoints/c to eve, who asked for artifact '../checkpoints/c': a key outside the artifacts bucket was read")
    }
}

import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Every seed file in Seeds/ replays with its recorded outcome and fingerprint.
final class ReplayTests: XCTestCase {
    static let seedFiles: [String] = {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".seed") && $0.hasPrefix("05_") }.sorted().map { folder.appendingPathComponent($0).path }
    }()

    private func replay(_ defect: DefectID) {
        let matching = Self.seedFiles.filter { URL(fileURLWithPath: $0).lastPathComponent.contains("-\(defect.rawValue)-") }
        XCTAssertFalse(matching.isEmpty, "no seed file for \(defect)")
        for path in matching {
            let file = try! SeedFile.load(path: path)
            XCTAssertEqual(file.scenarioDigest, hex64(Chaos05.scenario.digest), "\(path) was recorded for another version of the scenario")
            let verdict = Replay.run(file, scenario: Chaos05.scenario)
            XCTAssertTrue(verdict.matches, "\(path): \(verdict.differences)")
            XCTAssertTrue(verdict.result.outcome.isFailure)
        }
    }

    func testSeedFileOfA1Replays() { replay(.A1) }
    func testSeedFileOfA2Replays() { replay(.A2) }
    func testSeedFileOfA9Replays() { replay(.A9) }
    func testSeedFileOfF10Replays() { replay(.F10) }
    func testSeedFileOfM7Replays() { replay(.M7) }
    func testSeedFileOfM2Replays() { replay(.M2) }

    /// Every defect of scenario 05 has a seed file, and every scenario-05 seed file in Seeds/ is
    /// for a catalogued defect of this scenario and replays (the per-defect tests above replay them).
    func testEverySeedFileIsCovered() throws {
        let defects = DefectID.allCases.filter { DefectCatalogue.entry($0).scenario == "05_distributed_training_hang" }
        for path in Self.seedFiles {
            let file = try SeedFile.load(path: path)
            XCTAssertEqual(file.defects.count, 1, "\(path): one defect per shipped seed file")
            XCTAssertTrue(file.defects.allSatisfy(defects.contains), "\(path): \(file.defects) are not scenario 05's defects")
            XCTAssertTrue(URL(fileURLWithPath: path).lastPathComponent.contains("-\(file.defects.first?.rawValue ?? "?")-"), "\(path) is named for another defect")
        }
        let covered = Set(try Self.seedFiles.flatMap { try SeedFile.load(path: $0).defects })
        XCTAssertEqual(covered, Set(defects))
    }

    func testSeedFileRoundTripsAndATamperedFingerprintIsReported() throws {
        let configuration = RunConfiguration(scenario: Chaos05.scenario, seed: 3, defects: DefectSet([.A9]))
        let result = ScenarioRunner.run(configuration)
        var file = SeedFile(configuration: configuration, result: result)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(getpid()).seed").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try file.encoded().write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try SeedFile.load(path: path), file)
        file.fingerprint = "0x0000000000000000"
        let verdict = Replay.run(file, scenario: Chaos05.scenario)
        XCTAssertFalse(verdict.matches)
        XCTAssertTrue(verdict.differences.contains { $0.hasPrefix("fingerprint") }, "\(verdict.differences)")
    }

    func testMalformedSeedFilesGiveOneLineErrors() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(getpid()).seed").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("{\"format_version\": 1, \"seed\": \"x\"}".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SeedFile.load(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": "), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SeedFile.load(path: path)) { XCTAssertTrue("\($0)".contains("document"), "\($0)") }
        XCTAssertThrowsError(try SeedFile.load(path: "/nonexistent/x.seed")) { XCTAssertEqual("\($0)", "/nonexistent/x.seed: file: no such file") }
    }

}

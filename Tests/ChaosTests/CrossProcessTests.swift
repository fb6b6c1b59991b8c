import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// The same seed gives the same parameters at step k (the checkpoint of step 20) and the same
/// fingerprint in separate processes, each with its own hash seed.
final class CrossProcessTests: XCTestCase {
    /// The hash of the step-20 checkpoint's parameters and the run's fingerprint, for seed 11 under
    /// the swarm profile.
    static func measure() -> String {
        let scenario = Chaos05.scenario
        let configuration = RunConfiguration(scenario: scenario, seed: 11, defects: .empty, faults: scenario.faultOptions(seed: 11, profile: .swarm))
        let simulation = Simulation(seed: 11, options: ScenarioRunner.options(for: scenario))
        ScenarioRunner.build(simulation, configuration)
        simulation.run()
        let store = simulation.node(named: "minio")!  // the object: a CRC-32 header, then the checkpoint
        let checkpoint = try! Checkpoint.decode(Array(try! store.disk.readAll("buckets/checkpoints/o/checkpoints/job-1/step-000020").dropFirst(4)))
        let parameterHash = checkpoint.parameters.reduce(UInt64(0)) { mix64($0, UInt64($1.bitPattern)) }
        return "\(hex64(parameterHash)) \(hex64(simulation.trace.fingerprint))"
    }

    /// Run directly it checks two in-process runs agree; run as a child it also writes its result.
    func testChildWritesParameterHash() throws {
        let value = Self.measure()
        if let path = ProcessInfo.processInfo.environment["SYNAPSENET_CHILD_OUTPUT"] {
            try value.write(toFile: path, atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(value, Self.measure())
    }

    func testParameterHashAtStepKIsIdenticalInTwoProcesses() throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var results: [String] = []
        for child in 0 ..< 2 {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("params-\(getpid())-\(child).txt")
            defer { try? FileManager.default.removeItem(at: output) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["ChaosTests.CrossProcessTests/testChildWritesParameterHash"]
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "SWIFT_DETERMINISTIC_HASHING")
            environment["SYNAPSENET_CHILD_OUTPUT"] = output.path
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
            results.append(try String(contentsOf: output, encoding: .utf8))
        }
        let here = Self.measure()
        XCTAssertEqual(results, [here, here])
    }
}

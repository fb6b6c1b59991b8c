import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Shared helpers of the chaos suites.
enum Chaos05 {
    /// The package root, found from this file's path (tests run from any directory).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let scenario: Scenario = {
        try! ScenarioLoader.load(nameOrPath: packageRoot.appendingPathComponent("Scenarios/05_distributed_training_hang.yaml").path)
    }()

    /// Runs scenario 05 with `seed`, the given defects and fault profile.
    static func run(seed: UInt64, defects: [DefectID] = [], profile: FaultProfile? = nil,
                    adjust: (inout Scenario) -> Void = { _ in }) -> RunResult {
        var scenario = self.scenario
        adjust(&scenario)
        let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: DefectSet(defects),
                                             faults: scenario.faultOptions(seed: seed, profile: profile))
        return ScenarioRunner.run(configuration)
    }

    /// Runs scenario 05 like `run` and keeps the simulation, for its training observations.
    static func simulate(seed: UInt64, defects: [DefectID] = [], profile: FaultProfile? = nil) -> (Outcome, Simulation) {
        let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: DefectSet(defects),
                                             faults: scenario.faultOptions(seed: seed, profile: profile))
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
        _ = ScenarioRunner.build(simulation, configuration)
        return (simulation.run(), simulation)
    }

    /// Asserts a run passed and the job learned.
    static func assertHealthy(_ result: RunResult, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.outcome, .passed, "seed \(seed): \(result.outcome)", file: file, line: line)
        XCTAssertEqual(result.workerClocks, [40, 40, 40], "seed \(seed)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(result.finalAccuracy ?? 0, 0.8, "seed \(seed)", file: file, line: line)
    }

    /// The first seed in `seeds` whose run fails with `checker`, with its result.
    static func firstFailure(defect: DefectID, checker: String, seeds: ClosedRange<UInt64>) -> (UInt64, RunResult)? {
        for seed in seeds {
            let result = run(seed: seed, defects: [defect])
            if result.outcome.isFailure {
                XCTAssertEqual(result.outcome.checker, checker, "defect \(defect) seed \(seed) failed differently: \(result.outcome)")
                return (seed, result)
            }
        }
        return nil
    }
}

/// A shipped scenario (Scenarios/NAME.yaml) for the tests: its configurations and the assertion
/// that a defect is found within a number of seeds by its checker.
struct ShippedScenario {
    let scenario: Scenario

    init(_ name: String) {
        scenario = try! ScenarioLoader.load(nameOrPath: Chaos05.packageRoot.appendingPathComponent("Scenarios/\(name).yaml").path)
    }

    func configuration(seed: UInt64, defects: [DefectID], profile: FaultProfile? = nil) -> RunConfiguration {
        RunConfiguration(scenario: scenario, seed: seed, defects: DefectSet(defects), faults: scenario.faultOptions(seed: seed, profile: profile))
    }

    func run(seed: UInt64, defects: [DefectID] = [], profile: FaultProfile? = nil) -> RunResult {
        ScenarioRunner.run(configuration(seed: seed, defects: defects, profile: profile))
    }

    /// A run with the scenario's own faults, keeping the simulation for inspecting what the
    /// platform observed.
    func simulate(seed: UInt64, defects: DefectSet) -> (Outcome, Simulation) {
        var configuration = RunConfiguration(scenario: scenario, seed: seed)
        configuration.defects = defects
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
        _ = ScenarioRunner.build(simulation, configuration)
        return (simulation.run(), simulation)
    }

    /// Asserts that `defect` fails a run within seeds 1...`seeds`, by `checker`, with `phrase` in its message.
    func assertFound(_ defect: DefectID, checker: String, within seeds: UInt64, messageContains phrase: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        for seed in 1 ... seeds {
            let result = run(seed: seed, defects: [defect])
            guard result.outcome.isFailure else { continue }
            XCTAssertEqual(result.outcome.checker, checker, "\(defect) seed \(seed): \(result.outcome)", file: file, line: line)
            XCTAssertTrue(result.outcome.message.contains(phrase), "\(defect) seed \(seed): \(result.outcome.message)", file: file, line: line)
            return
        }
        XCTFail("\(defect) not found within \(seeds) seeds", file: file, line: line)
    }

    /// Asserts that `defect`, within seeds 1...`seeds`, yields a finding of `checker` whose message
    /// contains `phrase` (first or not: the run keeps going after its first finding).
    func assertFinding(_ defect: DefectID, checker: String, within seeds: UInt64, messageContains phrase: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        for seed in 1 ... seeds {
            let result = run(seed: seed, defects: [defect])
            if ([result.outcome] + result.findings).contains(where: { $0.checker == checker && $0.message.contains(phrase) }) { return }
        }
        XCTFail("\(defect): no \(checker) finding within \(seeds) seeds", file: file, line: line)
    }
}

/// Runs `act` once, on the first traced message that `node` sends whose summary contains `text`:
/// a fault placed at an exact point of a run (a crash during completion, a lost answer).
final class OnFirstSend: TraceSink {
    let node: String, text: String
    let act: () -> Void
    private(set) var fired = false
    init(node: String, containing text: String, _ act: @escaping () -> Void) {
        self.node = node
        self.text = text
        self.act = act
    }
    func record(_ record: TraceRecord) {
        guard !fired, record.kind == TraceKind.netSend.name, record.node == node, record.detail.contains(text) else { return }
        fired = true
        act()
    }
    func finish(fingerprint: UInt64) {}
}

extension Chaos05 {
    /// Scenario 05 without defects or random faults, built with `sink` on the trace.
    static func faultFreeSimulation(seed: UInt64, sink: TraceSink) -> Simulation {
        let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: .empty, faults: scenario.faultOptions(seed: seed, profile: FaultProfile.none))
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
        simulation.trace.add(sink: sink)
        ScenarioRunner.build(simulation, configuration)
        return simulation
    }
}

/// Runs the simrun executable built beside the tests in `directory`; returns its exit status,
/// standard output and standard error.
func runSimrun(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ExploreTests.simrun)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile(), err = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}


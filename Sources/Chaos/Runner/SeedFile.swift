import Foundation
import SimKernel
import SimServices

/// A failure (or any run) written down so it replays exactly: the inputs of the run and what it
/// produced. JSON, keys sorted, stable across runs.
public struct SeedFile: Codable, Equatable, Sendable {
    public struct RecordedOutcome: Codable, Equatable, Sendable {
        public var kind: String
        public var checker: String?
        public var virtualNanoseconds: Int64?
        public var message: String
    }

    public var formatVersion = 1
    public var simulatorVersion: String
    public var scenario: String
    /// The scenario file's digest (FNV-1a of its text, hex).
    public var scenarioDigest: String
    public var seed: UInt64
    public var defects: [DefectID]
    public var faults: FaultOptions
    public var outcome: RecordedOutcome
    public var fingerprint: String
    public var events: UInt64
    /// `random` (also when absent) or `pct:D`.
    public var strategy: String?
    /// Iterations per worker when a shrinker shortened the workload (absent: the scenario's).
    public var workloadSteps: Int?
    /// Whether the run went on after safety violations (absent: it stopped at the first).
    public var keepGoing: Bool?
    /// Whether BUGGIFY fault points were on (absent: off).
    public var buggify: Bool?
    /// Every finding of a run that went on, in order (the outcome is the first).
    public var findings: [RecordedOutcome]?

    public init(configuration: RunConfiguration, result: RunResult) {
        simulatorVersion = ScenarioRunner.simulatorVersion
        scenario = configuration.scenario.name
        scenarioDigest = hex64(configuration.scenario.digest)
        seed = configuration.seed
        defects = configuration.defects.ids
        faults = configuration.faults
        outcome = RecordedOutcome(kind: result.outcome.kind, checker: result.outcome.checker, virtualNanoseconds: result.outcome.time,
                                  message: result.outcome.message)
        fingerprint = hex64(result.fingerprint)
        events = result.events
        if case .pct(let depth) = configuration.strategy { strategy = "pct:\(depth)" }
        workloadSteps = configuration.workloadSteps
        if configuration.buggify { buggify = true }
        if configuration.keepGoing {
            keepGoing = true
            findings = result.findings.map { RecordedOutcome(kind: $0.kind, checker: $0.checker, virtualNanoseconds: $0.time, message: $0.message) }
        }
    }

    /// The configuration this file records, on `scenario`.
    public func configuration(scenario: Scenario) -> RunConfiguration {
        var configuration = RunConfiguration(scenario: scenario, seed: seed, defects: DefectSet(defects), faults: faults,
                         strategy: strategy.flatMap { SchedulingStrategy(parsing: $0) } ?? .random, workloadSteps: workloadSteps,
                         keepGoing: keepGoing ?? false)
        configuration.buggify = buggify ?? false
        return configuration
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    /// Reads a seed file; errors name the file and what is wrong.
    public static func load(path: String) throws(ScenarioError) -> SeedFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError(file: path, line: nil, field: "file", problem: "cannot read the file")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            let file = try decoder.decode(SeedFile.self, from: data)
            guard file.formatVersion == 1 else {
                throw ScenarioError(file: path, line: nil, field: "format_version", problem: "unsupported version \(file.formatVersion)")
            }
            if let strategy = file.strategy, SchedulingStrategy(parsing: strategy) == nil {
                throw ScenarioError(file: path, line: nil, field: "strategy", problem: "unknown strategy '\(strategy)' (random, pct, pct:D)")
            }
            return file
        } catch let error as ScenarioError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw ScenarioError(file: path, line: nil, field: (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."), problem: "missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ScenarioError(file: path, line: nil, field: context.codingPath.map(\.stringValue).joined(separator: "."), problem: context.debugDescription)
        } catch let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ScenarioError(file: path, line: nil, field: field.isEmpty ? "document" : field, problem: "not valid: \(context.debugDescription)")
        } catch {
            throw ScenarioError(file: path, line: nil, field: "document", problem: "\(error)")
        }
    }

    /// The default file name: `<scenario>-<defects>-<checker>-<seed>.seed`.
    public var suggestedName: String {
        let defectPart = defects.isEmpty ? "nodefects" : defects.map(\.rawValue).joined(separator: "+")
        return "\(scenario)-\(defectPart)-\(outcome.checker ?? outcome.kind)-\(seed).seed"
    }
}

/// Replays a seed file: same inputs, then compares the outcome and the fingerprint.
public enum Replay {
    public struct Verdict: Sendable {
        public var result: RunResult
        public var matches: Bool
        public var differences: [String]
    }

    public static func run(_ file: SeedFile, scenario: Scenario) -> Verdict {
        let result = ScenarioRunner.run(file.configuration(scenario: scenario))
        var differences: [String] = []
        if result.outcome.kind != file.outcome.kind { differences.append("outcome \(result.outcome.kind), recorded \(file.outcome.kind)") }
        if result.outcome.checker != file.outcome.checker {
            differences.append("checker \(result.outcome.checker ?? "-"), recorded \(file.outcome.checker ?? "-")")
        }
        if hex64(result.fingerprint) != file.fingerprint { differences.append("fingerprint \(hex64(result.fingerprint)), recorded \(file.fingerprint)") }
        if result.events != file.events { differences.append("events \(result.events), recorded \(file.events)") }
        return Verdict(result: result, matches: differences.isEmpty, differences: differences)
    }
}

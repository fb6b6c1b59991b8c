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
    /// The scenario file's text, so that the seed replays wherever the scenario came from (a path
    /// outside `Scenarios/`, a file since deleted or edited). Absent in files of format 1 written
    /// before it existed: those replay the shipped scenario of that name.
    public var scenarioText: String?

    public init(configuration: RunConfiguration, result: RunResult) {
        simulatorVersion = ScenarioRunner.simulatorVersion
        scenario = configuration.scenario.name
        scenarioDigest = hex64(configuration.scenario.digest)
        scenarioText = configuration.scenario.text
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

    /// Longest workload a seed file may ask for, in iterations per worker.
    public static let longestWorkload = 1_000_000

    /// Reads a seed file; errors name the file, the line and the field. The JSON must be strict
    /// (`StrictJSON`: no duplicate keys, no trailing commas) and hold only known keys, each value in
    /// range. The faults are checked against the scenario by `resolve(path:)`.
    public static func load(path: String) throws(ScenarioError) -> SeedFile {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(path) } catch { throw ScenarioError(file: path, line: nil, field: "file", problem: error.problem) }
        let tree: StrictJSON.Value
        do { tree = try StrictJSON.parse(bytes, integersOnly: true) } catch {
            throw ScenarioError(file: path, line: error.line, field: "document", problem: "not valid JSON: \(error.problem)")
        }
        let lines = tree.lines()
        func fail(_ field: String, _ problem: String) -> ScenarioError {
            var key = field, line = lines[field]
            while line == nil, let cut = key.lastIndex(where: { $0 == "." || $0 == "[" }) {
                key = String(key[..<cut])
                line = lines[key]
            }
            return ScenarioError(file: path, line: line, field: field.isEmpty ? "document" : field, problem: problem)
        }
        guard case .object = tree else { throw fail("", "expected a JSON object") }
        if let negative = tree.negativeNumber(under: ["seed", "events", "numerator", "denominator", "format_version"]) {
            throw fail(negative, "expected an integer of 0 or more")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let file: SeedFile
        do {
            file = try decoder.decode(SeedFile.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw fail(fieldPath(context.codingPath + [key]), "missing")
        } catch let DecodingError.typeMismatch(type, context) {
            throw fail(fieldPath(context.codingPath), "expected \(typeName(type))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw fail(fieldPath(context.codingPath), "expected \(typeName(type)), got null")
        } catch let DecodingError.dataCorrupted(context) {
            throw fail(fieldPath(context.codingPath), context.debugDescription)
        } catch {
            throw fail("", "\(error)")
        }
        // A key the format does not have (a typo, a camelCase spelling, a field of another version)
        // would be ignored by the decoder: refuse it, so the file means what it shows.
        if let encoded = try? file.encoded(), let again = try? StrictJSON.parse(Array(encoded)), let unknown = tree.firstPathMissing(in: again) {
            throw fail(unknown, "unknown key")
        }
        guard file.formatVersion == 1 else { throw fail("format_version", "unsupported version \(file.formatVersion) (this simulator reads 1)") }
        if let strategy = file.strategy, SchedulingStrategy(parsing: strategy) == nil {
            throw fail("strategy", "unknown strategy '\(strategy)' (random, pct, pct:D)")
        }
        guard !file.simulatorVersion.isEmpty else { throw fail("simulator_version", "empty") }
        let kinds = ["passed", "violation", "deadlock", "liveness_timeout", "out_of_events", "simulator_fault"]
        for (field, outcome) in [("outcome", file.outcome)] + (file.findings ?? []).enumerated().map { ("findings[\($0.offset)]", $0.element) } {
            guard kinds.contains(outcome.kind) else { throw fail("\(field).kind", "unknown outcome '\(outcome.kind)' (\(kinds.joined(separator: ", ")))") }
            if let time = outcome.virtualNanoseconds, time < 0 { throw fail("\(field).virtual_nanoseconds", "\(time) is negative") }
        }
        if let duplicate = file.defects.enumerated().first(where: { file.defects[..<$0.offset].contains($0.element) }) {
            throw fail("defects[\(duplicate.offset)]", "\(duplicate.element.rawValue) is listed twice")
        }
        if let steps = file.workloadSteps, !(1 ... longestWorkload).contains(steps) {
            throw fail("workload_steps", "\(steps) is out of range 1...\(longestWorkload)")
        }
        guard ScenarioLoader.isSafeName(file.scenario) else {
            throw fail("scenario", "'\(file.scenario)' is not a scenario name (letters, digits, '_', '-' and '.')")
        }
        for (field, value) in [("scenario_digest", file.scenarioDigest), ("fingerprint", file.fingerprint)] {
            guard value.count == 18, value.hasPrefix("0x"), UInt64(value.dropFirst(2), radix: 16) != nil else {
                throw fail(field, "expected 0x and 16 hex digits, got '\(value.prefix(40))'")
            }
        }
        return file
    }

    /// Reads a seed file and the scenario it was recorded on (its embedded text, or for an older
    /// file the shipped scenario of its name, unchanged since), and checks the file's faults,
    /// defects and workload against that scenario.
    public static func resolve(path: String) throws(ScenarioError) -> (SeedFile, Scenario) {
        let file = try load(path: path)
        let lines = (try? InputFile.read(path)).flatMap { try? StrictJSON.parse($0) }?.lines() ?? [:]
        func fail(_ field: String, _ problem: String) -> ScenarioError {
            var key = field, line = lines[field]
            while line == nil, let cut = key.lastIndex(where: { $0 == "." || $0 == "[" }) {
                key = String(key[..<cut])
                line = lines[key]
            }
            return ScenarioError(file: path, line: line, field: field, problem: problem)
        }
        let scenario: Scenario
        if let text = file.scenarioText {
            scenario = try ScenarioLoader.parse(text, file: "\(path) (scenario_text)")
            guard hex64(scenario.digest) == file.scenarioDigest else {
                throw fail("scenario_text", "does not match scenario_digest (\(hex64(scenario.digest)) != \(file.scenarioDigest)): the text was edited")
            }
            guard scenario.name == file.scenario else { throw fail("scenario", "'\(file.scenario)', but the embedded scenario is named '\(scenario.name)'") }
        } else {
            guard ScenarioLoader.shippedNames().contains(file.scenario) else {
                throw fail("scenario", "no shipped scenario '\(file.scenario)' and no scenario_text in the file")
            }
            scenario = try ScenarioLoader.load(nameOrPath: file.scenario)
            guard hex64(scenario.digest) == file.scenarioDigest else {
                throw fail("scenario_digest", "the scenario file \(file.scenario).yaml changed since this seed was recorded (\(hex64(scenario.digest)) != \(file.scenarioDigest))")
            }
        }
        for (index, defect) in file.defects.enumerated() {
            if let why = scenario.whyDefectCannotFire(defect) { throw fail("defects[\(index)]", why) }
        }
        if let (field, problem) = file.faults.problem(nodes: scenario.allNodes, crashable: scenario.crashableNodes) { throw fail(field, problem) }
        if file.faults.healAtMs > scenario.durationSeconds * 1000 {
            throw fail("faults.heal_at_ms", "\(file.faults.healAtMs) ms is after the scenario's horizon of \(scenario.durationSeconds) s")
        }
        let checks = Set(scenario.checks + ["deadlock", "event-budget", "simulator"])
        for (field, outcome) in [("outcome", file.outcome)] + (file.findings ?? []).enumerated().map({ ("findings[\($0.offset)]", $0.element) }) {
            if let checker = outcome.checker, !checks.contains(checker) {
                throw fail("\(field).checker", "'\(checker)' is not a check of scenario \(scenario.name) (\(scenario.checks.joined(separator: ", ")))")
            }
        }
        if let steps = file.workloadSteps {
            guard let job = scenario.trainingJob else { throw fail("workload_steps", "the scenario has no training workload to shorten") }
            guard steps <= job.configuration.job.steps else {
                throw fail("workload_steps", "\(steps) is more than the scenario's \(job.configuration.job.steps) steps")
            }
        }
        return (file, scenario)
    }

    /// `faults.crashes[0].node` from a decoder's coding path.
    static func fieldPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + snakeCase(key.stringValue) }
        }
        return text
    }

    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
        return result
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is UInt64.Type: return "an integer"
        case is Double.Type: return "a number"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") || name.contains("KeyedDecodingContainer") { return "an object" }
            return name
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

    /// Re-runs `file`; `sinks` receive the run's trace (a replay is the same run, so its trace is
    /// the recorded run's).
    public static func run(_ file: SeedFile, scenario: Scenario, sinks: [TraceSink] = []) -> Verdict {
        let result = ScenarioRunner.run(file.configuration(scenario: scenario), sinks: sinks)
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

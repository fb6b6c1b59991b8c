import Foundation
import SimKernel

/// A knob of a user's system: a whole number the run reads (writes to make, clients, crashes...),
/// with its default and the smallest value that still makes sense. `shrink` lowers knobs towards
/// their minimum while the failure stays the same.
public struct Knob: Sendable, Equatable {
    public var name: String
    public var value: Int
    public var minimum: Int

    public init(_ name: String, _ value: Int, minimum: Int = 0) {
        precondition(minimum <= value, "knob \(name): default \(value) below its minimum \(minimum)")
        self.name = name
        self.value = value
        self.minimum = minimum
    }
}

/// The knob values of one run, in the order the system declares its knobs.
public struct Knobs: Sendable, Equatable, CustomStringConvertible {
    public private(set) var values: [(name: String, value: Int)]

    public init(_ values: [(name: String, value: Int)]) { self.values = values }

    /// The value of `name`; a name the system does not declare is a programming error.
    public subscript(name: String) -> Int {
        get {
            guard let found = values.first(where: { $0.name == name }) else { preconditionFailure("no knob named \(name) (knobs: \(values.map(\.name).joined(separator: ", ")))") }
            return found.value
        }
        set {
            guard let index = values.firstIndex(where: { $0.name == name }) else { preconditionFailure("no knob named \(name)") }
            values[index].value = newValue
        }
    }

    public var description: String { values.map { "\($0.name)=\($0.value)" }.joined(separator: " ") }

    public static func == (a: Knobs, b: Knobs) -> Bool { a.values.elementsEqual(b.values, by: { $0 == $1 }) }
}

/// What one run of a system gave.
public struct SystemRun: Sendable, Equatable {
    public var seed: UInt64
    public var knobs: Knobs
    public var outcome: Outcome
    public var fingerprint: UInt64
    public var events: UInt64
    public var virtualNanoseconds: Int64
}

/// A user's own simulated system, explorable as the built-in scenarios are: `run` one seed,
/// `explore` a range of seeds (in parallel, resumable, a seed file per failure), `replay` a seed
/// file, `shrink` it (knobs lowered while the failure stays), and `report` it as an HTML page.
///
/// `build` gets a fresh simulation (seeded, with `options`) and the run's knob values, and adds the
/// system's nodes, processes, faults and checkers; the tooling then runs it. Everything `build`
/// does must come from the simulation and the knobs, so a seed and knob values replay exactly.
public struct SimulationSystem: Sendable {
    public var name: String
    public var knobs: [Knob]
    public var options: SimulationOptions
    public var build: @Sendable (Simulation, Knobs) -> Void

    public init(name: String, knobs: [Knob] = [], options: SimulationOptions = SimulationOptions(), build: @escaping @Sendable (Simulation, Knobs) -> Void) {
        precondition(!name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }, "a system's name is letters, digits, - and _: '\(name)'")
        precondition(Set(knobs.map(\.name)).count == knobs.count, "knob names repeat: \(knobs.map(\.name))")
        self.name = name
        self.knobs = knobs
        self.options = options
        self.build = build
    }

    /// The knobs at their defaults.
    public var defaultKnobs: Knobs { Knobs(knobs.map { ($0.name, $0.value) }) }

    /// Runs `seed` with `knobs` (default: the defaults); `sinks` receive the trace.
    public func run(seed: UInt64, knobs: Knobs? = nil, sinks: [TraceSink] = []) -> SystemRun {
        let knobs = knobs ?? defaultKnobs
        for knob in self.knobs { precondition(knobs[knob.name] >= knob.minimum, "knob \(knob.name): \(knobs[knob.name]) is below its minimum \(knob.minimum)") }
        let simulation = Simulation(seed: seed, options: options)
        for sink in sinks { simulation.trace.add(sink: sink) }
        build(simulation, knobs)
        let outcome = simulation.run()
        return SystemRun(seed: seed, knobs: knobs, outcome: outcome, fingerprint: simulation.trace.fingerprint,
                         events: simulation.eventCount, virtualNanoseconds: simulation.now)
    }

    /// The knobs of a seed file, checked against the system's: each known, none missing.
    func knobs(of file: SystemSeedFile) throws(SystemFileError) -> Knobs {
        var result = defaultKnobs
        for (name, value) in file.knobs {
            guard knobs.contains(where: { $0.name == name }) else {
                throw SystemFileError(path: file.path ?? "seed file", field: "knobs.\(name)", message: "system \(self.name) has no knob \(name) (knobs: \(knobs.map(\.name).joined(separator: ", ")))")
            }
            if let knob = knobs.first(where: { $0.name == name }), value < knob.minimum {
                throw SystemFileError(path: file.path ?? "seed file", field: "knobs.\(name)", message: "\(value) is below the knob's minimum \(knob.minimum)")
            }
            result[name] = value
        }
        if let missing = knobs.first(where: { knob in !file.knobs.contains { $0.0 == knob.name } }) {
            throw SystemFileError(path: file.path ?? "seed file", field: "knobs", message: "knob \(missing.name) is missing")
        }
        return result
    }

    /// Runs a seed file's seed and knobs again and compares what it gives with what it recorded.
    public func replay(_ file: SystemSeedFile) throws(SystemFileError) -> ReplayVerdict {
        guard file.system == name else { throw SystemFileError(path: file.path ?? "seed file", field: "system", message: "the file is for system \(file.system), not \(name)") }
        let run = run(seed: file.seed, knobs: try knobs(of: file))
        var differences: [String] = []
        if run.outcome.kind != file.outcome || run.outcome.checker != file.checker { differences.append("outcome \(run.outcome.kind) [\(run.outcome.checker ?? "-")], recorded \(file.outcome) [\(file.checker ?? "-")]") }
        if run.fingerprint != file.fingerprint { differences.append("fingerprint \(hex64(run.fingerprint)), recorded \(hex64(file.fingerprint))") }
        if run.events != file.events { differences.append("events \(run.events), recorded \(file.events)") }
        return ReplayVerdict(run: run, differences: differences)
    }

    /// A seed file recording `run`.
    public func seedFile(for run: SystemRun) -> SystemSeedFile {
        SystemSeedFile(system: name, seed: run.seed, knobs: run.knobs.values, outcome: run.outcome.kind, checker: run.outcome.checker,
                       message: run.outcome.message, at: run.outcome.time, fingerprint: run.fingerprint, events: run.events, virtualNanoseconds: run.virtualNanoseconds)
    }
}

/// A replay's verdict: the run, and how it differs from the file (empty: it matches).
public struct ReplayVerdict: Sendable {
    public var run: SystemRun
    public var differences: [String]
    public var matches: Bool { differences.isEmpty }
}

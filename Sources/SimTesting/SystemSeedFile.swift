import Foundation
import SimKernel

/// A bad seed file or results file: which file, where (line, when known), which field, and why.
public struct SystemFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var field: String
    public var message: String

    public init(path: String, line: Int? = nil, field: String, message: String) {
        self.path = path
        self.line = line
        self.field = field
        self.message = message
    }

    /// One line: `path:line: field: message`.
    public var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(field): \(message)" }
}

/// A failing (or any) run of a user's system, as a file: the system, the seed, the knob values,
/// and what the run gave (outcome, checker, message, fingerprint, events). JSON, one field a
/// line, so a person can read it and `replay` can check it bit for bit.
public struct SystemSeedFile: Sendable, Equatable {
    public static let format = "simkernel-system-seed/1"
    public var system: String
    public var seed: UInt64
    public var knobs: [(String, Int)]
    public var outcome: String
    public var checker: String?
    public var message: String
    public var at: Int64?
    public var fingerprint: UInt64
    public var events: UInt64
    public var virtualNanoseconds: Int64
    /// Where it was loaded from (nil when made in memory).
    public var path: String?

    public init(system: String, seed: UInt64, knobs: [(String, Int)], outcome: String, checker: String?, message: String, at: Int64?,
                fingerprint: UInt64, events: UInt64, virtualNanoseconds: Int64) {
        self.system = system
        self.seed = seed
        self.knobs = knobs
        self.outcome = outcome
        self.checker = checker
        self.message = message
        self.at = at
        self.fingerprint = fingerprint
        self.events = events
        self.virtualNanoseconds = virtualNanoseconds
    }

    public static func == (a: SystemSeedFile, b: SystemSeedFile) -> Bool {
        a.system == b.system && a.seed == b.seed && a.knobs.elementsEqual(b.knobs, by: { $0 == $1 }) && a.outcome == b.outcome && a.checker == b.checker
            && a.message == b.message && a.at == b.at && a.fingerprint == b.fingerprint && a.events == b.events && a.virtualNanoseconds == b.virtualNanoseconds
    }

    /// The file's name in a folder of seed files: `<system>-<checker or outcome>-<seed>.seed`.
    public var fileName: String {
        let label = (checker ?? outcome).map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        return "\(system)-\(String(label))-\(seed).seed"
    }

    /// The file's text.
    public var text: String {
        var lines = [
            "  \"format\": \(quoted(Self.format))",
            "  \"system\": \(quoted(system))",
            "  \"seed\": \(seed)",
            "  \"knobs\": {" + knobs.map { "\(quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}",
            "  \"outcome\": \(quoted(outcome))",
        ]
        if let checker { lines.append("  \"checker\": \(quoted(checker))") }
        lines.append("  \"message\": \(quoted(message))")
        if let at { lines.append("  \"at_ns\": \(at)") }
        lines += ["  \"fingerprint\": \(quoted(hex64(fingerprint)))", "  \"events\": \(events)", "  \"virtual_ns\": \(virtualNanoseconds)"]
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }

    /// Writes the file whole (to a temporary name, then renamed: never half-written).
    public func write(to path: String) throws(SystemFileError) {
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else {
            throw SystemFileError(path: path, field: "file", message: "cannot be written")
        }
        do {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            throw SystemFileError(path: path, field: "file", message: "cannot be written: \(error.localizedDescription)")
        }
    }

    /// Loads and checks a seed file (strict JSON: no duplicate keys, no trailing commas): every
    /// field present with its type, nothing unknown. Errors name the file, the line and the field.
    public static func load(path: String) throws(SystemFileError) -> SystemSeedFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw SystemFileError(path: path, field: "file", message: "cannot be read") }
        let root: StrictJSON.Value
        do {
            root = try StrictJSON.parse(Array(data), integersOnly: true)
        } catch {
            throw SystemFileError(path: path, line: error.line, field: "file", message: error.problem)
        }
        guard case .object(let members) = root else { throw SystemFileError(path: path, line: 1, field: "file", message: "must be a JSON object") }
        let lines = root.lines()
        func fail(_ field: String, _ message: String) -> SystemFileError { SystemFileError(path: path, line: lines[field], field: field, message: message) }
        func member(_ key: String) -> StrictJSON.Value? { members.first { $0.key == key }?.value }
        let known = ["format", "system", "seed", "knobs", "outcome", "checker", "message", "at_ns", "fingerprint", "events", "virtual_ns"]
        if let unknown = members.first(where: { !known.contains($0.key) }) { throw fail(unknown.key, "unknown field (known: \(known.joined(separator: ", ")))") }
        func string(_ key: String) throws(SystemFileError) -> String {
            guard case .string(let value)? = member(key) else { throw member(key) == nil ? SystemFileError(path: path, line: nil, field: key, message: "missing") : fail(key, "must be a string") }
            return value
        }
        func integer(_ key: String, in value: StrictJSON.Value?, minimum: Int64 = .min) throws(SystemFileError) -> Int64 {
            guard let value else { throw SystemFileError(path: path, line: nil, field: key, message: "missing") }
            guard case .number(let text) = value, let number = Int64(text) else { throw fail(key, "must be a whole number") }
            guard number >= minimum else { throw fail(key, "must be at least \(minimum)") }
            return number
        }
        guard try string("format") == format else { throw fail("format", "must be \"\(format)\"") }
        guard case .object(let knobMembers)? = member("knobs") else { throw member("knobs") == nil ? SystemFileError(path: path, field: "knobs", message: "missing") : fail("knobs", "must be an object of whole numbers") }
        var knobs: [(String, Int)] = []
        for knob in knobMembers { knobs.append((knob.key, Int(try integer("knobs.\(knob.key)", in: knob.value)))) }
        guard let seedValue = member("seed") else { throw SystemFileError(path: path, field: "seed", message: "missing") }
        guard case .number(let seedText) = seedValue, let seed = UInt64(seedText) else { throw fail("seed", "must be a whole number from 0 to 18446744073709551615") }
        let fingerprintText = try string("fingerprint")
        guard fingerprintText.hasPrefix("0x"), fingerprintText.count <= 18, fingerprintText.dropFirst(2).allSatisfy(\.isHexDigit), let fingerprint = UInt64(fingerprintText.dropFirst(2), radix: 16) else {
            throw fail("fingerprint", "must be 0x and 1 to 16 hex digits")
        }
        var file = SystemSeedFile(system: try string("system"), seed: seed, knobs: knobs,
                                  outcome: try string("outcome"), checker: member("checker") == nil ? nil : try string("checker"), message: try string("message"),
                                  at: member("at_ns") == nil ? nil : try integer("at_ns", in: member("at_ns"), minimum: 0), fingerprint: fingerprint,
                                  events: UInt64(try integer("events", in: member("events"), minimum: 0)),
                                  virtualNanoseconds: try integer("virtual_ns", in: member("virtual_ns"), minimum: 0))
        file.path = path
        return file
    }
}

/// A JSON string literal.
func quoted(_ text: String) -> String { jsonEscaped(text) }

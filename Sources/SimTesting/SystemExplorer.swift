import Foundation
import SimKernel

/// What `explore` found: every seed's run (by seed), and the seed files it wrote.
public struct Exploration: Sendable {
    /// One line of the results file.
    public struct Result: Sendable, Equatable {
        public var seed: UInt64
        public var outcome: String
        public var checker: String?
        public var fingerprint: UInt64
        public var events: UInt64
        public var seedFile: String?
    }
    /// All seeds of the range, by seed: the ones run now and the ones a previous call stored.
    public var results: [Result]
    /// How many seeds this call ran (the others were in the results file already).
    public var ran: Int
    public var failures: [Result] { results.filter { $0.outcome != "passed" } }
}

extension SimulationSystem {
    /// Runs every seed of `seeds` with `knobs` (default: the defaults) on `jobs` threads (each
    /// simulation runs on one thread; runs do not share anything). With `results`, each run is
    /// appended to that JSON Lines file as it ends, and a later call with the same file skips the
    /// seeds it holds (an interrupted exploration resumes; a file made for another system or other
    /// knobs is refused). With `seedsOut`, each failing seed's seed file is written there.
    public func explore(seeds: ClosedRange<UInt64>, knobs: Knobs? = nil, jobs: Int = 1, results: String? = nil, seedsOut: String? = nil) throws(SystemFileError) -> Exploration {
        precondition(jobs >= 1, "jobs must be at least 1, got \(jobs)")
        let knobs = knobs ?? defaultKnobs
        let header = "{\"system\": \(quoted(name)), \"knobs\": \(quoted(knobs.description))}"
        var stored: [UInt64: Exploration.Result] = [:]
        if let results { stored = try Self.loadResults(path: results, header: header) }
        if let seedsOut {
            do { try FileManager.default.createDirectory(atPath: seedsOut, withIntermediateDirectories: true) } catch {
                throw SystemFileError(path: seedsOut, field: "folder", message: "cannot be created")
            }
        }
        let pending = seeds.filter { stored[$0] == nil }
        let appender = try results.map { path throws(SystemFileError) in try ResultsAppender(path: path, header: header, fresh: stored.isEmpty) }
        let collected = Collected()
        // Threads outside any simulation, each running whole, independent simulations.
        DispatchQueue.concurrentPerform(iterations: Swift.min(jobs, Swift.max(1, pending.count))) { worker in  // determinism-ok: results keyed by seed, never by thread order
            for (index, seed) in pending.enumerated() where index % jobs == worker {
                let run = self.run(seed: seed, knobs: knobs)
                var result = Exploration.Result(seed: seed, outcome: run.outcome.kind, checker: run.outcome.checker, fingerprint: run.fingerprint, events: run.events)
                var problem: SystemFileError?
                if run.outcome.isFailure, let seedsOut {
                    let file = seedFile(for: run)
                    let path = (seedsOut as NSString).appendingPathComponent(file.fileName)
                    do throws(SystemFileError) { try file.write(to: path); result.seedFile = path } catch { problem = error }
                }
                collected.add(result, problem: problem, appender: appender)
            }
        }
        if let writeError = collected.writeError { throw writeError }
        let all = stored.merging(collected.ran) { _, new in new }
        return Exploration(results: seeds.compactMap { all[$0] }, ran: collected.ran.count)
    }

    /// Reads a results file: its first line must be `header`; every other line a result.
    static func loadResults(path: String, header: String) throws(SystemFileError) -> [UInt64: Exploration.Result] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        guard let data = FileManager.default.contents(atPath: path) else { throw SystemFileError(path: path, field: "file", message: "cannot be read") }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, !first.isEmpty else { return [:] }
        guard first == header else { throw SystemFileError(path: path, line: 1, field: "header", message: "the file holds \(first), not \(header): use another results file") }
        var results: [UInt64: Exploration.Result] = [:]
        for (offset, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let lineNumber = offset + 1
            guard case .object(let members)? = try? StrictJSON.parse(Array(line.utf8)) else {
                // The last line may be cut by an interruption: it is cut off the file (so the next
                // result starts on a line of its own) and its seed runs again.
                if offset == lines.count - 1 {
                    let keep = lines.dropLast().reduce(0) { $0 + $1.utf8.count + 1 }
                    guard let handle = FileHandle(forWritingAtPath: path) else { throw SystemFileError(path: path, field: "file", message: "cannot be written") }
                    handle.truncateFile(atOffset: UInt64(keep))
                    handle.closeFile()
                    continue
                }
                throw SystemFileError(path: path, line: lineNumber, field: "line", message: "not a JSON object")
            }
            func text(_ key: String) -> String? { if case .string(let value)? = members.first(where: { $0.key == key })?.value { return value } else { return nil } }
            func number(_ key: String) -> UInt64? { if case .number(let value)? = members.first(where: { $0.key == key })?.value { return UInt64(value) } else { return nil } }
            guard let seed = number("seed") else { throw SystemFileError(path: path, line: lineNumber, field: "seed", message: "missing or not a whole number") }
            guard let outcome = text("outcome"), let fingerprint = text("fingerprint").flatMap({ UInt64($0.dropFirst(2), radix: 16) }), let events = number("events") else {
                throw SystemFileError(path: path, line: lineNumber, field: "result", message: "needs outcome, fingerprint and events")
            }
            results[seed] = Exploration.Result(seed: seed, outcome: outcome, checker: text("checker"), fingerprint: fingerprint, events: events, seedFile: text("seed_file"))
        }
        return results
    }
}

/// The runs of the explorer's threads, gathered under a lock, and the first file error.
final class Collected: @unchecked Sendable {  // every access under `lock`
    let lock = NSLock()
    var ran: [UInt64: Exploration.Result] = [:]
    var writeError: SystemFileError?

    func add(_ result: Exploration.Result, problem: SystemFileError?, appender: ResultsAppender?) {
        lock.lock()
        defer { lock.unlock() }
        ran[result.seed] = result
        if let problem, writeError == nil { writeError = problem }
        if let appender, writeError == nil {
            do throws(SystemFileError) { try appender.append(result) } catch { writeError = error }
        }
    }
}

/// Appends result lines to a results file (the header first when it is new).
final class ResultsAppender: @unchecked Sendable {  // used under the explorer's lock
    let handle: FileHandle
    let path: String

    init(path: String, header: String, fresh: Bool) throws(SystemFileError) {
        self.path = path
        if fresh { guard FileManager.default.createFile(atPath: path, contents: Data((header + "\n").utf8)) else { throw SystemFileError(path: path, field: "file", message: "cannot be written") } }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw SystemFileError(path: path, field: "file", message: "cannot be written") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    deinit { handle.closeFile() }

    func append(_ result: Exploration.Result) throws(SystemFileError) {
        var line = "{\"seed\": \(result.seed), \"outcome\": \(quoted(result.outcome))"
        if let checker = result.checker { line += ", \"checker\": \(quoted(checker))" }
        line += ", \"fingerprint\": \(quoted(hex64(result.fingerprint))), \"events\": \(result.events)"
        if let seedFile = result.seedFile { line += ", \"seed_file\": \(quoted(seedFile))" }
        do { try handle.write(contentsOf: Data((line + "}\n").utf8)) } catch {
            throw SystemFileError(path: path, field: "file", message: "cannot be written: \(error.localizedDescription)")
        }
    }
}

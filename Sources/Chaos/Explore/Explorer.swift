import Foundation
import SimKernel
import SimServices

/// What to explore.
public struct ExploreRequest: Sendable {
    public var seeds: ClosedRange<UInt64>
    /// `(index, count)`: run only the seeds whose offset in the range is `index` modulo `count`.
    public var shard: (index: Int, count: Int)?
    public var jobs: Int
    public var resultsPath: String
    /// The worker command: executable and arguments (`simrun explore-worker ...`).
    public var workerCommand: [String]

    public init(seeds: ClosedRange<UInt64>, shard: (index: Int, count: Int)?, jobs: Int, resultsPath: String, workerCommand: [String]) {
        self.seeds = seeds
        self.shard = shard
        self.jobs = jobs
        self.resultsPath = resultsPath
        self.workerCommand = workerCommand
    }

    /// The seeds of this shard, in order.
    public var shardSeeds: [UInt64] {
        guard let shard else { return Array(seeds) }
        return seeds.filter { Int(($0 - seeds.lowerBound) % UInt64(shard.count)) == shard.index }
    }
}

/// Progress of a running exploration.
public struct ExploreProgress: Sendable {
    public var done: Int
    public var total: Int
    public var failures: Int
    public var crashes: Int
    public var elapsedSeconds: Double
    public var skipped: Int
    public var rate: Double { elapsedSeconds > 0 ? Double(done) / elapsedSeconds : 0 }
}

/// Runs many seeds in worker processes (`jobs` at a time), storing every result in the results
/// database as it arrives. Run again after an interruption, it skips the seeds already stored.
///
/// Runs happen in processes rather than threads so that a seed whose run traps cannot take the
/// exploration down: its worker dies, the seed is recorded as a crash, a new worker takes over.
public final class Explorer: @unchecked Sendable {
    let request: ExploreRequest
    let store: ResultsStore
    let condition = NSCondition()
    var pending: [UInt64] = []
    var arrived: [SeedResult] = []
    var activeDrivers = 0

    public init(request: ExploreRequest, store: ResultsStore) {
        self.request = request
        self.store = store
    }

    /// Explores; calls `progress` after each stored result. Returns every result of the range's
    /// shard (those of earlier, interrupted explorations included).
    public func run(progress: (ExploreProgress) -> Void) throws -> [SeedResult] {
        let explored = try store.exploredSeeds()
        let all = request.shardSeeds
        pending = all.filter { !explored.contains($0) }
        let skipped = all.count - pending.count
        let total = pending.count
        let start = KernelBenchmark.wallSeconds()
        var done = 0, failures = 0, crashes = 0
        activeDrivers = Swift.max(1, Swift.min(request.jobs, pending.count))
        if pending.isEmpty { activeDrivers = 0 }
        for index in 0 ..< activeDrivers {
            let thread = Thread { [self] in drive(workerIndex: index) }
            thread.start()
        }
        while true {
            condition.lock()
            while arrived.isEmpty && activeDrivers > 0 { condition.wait() }
            let batch = arrived
            arrived.removeAll()
            let finished = activeDrivers == 0
            condition.unlock()
            for result in batch {
                try store.record(result)
                done += 1
                if result.isFailure { failures += 1 }
                if result.outcome == "crash" { crashes += 1 }
                progress(ExploreProgress(done: done, total: total, failures: failures, crashes: crashes,
                                         elapsedSeconds: KernelBenchmark.wallSeconds() - start, skipped: skipped))
            }
            if finished && batch.isEmpty { break }
        }
        let wanted = Set(all)
        return try store.results().filter { wanted.contains($0.seed) }
    }

    private func nextSeed() -> UInt64? {
        condition.lock()
        defer { condition.unlock() }
        return pending.isEmpty ? nil : pending.removeFirst()
    }

    private func deliver(_ result: SeedResult) {
        condition.lock()
        arrived.append(result)
        condition.signal()
        condition.unlock()
    }

    /// One worker process and the seeds it runs, one at a time.
    private func drive(workerIndex: Int) {
        var worker: WorkerProcess?
        while let seed = nextSeed() {
            if worker == nil { worker = WorkerProcess(command: request.workerCommand, index: workerIndex) }
            if let line = worker?.ask("\(seed)"), let result = decode(line), result.seed == seed {
                deliver(result)
            } else {
                let reason = worker?.finish() ?? "the worker process could not be started"
                worker = nil
                deliver(SeedResult(seed: seed, outcome: "crash", checker: "process", fingerprint: nil, events: 0,
                                   virtualNanoseconds: 0, wallSeconds: 0, message: reason, seedFile: nil))
            }
        }
        _ = worker?.finish()
        condition.lock()
        activeDrivers -= 1
        condition.signal()
        condition.unlock()
    }

    private func decode(_ line: String) -> SeedResult? {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(SeedResult.self, from: Data(line.utf8))
    }
}

/// A worker process with a line protocol over its standard input and output.
final class WorkerProcess {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let errorFile: URL
    var buffer = Data()

    init?(command: [String], index: Int) {
        guard let executable = command.first else { return nil }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(command.dropFirst())
        process.standardInput = input
        process.standardOutput = output
        errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("simrun-worker-\(getpid())-\(index).err")
        FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardError = try? FileHandle(forWritingTo: errorFile)
        do { try process.run() } catch { return nil }
    }

    /// Sends a line and reads one line back; nil when the worker died.
    func ask(_ line: String) -> String? {
        do { try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8)) } catch { return nil }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let answer = String(decoding: buffer[buffer.startIndex ..< newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex ... newline)
                return answer
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    /// Closes the worker's input, waits for it, and says how it ended.
    func finish() -> String {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        let errors = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: errorFile)
        let lines = errors.split(separator: "\n")
        let lastError = (lines.first { $0.contains("Fatal error") } ?? lines.last { !$0.isEmpty }).map(String.init) ?? ""
        let how = process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
        return "the run trapped: its worker process ended with \(how)" + (lastError.isEmpty ? "" : ": \(lastError.prefix(300))")
    }
}

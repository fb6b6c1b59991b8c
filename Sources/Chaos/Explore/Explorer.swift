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

    /// Whether `seed` belongs to this request's range and shard.
    public func contains(_ seed: UInt64) -> Bool {
        guard seeds.contains(seed) else { return false }
        guard let shard else { return true }
        return (seed - seeds.lowerBound) % UInt64(shard.count) == UInt64(shard.index)
    }

    /// How many seeds this shard has (the range's count may be up to 2^64 - 1; `nil` beyond).
    public var shardCount: UInt64? {
        let span = seeds.upperBound - seeds.lowerBound  // count - 1, never overflows
        guard span < UInt64.max else { return nil }
        guard let shard else { return span + 1 }
        let count = UInt64(shard.count), index = UInt64(shard.index)
        return span >= index ? (span - index) / count + 1 : 0
    }

    /// The seeds of this shard, in order, one at a time: a range of 10^11 seeds is never held in memory.
    public var shardSeeds: StrideThrough<UInt64> {
        let step = UInt64(shard?.count ?? 1)
        let first = seeds.lowerBound.addingReportingOverflow(UInt64(shard?.index ?? 0))
        // An empty shard (its first seed beyond the range): a stride that yields nothing.
        guard !first.overflow, first.partialValue <= seeds.upperBound else { return stride(from: UInt64(1), through: 0, by: 1) }
        return stride(from: first.partialValue, through: seeds.upperBound, by: Int(step))
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

/// What an exploration ended with.
public struct ExploreOutcome {
    /// Every stored result of the request's range and shard (earlier, interrupted explorations included).
    public var results: [SeedResult]
    /// Whether it stopped on a signal before every seed ran.
    public var interrupted: Bool
    /// Seeds whose failure could not be written as a seed file, with the reason (the first few).
    public var seedFileErrors: [String]
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
    var nextSeeds: StrideThrough<UInt64>.Iterator
    var explored: Set<UInt64> = []
    var arrived: [SeedResult] = []
    var activeDrivers = 0
    var interrupted = false
    var workers: [Int: WorkerProcess] = [:]

    public init(request: ExploreRequest, store: ResultsStore) {
        self.request = request
        self.store = store
        nextSeeds = request.shardSeeds.makeIterator()
    }

    /// Stops the exploration: no new seed starts, running workers are killed, their seeds are not
    /// recorded (a rerun runs them). Safe to call from a signal-handling thread.
    public func interrupt() {
        condition.lock()
        interrupted = true
        let running = Array(workers.values)
        condition.unlock()
        for worker in running { worker.kill() }
    }

    /// Explores; calls `progress` after each stored result.
    public func run(progress: (ExploreProgress) -> Void) throws -> ExploreOutcome {
        explored = Set(try store.exploredSeeds().filter(request.contains))
        let count = request.shardCount ?? UInt64.max
        let total = Int(clamping: count - UInt64(explored.count))
        let skipped = explored.count
        let start = KernelBenchmark.wallSeconds()
        var done = 0, failures = 0, crashes = 0
        var seedFileErrors: [String] = []
        activeDrivers = total == 0 ? 0 : Swift.max(1, Swift.min(request.jobs, total))
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
                if let error = result.seedFileError, seedFileErrors.count < 5 { seedFileErrors.append("seed \(result.seed): \(error)") }
                progress(ExploreProgress(done: done, total: total, failures: failures, crashes: crashes,
                                         elapsedSeconds: KernelBenchmark.wallSeconds() - start, skipped: skipped))
            }
            if finished && batch.isEmpty { break }
        }
        let results = try store.results().filter { request.contains($0.seed) }
        condition.lock()
        defer { condition.unlock() }
        return ExploreOutcome(results: results, interrupted: interrupted, seedFileErrors: seedFileErrors)
    }

    private func nextSeed() -> UInt64? {
        condition.lock()
        defer { condition.unlock() }
        guard !interrupted else { return nil }
        while let seed = nextSeeds.next() {
            if !explored.contains(seed) { return seed }
        }
        return nil
    }

    private func deliver(_ result: SeedResult) {
        condition.lock()
        arrived.append(result)
        condition.signal()
        condition.unlock()
    }

    private func register(_ worker: WorkerProcess?, index: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        workers[index] = worker
        return !interrupted
    }

    /// Seeds a worker process runs before it is replaced by a fresh one. A long exploration's
    /// workers grew without bound (about 12 GB each after 600 seeds of scenario 03 on this
    /// machine kind, until it swapped): memory a run leaves behind is returned with its process.
    static let seedsPerWorker = 50

    /// One worker process and the seeds it runs, one at a time.
    private func drive(workerIndex: Int) {
        var worker: WorkerProcess?
        var ranByWorker = 0
        while let seed = nextSeed() {
            if worker != nil && ranByWorker >= Self.seedsPerWorker {
                _ = worker?.finish()
                worker = nil
            }
            if worker == nil {
                ranByWorker = 0
                worker = WorkerProcess(command: request.workerCommand, index: workerIndex)
                if !register(worker, index: workerIndex) { break }
            }
            ranByWorker += 1
            if let line = worker?.ask("\(seed)"), let result = decode(line), result.seed == seed {
                deliver(result)
            } else {
                let reason = worker?.finish() ?? "the worker process could not be started"
                worker = nil
                _ = register(nil, index: workerIndex)
                condition.lock()
                let stopping = interrupted
                condition.unlock()
                if stopping { break }  // killed by the interrupt: the seed did not run, a rerun runs it
                deliver(SeedResult(seed: seed, outcome: "crash", checker: "process", fingerprint: nil, events: 0,
                                   virtualNanoseconds: 0, wallSeconds: 0, message: reason, seedFile: nil))
            }
        }
        _ = worker?.finish()
        condition.lock()
        workers[workerIndex] = nil
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
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardError = try? FileHandle(forWritingTo: errorFile)
        var environment = ProcessInfo.processInfo.environment
        environment["SIMRUN_WORKER_ERRORS"] = errorFile.path  // the worker removes it when it ends cleanly
        process.environment = environment
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

    /// Ends the worker at once (an interrupt).
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Closes the worker's input, waits for it, and says how it ended.
    func finish() -> String {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        let errors = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: errorFile)
        let lines = errors.splitBytes("\n")
        let lastError = (lines.first { $0.contains("Fatal error") } ?? lines.last { !$0.isEmpty }).map(String.init) ?? ""
        let how = process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
        return "the run trapped: its worker process ended with \(how)" + (lastError.isEmpty ? "" : ": \(lastError.prefix(300))")
    }
}

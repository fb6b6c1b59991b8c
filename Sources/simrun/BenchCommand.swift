import ArgumentParser
import Foundation
import Chaos
import SimKernel
import SimServices

/// `simrun bench`: the kernel against the C reference heap, measured in the same invocation.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the kernel's event churn against the C reference heap, and async round trips.",
        discussion: """
            Runs the workload of shared/bench/heap_baseline.c (pop the earliest event, push one at
            now + random delay) through the kernel's run loop at 1 K and 1 M pending events, compiles
            and runs the C program on the same workload when a C compiler is present, and reports
            their ratio. Each trial runs the two back to back; the medians of each are reported, and
            the ratio is the median of the per-trial ratios, since these machines are noisy.
            Build with -c release for meaningful figures.
            """)

    @Option(help: "Path of heap_baseline.c (default: look for shared/bench/heap_baseline.c near the project).")
    var cSource: String?

    @Option(help: "Trials of each measurement (the median is reported).")
    var trials: Int = 5

    @Option(help: "Events per trial at 1 K pending.")
    var events: UInt64 = 10_000_000

    @Flag(help: "Skip the 1 M pending measurements.")
    var skipLarge = false

    @Option(help: "Also run this scenario over --scenario-seeds seeds and report virtual seconds per wall second (x real time), messages per virtual second and their wall cost beside a bare message's, seeds per wall hour, and seeds that found a failure (any outcome but passed) with the wall seconds per such seed.")
    var scenario: String?

    @Option(help: "Seeds of the scenario benchmark (1...N).")
    var scenarioSeeds: UInt64 = 20

    @Option(help: "Defects of the scenario benchmark: none (the default: each run goes to its goal or horizon, as a healthy platform runs), comma-separated IDs, or 'scenario' for the scenario's own list (each run then stops at its first finding).")
    var defects: String = "none"

    @Flag(help: "Measure the infrastructure instead: a SQL insert-and-commit loop, a Kafka produce-and-consume loop, bare request-reply round trips between two nodes (the messaging layer alone) and signed hops (a request's identity signed and checked), beside the kernel's raw event rate.")
    var infra = false

    @Flag(help: "Measure model serving instead: scenarios 01 and 04 without defects or faults over --scenario-seeds seeds, each without and with request batching (8 requests or 10 ms): predictions per wall second through gateway -> inference, x real time, events per prediction and virtual latency p50/p99, beside the kernel's raw event rate.")
    var serving = false

    @Flag(help: "Measure an M/M/1 queue written as SimPy writes it (a process per customer, a FIFO resource of capacity 1; arrival rate 0.9, service rate 1.0): customers per wall second and the mean time in system (10 s in theory), beside SimPy running the same model in the same invocation when python3 has simpy.")
    var mm1 = false

    @Flag(help: "Measure the drift tests instead: two-sample tests per wall second of monitoring's default choice for a 1,000-row reference (Kolmogorov-Smirnov, exact p-value) and a 100,000-row reference (normed Wasserstein), each against a 1,000-row current window, beside scipy / Evidently's formulas on the same data in the same invocation when python3 has scipy.")
    var drift = false

    @Flag(help: "Compare synchronisation modes instead: scenario 05's job without defects or faults under SSP (bound 2) and under ASP with a staleness-aware learning rate, over --scenario-seeds seeds: held-out accuracy, virtual seconds to completion, staleness of the applied updates.")
    var sync = false

    @Option(help: "Customers of the M/M/1 benchmark.")
    var customers: Int = 2_000_000

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        guard (1 ... 1000).contains(trials) else { exitBadInput("--trials: must be 1...1000, got \(trials)") }
        guard (1000 ... 10_000_000_000).contains(events) else { exitBadInput("--events: must be 1000...10000000000, got \(events)") }
        guard (1 ... 100_000).contains(scenarioSeeds) else { exitBadInput("--scenario-seeds: must be 1...100000, got \(scenarioSeeds)") }
        if serving {
            try runServing()
            return
        }
        if mm1 {
            runMM1()
            return
        }
        if drift {
            runDrift()
            return
        }
        if sync {
            runSync()
            return
        }
        if infra {
            let kernel = KernelBenchmark.eventChurn(pending: 1000, events: 5_000_000)
            let sql = InfrastructureBenchmark.sqlInsertCommit(count: 5000)
            let kafka = InfrastructureBenchmark.kafkaProduceConsume(count: 5000)
            let rpc = InfrastructureBenchmark.rpcRoundTrips(count: 50_000)
            let signed = InfrastructureBenchmark.signedHops(count: 50_000)
            let hmacs = InfrastructureBenchmark.hmacsOfSignedText(count: 100_000)
            if json {
                print("{\"kernel_events_per_s\":\(Int(kernel.perSecond)),\"sql_commits_per_s\":\(Int(sql.perSecond)),\"kafka_produce_consume_per_s\":\(Int(kafka.perSecond)),\"rpc_round_trips_per_s\":\(Int(rpc.perSecond)),\"signed_hops_per_s\":\(Int(signed.perSecond)),\"hmacs_of_signed_text_per_s\":\(Int(hmacs.perSecond))}")
            } else {
                print("kernel raw event churn (1 K pending): \(Int(kernel.perSecond)) events/s")
                print("SQL insert-and-commit loop (SQLite over the simulated disk, synchronous=EXTRA): \(Int(sql.perSecond)) commits/s (\(sql.operations) in \(format3(sql.seconds)) s)")
                print("Kafka produce (acks=all) + fetch loop: \(Int(kafka.perSecond)) round trips/s (\(kafka.operations) in \(format3(kafka.seconds)) s)")
                print("bare request-reply between two nodes (no service work): \(Int(rpc.perSecond)) round trips/s (\(rpc.operations) in \(format3(rpc.seconds)) s)")
                print("a signed hop (a request's identity signed with HMAC-SHA256 and checked): \(Int(signed.perSecond))/s, \(format3(1e6 / max(signed.perSecond, 1))) µs each (\(signed.operations) in \(format3(signed.seconds)) s)")
                print("  of which HMAC-SHA256 of the signed text alone, two a hop: \(Int(hmacs.perSecond))/s, \(format3(1e6 / max(hmacs.perSecond, 1))) µs each")
            }
            return
        }
        if let scenario {
            let loaded = loadScenario(scenario)
            guard !defects.trimmingCharacters(in: .whitespaces).isEmpty else {
                exitBadInput("--defects: empty (give defect IDs, none, or scenario for the scenario's own list)")
            }
            let defectSet = parseDefects(defects == "scenario" ? nil : defects, scenario: loaded)
            var virtual = 0.0, wall = 0.0, events: UInt64 = 0, messages = 0, failing = 0
            var perSeed: [Double] = []
            for seed in 1 ... scenarioSeeds {
                // One run per seed, as explore runs it (no detailed re-run of a failing seed).
                let result = ScenarioRunner.runWithoutDetails(RunConfiguration(scenario: loaded, seed: seed, defects: defectSet))
                virtual += Double(result.virtualNanoseconds) / 1e9
                wall += result.wallSeconds
                events += result.events
                messages += result.messages
                if result.outcome.isFailure { failing += 1 }
                perSeed.append(Double(result.virtualNanoseconds) / 1e9 / result.wallSeconds)
            }
            // The kernel's raw event rate, measured in the same invocation: the platform's rate
            // is read against it (a ratio), since these machines are noisy.
            let kernel = KernelBenchmark.eventChurn(pending: 1000, events: 2_000_000)
            // The messaging layer's floor, measured now too: what the scenario's messages would
            // cost if each cost only a bare round trip's share (no service work, no signature, no
            // body): the best x real time any platform work on top could leave.
            // The fastest of three trials: a floor is what the layer can do, not what the noise
            // of the machine let it do once.
            let floorPerMessage = (0 ..< 3).map { _ in
                let bare = InfrastructureBenchmark.rpcRoundTrips(count: 20_000)
                return bare.seconds / Double(2 * max(bare.operations, 1))
            }.min()!
            // 0 when there is nothing to divide by (no message, no virtual time): JSON has no inf.
            let floorSpeedup = messages > 0 && floorPerMessage > 0 ? virtual / (Double(messages) * floorPerMessage) : 0
            let perVirtualSecond = virtual > 0 ? Double(messages) / virtual : 0
            // What a user exploring seeds feels, whatever a scenario packs into a virtual second:
            // seeds a wall hour, and (with defects on) wall seconds per seed that finds a failure.
            let seedsPerHour = wall > 0 ? Double(scenarioSeeds) / wall * 3600 : 0
            let perFailing: Double? = failing > 0 ? wall / Double(failing) : nil
            let sorted = perSeed.sorted()
            let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            let speedup = virtual / wall
            let platformRate = Double(events) / wall
            if json {
                print("{\"scenario\":\(jsonEscaped(loaded.name)),\"seeds\":\(scenarioSeeds),\"defects\":\(jsonEscaped(defectSet.ids.map(\.rawValue).joined(separator: ","))),\"virtual_seconds\":\(virtual),\"wall_seconds\":\(wall),\"speedup\":\(speedup),\"median_seed_speedup\":\(median),\"slowest_seed_speedup\":\(sorted.first ?? 0),\"events_per_s\":\(platformRate),\"kernel_events_per_s\":\(kernel.perSecond),\"kernel_events_per_platform_event\":\(kernel.perSecond / platformRate),\"messages\":\(messages),\"messages_per_virtual_s\":\(perVirtualSecond),\"wall_us_per_message\":\(wall * 1e6 / Double(max(messages, 1))),\"bare_us_per_message\":\(floorPerMessage * 1e6),\"bare_messaging_speedup\":\(floorSpeedup),\"seeds_per_wall_hour\":\(seedsPerHour),\"failing_seeds\":\(failing),\"wall_seconds_per_failing_seed\":\(perFailing.map { "\($0)" } ?? "null")}")
            } else {
                print("scenario \(loaded.name), \(scenarioSeeds) seeds, defects \(defectSet.description): \(format3(virtual)) virtual s in \(format3(wall)) wall s = \(Int(speedup))x real time (median seed \(Int(median))x, slowest \(Int(sorted.first ?? 0))x)")
                print("platform \(Int(platformRate)) events/s; kernel raw churn \(Int(kernel.perSecond)) events/s in the same invocation: a platform event costs \(format3(kernel.perSecond / platformRate)) kernel events")
                print("messages: \(Int(perVirtualSecond.rounded())) per virtual s, \(format3(wall * 1e6 / Double(max(messages, 1)))) wall µs each; a bare round trip's message (no service work) \(format3(floorPerMessage * 1e6)) µs in the same invocation, so these messages alone, at that cost, would allow about \(Int(floorSpeedup))x real time at most")
                print("seeds: \(Int(seedsPerHour.rounded())) a wall hour; \(failing) of \(scenarioSeeds) failed" + (perFailing.map { ", \(format3($0)) wall s per failing seed" } ?? ""))
            }
            return
        }
        guard trials >= 1 else { exitBadInput("--trials: must be at least 1, got \(trials)") }
        let reference = try CReference(sourcePath: cSource)
        defer { reference?.removeBuildFolder() }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }
        var kernelSmall: [Double] = [], cSmall: [Double] = [], asyncRates: [Double] = []
        var checksum: UInt64 = 0
        for _ in 0 ..< trials {
            let m = KernelBenchmark.eventChurn(pending: 1000, events: events)
            kernelSmall.append(m.perSecond)
            checksum = m.checksum
            if let rate = reference?.run(pending: 1000, events: events) { cSmall.append(rate) }
            asyncRates.append(KernelBenchmark.asyncRoundTrips(count: 1_000_000).perSecond)
        }
        var kernelLarge: Double?, cLarge: Double?
        if !skipLarge {
            kernelLarge = KernelBenchmark.eventChurn(pending: 1_000_000, events: 3_000_000).perSecond
            cLarge = reference?.run(pending: 1_000_000, events: 3_000_000)
        }
        let kernel = median(kernelSmall), c = cSmall.isEmpty ? nil : median(cSmall)
        // The ratio is the median of per-trial ratios: each trial measures the kernel and the C
        // program back to back, so slow drifts of a shared machine cancel within a pair.
        let ratio: Double? = cSmall.count == kernelSmall.count ? median(zip(kernelSmall, cSmall).map { $0 / $1 }) : c.map { kernel / $0 }
        let asyncRate = median(asyncRates)
        let ratioLarge = (kernelLarge != nil && cLarge != nil) ? kernelLarge! / cLarge! : nil
        if json {
            func number(_ value: Double?) -> String { value.map { String(format: "%.4g", $0) } ?? "null" }
            let fields = [
                "\"kernel_events_per_s\":\(number(kernel))", "\"c_events_per_s\":\(number(c))",
                "\"ratio_to_c\":\(ratio.map { String(format: "%.3f", $0) } ?? "null")",
                "\"kernel_events_per_s_1m\":\(number(kernelLarge))", "\"c_events_per_s_1m\":\(number(cLarge))",
                "\"ratio_to_c_1m\":\(ratioLarge.map { String(format: "%.3f", $0) } ?? "null")",
                "\"async_roundtrips_per_s\":\(number(asyncRate))", "\"trials\":\(trials)",
                "\"events_per_trial\":\(events)", "\"c_reference\":\(reference.map { jsonEscaped($0.sourcePath) } ?? "null")",
                "\"checksum\":\"\(hex64(checksum))\"",
            ]
            print("{" + fields.joined(separator: ",") + "}")
        } else {
            func rate(_ v: Double?) -> String { v.map { String(format: "%6.2f M/s", $0 / 1e6) } ?? "   n/a" }
            print("kernel event churn, 1 K pending : \(rate(kernel))   (median of \(trials))")
            print("C reference heap,   1 K pending : \(rate(c))   \(reference == nil ? "(no C compiler or source found)" : "")")
            print("ratio to C,         1 K pending : \(ratio.map { String(format: "%.3f", $0) } ?? "n/a")   (target >= 0.9)")
            if !skipLarge {
                print("kernel event churn, 1 M pending : \(rate(kernelLarge))")
                print("C reference heap,   1 M pending : \(rate(cLarge))")
                print("ratio to C,         1 M pending : \(ratioLarge.map { String(format: "%.3f", $0) } ?? "n/a")")
            }
            print("async suspend/resume round trips: \(rate(asyncRate))   (target >= 2 M/s)")
        }
    }
}

/// The C reference program, compiled into a temporary folder.
struct CReference {
    let sourcePath: String
    let binary: String

    /// Nil when no source or no compiler is found; the bench then reports the kernel alone.
    init?(sourcePath explicit: String?) throws {
        let fileManager = FileManager.default
        var candidates: [String] = []
        if let explicit {
            guard fileManager.fileExists(atPath: explicit) else { exitBadInput("--c-source: \(explicit): no such file") }
            candidates = [explicit]
        } else {
            let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            candidates = [
                "../shared/bench/heap_baseline.c", "shared/bench/heap_baseline.c",
                projectRoot.appendingPathComponent("../shared/bench/heap_baseline.c").path,
            ]
        }
        guard let source = candidates.first(where: { fileManager.fileExists(atPath: $0) }) else { return nil }
        let folder = fileManager.temporaryDirectory.appendingPathComponent("simrun-bench-\(getpid())")
        try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
        let binary = folder.appendingPathComponent("heap_baseline").path
        guard let compiler = ["cc", "gcc", "clang"].first(where: { CReference.which($0) != nil }),
              CReference.execute(CReference.which(compiler)!, ["-O2", "-o", binary, source]) != nil else { return nil }
        self.sourcePath = source
        self.binary = binary
    }

    /// Deletes the temporary folder the program was compiled into.
    func removeBuildFolder() {
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: binary).deletingLastPathComponent())
    }

    /// Runs the program and returns its events/s figure.
    func run(pending: Int, events: UInt64) -> Double? {
        guard let output = CReference.execute(binary, ["\(pending)", "\(events)"]),
              let range = output.range(of: "events/s=") else { return nil }
        return Double(output[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    static func which(_ name: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs a program and returns its standard output, or nil when it fails.
    static func execute(_ path: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

extension BenchCommand {
    /// Predictions per wall second through the whole platform (client -> gateway -> inference
    /// replica -> back) in the serving scenarios, one run per seed, without defects or faults,
    /// each without request batching and with it (8 requests or 10 ms), beside the kernel's raw
    /// event rate. Latency percentiles are virtual (what a client of the platform sees).
    func runServing() throws {
        let modes: [(name: String, maxSize: Int, maxWaitMillis: Int)] = [("no batching", 1, 10), ("batching 8 / 10 ms", 8, 10)]
        var rows: [String] = [], lines: [String] = []
        for name in ["01_model_memory_crisis", "04_ab_test_disaster"] {
            let shipped = loadScenario(name)
            for mode in modes {
                let scenario = shipped.withRequestBatching(maxSize: mode.maxSize, maxWaitMillis: mode.maxWaitMillis)
                var virtual = 0.0, wall = 0.0, events: UInt64 = 0, predictions = 0, batches = 0, batched = 0
                var speedups: [Double] = [], p50s: [Int64] = [], p99s: [Int64] = []
                for seed in 1 ... scenarioSeeds {
                    let faults = scenario.faultOptions(seed: seed, profile: FaultProfile.none)
                    let result = ScenarioRunner.runWithoutDetails(RunConfiguration(scenario: scenario, seed: seed, defects: .empty, faults: faults))
                    virtual += Double(result.virtualNanoseconds) / 1e9
                    wall += result.wallSeconds
                    events += result.events
                    predictions += result.serving?.predictions ?? 0
                    batches += result.serving?.batches?.count ?? 0
                    batched += result.serving?.batches?.requests ?? 0
                    speedups.append(Double(result.virtualNanoseconds) / 1e9 / result.wallSeconds)
                    if let latency = result.serving?.latency {
                        p50s.append(latency.p50)
                        p99s.append(latency.p99)
                    }
                }
                func median<T: Comparable>(_ values: [T]) -> T? { values.isEmpty ? nil : values.sorted()[values.count / 2] }
                let speedup = median(speedups)!, p50 = Double(median(p50s) ?? 0) / 1e6, p99 = Double(median(p99s) ?? 0) / 1e6
                let perBatch = batches > 0 ? Double(batched) / Double(batches) : 1
                rows.append("{\"scenario\":\(jsonEscaped(name)),\"mode\":\(jsonEscaped(mode.name)),\"batch_max_size\":\(mode.maxSize),\"seeds\":\(scenarioSeeds),"
                    + "\"predictions\":\(predictions),\"predictions_per_wall_s\":\(Double(predictions) / wall),\"median_seed_speedup\":\(speedup),"
                    + "\"events_per_s\":\(Double(events) / wall),\"events_per_prediction\":\(Double(events) / Double(Swift.max(1, predictions))),"
                    + "\"requests_per_batch\":\(perBatch),\"latency_p50_ms\":\(p50),\"latency_p99_ms\":\(p99)}")
                lines.append("\(name), \(mode.name): \(predictions) predictions in \(format3(wall)) wall s = \(Int(Double(predictions) / wall)) predictions/s through gateway -> inference; "
                    + "median seed \(Int(speedup))x real time; \(Int(Double(events) / wall)) events/s; \(String(format: "%.1f", perBatch)) requests a compute; "
                    + "latency p50 \(String(format: "%.1f", p50)) ms, p99 \(String(format: "%.1f", p99)) ms (virtual, median over seeds)")
            }
        }
        let kernel = KernelBenchmark.eventChurn(pending: 1000, events: 2_000_000)
        if json {
            print("{\"serving\":[\(rows.joined(separator: ","))],\"kernel_events_per_s\":\(kernel.perSecond)}")
        } else {
            lines.forEach { print($0) }
            print("kernel raw churn in the same invocation: \(Int(kernel.perSecond)) events/s")
        }
    }
}

extension BenchCommand {
    /// The SimPy model the Swift one is written after, for a reference in the same invocation.
    static let simpyMM1 = """
        import random, sys, time, simpy
        def run(n):
            env = simpy.Environment(); server = simpy.Resource(env, capacity=1); rng = random.Random(1)
            stats = [0.0, 0]
            def customer(env):
                arrived = env.now
                with server.request() as request:
                    yield request
                    yield env.timeout(rng.expovariate(1.0))
                stats[0] += env.now - arrived; stats[1] += 1
            def arrivals(env):
                for _ in range(n):
                    yield env.timeout(rng.expovariate(0.9))
                    env.process(customer(env))
            env.process(arrivals(env))
            start = time.perf_counter(); env.run(); seconds = time.perf_counter() - start
            print(stats[1] / seconds, stats[0] / stats[1])
        run(int(sys.argv[1]))
        """

    /// Runs the M/M/1 benchmark (`--mm1`), and SimPy's when it is installed.
    func runMM1() {
        guard (1000 ... 100_000_000).contains(customers) else { exitBadInput("--customers: must be 1000...100000000, got \(customers)") }
        let swift = KernelBenchmark.mm1(customers: customers)
        // SimPy on a tenth of the customers (it is about thirty times slower), same model.
        var simpy: (perSecond: Double, mean: Double)?
        if let python = CReference.which("python3"),
           let output = CReference.execute(python, ["-c", Self.simpyMM1, "\(Swift.max(1000, customers / 10))"]) {
            let numbers = output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
            if numbers.count == 2 { simpy = (numbers[0], numbers[1]) }
        }
        if json {
            print("{\"customers\":\(swift.served),\"customers_per_s\":\(swift.customersPerSecond),\"mean_time_in_system\":\(swift.meanTimeInSystem),"
                + "\"simpy_customers_per_s\":\(simpy.map { "\($0.perSecond)" } ?? "null"),\"ratio_to_simpy\":\(simpy.map { "\(swift.customersPerSecond / $0.perSecond)" } ?? "null")}")
        } else {
            print("M/M/1 (arrival 0.9, service 1.0), a process per customer, a FIFO resource of capacity 1:")
            print("  \(swift.served) customers at \(Int(swift.customersPerSecond)) customers/s; mean time in system \(String(format: "%.3f", swift.meanTimeInSystem)) s (theory 10)")
            if let simpy {
                print("  SimPy, same model, same invocation: \(Int(simpy.perSecond)) customers/s (mean \(String(format: "%.3f", simpy.mean)) s); ratio \(String(format: "%.1f", swift.customersPerSecond / simpy.perSecond))x")
            } else {
                print("  SimPy not found (pip install simpy): no reference in this invocation")
            }
        }
    }
}

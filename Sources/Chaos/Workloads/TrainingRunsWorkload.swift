import SimKernel
import SimServices
import Yams

/// Scenario 02's "same seed, different results" thread, driven by the `client` node: it stores a
/// dataset version (`PUT experiments/datasets`), submits `runs` training runs of one job, same seed,
/// code and data (`POST training/runs`), plus one on a digest that was never stored (which must
/// be refused), reads each run's parameters, tries to overwrite its learning rate (which must be
/// refused), waits for the runs to finish and reads back their metric series and parameters. A
/// control run with another seed (`control_runs`, the sweep's baseline, submitted first) gives the
/// comparison something to compare: once all are read back the client tags them, asks experiments to compare them and
/// searches them by tag and parameter (a hostile filter among the searches). Meanwhile it creates
/// scratch runs and forks each while deleting it, and lists what is left at the end. Last, it
/// registers the first run's model as a version with its run and reads the version's lineage.
/// The workers train the runs (`ReproducibleTrainer`); the checkers compare what they computed.
public struct TrainingRunsWorkload: Workload {
    public static let name = "training_runs"
    public static let requiredRoles = ["client", "gateway", "auth", "training", "experiments", "workers"]
    public static let keys = ["dataset_seed", "rows", "seed", "runs", "control_runs", "scratch_runs", "code", "epochs", "batch_size", "learning_rate", "hidden", "dropout",
                              "restart_period", "restart_growth"]

    public var datasetSeed: UInt64 = 7
    public var rows = 1024
    public var seed: UInt64 = 42
    public var runs = 2
    /// Runs with seeds seed+1, seed+2...
    public var controlRuns = 1
    /// Scratch runs, each forked while it is deleted.
    public var scratchRuns = 6
    public var code = "trainer-v1"
    public var epochs = 4
    public var batchSize = 32
    public var learningRate = 0.1
    public var hidden = 16
    public var dropout = 0.1
    public var restartPeriod = 8
    public var restartGrowth = 2

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "dataset_seed": datasetSeed = UInt64(try reader.integer(value, path, in: 0 ... Int64.max))
            case "rows": rows = Int(try reader.integer(value, path, in: 20 ... 100_000))
            case "seed": seed = UInt64(try reader.integer(value, path, in: 0 ... Int64.max))
            case "runs": runs = Int(try reader.integer(value, path, in: 1 ... 20))
            case "control_runs": controlRuns = Int(try reader.integer(value, path, in: 0 ... 20))
            case "scratch_runs": scratchRuns = Int(try reader.integer(value, path, in: 0 ... 100))
            case "code": code = try reader.string(value, path)
            case "epochs": epochs = Int(try reader.integer(value, path, in: 1 ... 100))
            case "batch_size": batchSize = Int(try reader.integer(value, path, in: 2 ... 1024))
            case "learning_rate": learningRate = try reader.number(value, path, in: 0.000_001 ... 10)
            case "hidden": hidden = Int(try reader.integer(value, path, in: 1 ... 256))
            case "dropout": dropout = try reader.number(value, path, in: 0 ... 0.9)
            case "restart_period": restartPeriod = Int(try reader.integer(value, path, in: 1 ... 100_000))
            default: restartGrowth = Int(try reader.integer(value, path, in: 1 ... 16))
            }
        }
        if batchSize > rows - rows / 5 {
            throw reader.fail(node, "\(field).batch_size", "a batch of \(batchSize) is larger than the \(rows - rows / 5) training rows (a fifth of \(rows) validates)")
        }
    }

    /// The names of the runs, `run-a`, `run-b`, ..., the same-seed runs first, then the controls.
    public var runNames: [String] { (0 ..< runs + controlRuns).map { "run-" + String(UnicodeScalar(UInt8(97 + $0))) } }

    /// The seed of run `index` (in `runNames` order).
    func seed(ofRun index: Int) -> UInt64 { index < runs ? seed : seed + UInt64(index - runs + 1) }

    /// The searches the client makes: (filter, tag team of the same-seed runs / the controls).
    static let searchFilters = ["tag.team = 'ml'", "tag.team = 'research' AND param.epochs = '4'", "tag.team = 'nobody' OR '1'='1'", "param.lr = '0.1'",
                                "tag.team = 'it''s'", "tag.team = 'ml' AND tag.team = 'research'"]

    /// A run of its own for the client's bookkeeping: a counter series of large values, whose
    /// summary must add up exactly; an artifact uploaded in parts and committed, which must read
    /// back whole; and one whose upload is abandoned half-way (the uploader killed), which must
    /// not be readable at all.
    func keepBooks(_ context: ProcessContext, gateway: Address, observations: TrainingRunObservations) async {
        await context.sleep(nanoseconds: 4 * Nanos.second)
        let api = PlatformClient(gateway: gateway, user: "ml-engineer")
        func ask(_ request: HTTPRequest) async -> HTTPResponse { await api.askUntilDefinitive(context, request) }
        var created: HTTPResponse
        repeat {
            created = await ask(HTTPRequest("POST", "experiments/runs", body: ["experiment": "bookkeeping", "run_key": "bookkeeping", "seed": "0"]))
        } while created.status != 200
        guard let run = created.body["run"].flatMap({ Int64($0) }) else { return }
        // Examples seen per logging interval: about 3e8 each, 2^31 passed after eight points.
        var logged: [Double] = []
        for step in 0 ..< Self.counterPoints {
            let value = Double(300_000_000 + 1_000 * step)
            if await ask(HTTPRequest("POST", "experiments/metrics", body: ["run": "\(run)", "step": "\(step)", "metric.examples_seen": "\(Int(value))"])).status == 200 {
                logged.append(value)
            }
        }
        let summary = await ask(HTTPRequest("GET", "experiments/metrics/summary", body: ["run": "\(run)", "key": "examples_seen"]))
        observations.summaries.append(.init(run: run, key: "examples_seen", logged: logged, status: summary.status,
                                            count: summary.body["count"].flatMap { Int64($0) }, sum: summary.body["sum"].flatMap { Double($0) }))
        observations.revision &+= 1
        var random = SimRandom(rootSeed: seed, stream: "artifacts")
        for (name, committed) in [("model.bin", true), ("checkpoint.bin", false)] {
            let parts = (0 ..< 4).map { _ in (0 ..< 48).map { _ in UInt8(random.uniform(0 ... 255)) } }
            let whole = parts.flatMap { $0 }, digest = SHA256.hex(SHA256.hash(whole))
            for (index, part) in parts.enumerated() where committed || index < 2 {
                _ = await ask(HTTPRequest("POST", "experiments/artifacts/part", body: ["run": "\(run)", "name": name, "part": "\(index)", "parts": "4", "data": hexBytes(part)]))
            }
            if committed {
                _ = await ask(HTTPRequest("POST", "experiments/artifacts/commit", body: ["run": "\(run)", "name": name, "parts": "4", "size": "\(whole.count)", "sha256": digest]))
            }
            let read = await ask(HTTPRequest("GET", "experiments/artifacts", body: ["run": "\(run)", "name": name]))
            let bytes = read.status == 200 ? read.body["data"].flatMap(bytesFromHex) : nil
            observations.artifactReads.append(.init(name: name, committed: committed, declaredSize: whole.count, declaredSHA256: digest, status: read.status,
                                                    size: bytes?.count, sha256: bytes.map { SHA256.hex(SHA256.hash($0)) }))
            observations.revision &+= 1
        }
        observations.bookkeepingFinishedAt = context.simulation.now
        observations.revision &+= 1
    }

    /// Points of the client's counter series.
    static let counterPoints = 16

    /// The rows the client stores as the dataset version.
    public var datasetRows: [Example] { SyntheticDataset(seed: datasetSeed, featureCount: 8, trainCount: rows, testCount: 1).train }

    func submission(name: String, dataset: String, seed: UInt64? = nil) -> TrainingRuns.Submit {
        TrainingRuns.Submit(name: name, experiment: "ctr-model", seed: seed ?? self.seed, dataset: dataset, code: code, epochs: epochs, batchSize: batchSize, lr: learningRate,
                            hidden: hidden, dropout: dropout, restartPeriod: restartPeriod, restartGrowth: restartGrowth)
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let simulation = platform.simulation, workload = self
        let observations = simulation.trainingRuns
        // The scientist of t1 whose runs these are: every request carries its token.
        let api = PlatformClient(gateway: gateway, user: "ml-engineer")
        client.addProcess("training-runs") { context in
            func ask(_ request: HTTPRequest) async -> HTTPResponse { await api.askUntilDefinitive(context, request) }
            /// Submits one run, checks its parameters, waits for it, reads it back.
            func follow(name: String, seed: UInt64, dataset: String) async {
                let submit = workload.submission(name: name, dataset: dataset, seed: seed)
                var run: Int64?
                while run == nil {
                    let accepted = await ask(HTTPRequest("POST", "training/runs", body: FormEncoder.encode(submit)))
                    run = accepted.status == 200 ? accepted.body["run"].flatMap { Int64($0) } : nil
                    if run == nil { await context.sleep(nanoseconds: 500 * Nanos.millisecond) }
                }
                let spec = ReproducibleTraining.Spec(name: name, run: run!, seed: seed, dataset: dataset, code: workload.code, epochs: workload.epochs,
                                                     batchSize: workload.batchSize, learningRate: workload.learningRate, hidden: workload.hidden,
                                                     dropout: workload.dropout, restartPeriod: workload.restartPeriod, restartGrowth: workload.restartGrowth)
                observations.submitted.append(.init(name: name, run: run!, seed: seed, code: workload.code, dataset: dataset, spec: spec))
                observations.revision &+= 1
                let atStart = await params(run!)
                let overwrite = await ask(HTTPRequest("POST", "experiments/params", body: ["run": "\(run!)", "key": "lr", "value": "\(workload.learningRate * 10)"]))
                while await ask(HTTPRequest("GET", "experiments/runs", body: ["run": "\(run!)"])).body["status"] == "running" {
                    await context.sleep(nanoseconds: 500 * Nanos.millisecond)
                }
                let series = await ask(HTTPRequest("GET", "experiments/metrics", body: ["run": "\(run!)"]))
                let points: [TrainingRunObservations.ReadPoint] = (series.body["points"] ?? "").splitBytes(";").compactMap { entry in
                    let fields = entry.splitBytes(",").map(String.init)
                    guard fields.count == 4, let step = Int64(fields[1]), let value = Double(fields[2]) else { return nil }
                    return .init(key: fields[0], step: step, value: value, timestamp: fields[3])
                }
                observations.readBacks.append(.init(name: name, points: points, params: await params(run!), paramsAtStart: atStart, overwriteStatus: overwrite.status))
                observations.revision &+= 1
            }

            func params(_ run: Int64) async -> [String: String] {
                while true {
                    let answer = await ask(HTTPRequest("GET", "experiments/params", body: ["run": "\(run)"]))
                    if answer.status == 200 {
                        var found: [String: String] = [:]
                        for (key, value) in answer.body where key.hasPrefix("param.") { found[String(key.dropFirst(6))] = value }
                        return found
                    }
                    await context.sleep(nanoseconds: 200 * Nanos.millisecond)
                }
            }
            /// Scratch runs: each forked while it is deleted (the two requests sent at once), then
            /// the experiment listed.
            func scratch() async {
                var parents: [Int64] = []
                for index in 0 ..< workload.scratchRuns {
                    let created = await ask(HTTPRequest("POST", "experiments/runs", body: ["experiment": "scratch", "run_key": "scratch-\(index)", "seed": "\(index)"]))
                    if created.status == 200, let run = created.body["run"].flatMap({ Int64($0) }) { parents.append(run) }
                }
                var racing = 0
                for (index, parent) in parents.enumerated() {
                    racing += 2
                    simulation.spawn {
                        _ = await ask(HTTPRequest("POST", "experiments/runs/fork", body: ["parent": "\(parent)", "run_key": "scratch-fork-\(index)"]))
                        racing -= 1
                    }
                    simulation.spawn {
                        _ = await ask(HTTPRequest("DELETE", "experiments/runs", body: ["run": "\(parent)"]))
                        racing -= 1
                    }
                }
                while racing > 0 { await context.sleep(nanoseconds: 50 * Nanos.millisecond) }
                let listed = await ask(HTTPRequest("GET", "experiments/runs/list", body: ["experiment": "scratch"]))
                if listed.status == 200 {
                    observations.lineage = (listed.body["runs"] ?? "").splitBytes(",").compactMap { entry in
                        let parts = entry.splitBytes(":").compactMap { Int64($0) }
                        return parts.count == 2 ? (parts[0], parts[1]) : nil
                    }
                    observations.revision &+= 1
                }
            }
            let text = String(decoding: DatasetVersion.encode(workload.datasetRows), as: UTF8.self)
            var digest = ""
            while digest.isEmpty {
                let stored = await ask(HTTPRequest("PUT", "experiments/datasets", body: ["name": "clicks-2026-11", "rows": text]))
                digest = stored.status == 200 ? stored.body["digest"] ?? "" : ""
            }
            // A run on data that was never stored: must be refused.
            let unknown = DatasetVersion.digest(Array("never stored".utf8))
            observations.mustBeRefused.append("run-unversioned")
            let refusal = await ask(HTTPRequest("POST", "training/runs", body: FormEncoder.encode(workload.submission(name: "run-unversioned", dataset: unknown))))
            observations.refused.append(("run-unversioned", refusal.status))
            observations.revision &+= 1
            var pending = workload.runNames.count
            // The baselines (control runs) first, as a sweep starts from last week's run; the
            // same-seed runs once the baselines are accepted.
            let baselines = Array(workload.runNames.enumerated()).suffix(workload.controlRuns)
            for (index, name) in baselines + Array(workload.runNames.enumerated()).prefix(workload.runs) {
                if index < workload.runs {
                    while observations.submitted.count < workload.controlRuns { await context.sleep(nanoseconds: 50 * Nanos.millisecond) }
                }
                simulation.spawn {
                    await follow(name: name, seed: workload.seed(ofRun: index), dataset: digest)
                    pending -= 1
                }
            }
            // The baseline's name again with another job (twice the learning rate): must be
            // refused, not trained under the first job's run.
            if let (index, name) = baselines.first ?? Array(workload.runNames.enumerated()).first {
                while !observations.submitted.contains(where: { $0.name == name }) { await context.sleep(nanoseconds: 50 * Nanos.millisecond) }
                var changed = workload.submission(name: name, dataset: digest, seed: workload.seed(ofRun: index))
                changed.lr *= 2
                observations.mustBeRefused.append("\(name) with another job")
                let answer = await ask(HTTPRequest("POST", "training/runs", body: FormEncoder.encode(changed)))
                observations.refused.append(("\(name) with another job", answer.status))
                observations.revision &+= 1
            }
            var scratchDone = false
            simulation.spawn {
                await scratch()
                scratchDone = true
            }
            while pending > 0 || !scratchDone { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            // Tags, the comparison, the searches.
            for run in observations.submitted {
                let team = workload.runNames.firstIndex(of: run.name).map { $0 < workload.runs ? "ml" : "research" } ?? "ml"
                if await ask(HTTPRequest("POST", "experiments/tags", body: ["run": "\(run.run)", "key": "team", "value": team])).status == 200 {
                    observations.tags[run.run, default: [:]]["team"] = team
                }
            }
            let compared = await ask(HTTPRequest("GET", "experiments/compare", body: ["experiment": "ctr-model", "metric": "val_auc", "goal": "max"]))
            if compared.status == 200, let best = compared.body["best"].flatMap({ Int64($0) }) {
                observations.comparison = (best, compared.body["ranking"] ?? "")
            }
            for filter in TrainingRunsWorkload.searchFilters {
                let found = await ask(HTTPRequest("GET", "experiments/runs/search", body: ["experiment": "ctr-model", "filter": filter]))
                let runs = (found.body["runs"] ?? "").splitBytes(",").compactMap { Int64($0) }
                observations.searches.append((filter, found.status, runs))
            }
            // The first same-seed run's model registered as a version with its run: the chain
            // dataset version -> run -> model version, read back from the registry.
            if let trained = observations.submitted.first(where: { $0.name == workload.runNames.first }) {
                _ = await ask(HTTPRequest("POST", "models/create", body: ["name": "ctr-model"]))
                let registered = await ask(HTTPRequest("POST", "registry/versions", body: ["model": "ctr-model", "run": "\(trained.run)"]))
                if registered.status == 200, let version = registered.body["version"].flatMap({ Int64($0) }) {
                    let lineage = await ask(HTTPRequest("GET", "registry/lineage", body: ["model": "ctr-model", "version": "\(version)"]))
                    observations.modelLineage = (trained.run, digest, workload.code, version, lineage.status, lineage.status == 200 ? lineage.body : [:])
                }
            }
            observations.clientFinishedAt = context.simulation.now
            observations.revision &+= 1
            context.record(.trainingRunsReadBack, payload: UInt64(observations.readBacks.count), "read back \(observations.readBacks.count) runs")

        }
        client.addProcess("bookkeeping") { context in await workload.keepBooks(context, gateway: gateway, observations: observations) }
    }
}

extension TraceKind {
    public static let trainingRunsReadBack = TraceKind("client.runs_read_back")
}

import SimKernel
import SimServices
import Yams

/// Scenario 02's "same seed, different results" thread, driven by the `client` node: it stores a
/// dataset version (`PUT experiments/datasets`), submits `runs` training runs of one job, same seed,
/// code and data (`POST training/runs`), plus one on a digest that was never stored (which must
/// be refused), reads each run's parameters, tries to overwrite its learning rate (which must be
/// refused), waits for the runs to finish and reads back their metric series and parameters.
/// The workers train the runs (`ReproducibleTrainer`); the checkers compare what they computed.
public struct TrainingRunsWorkload: Workload {
    public static let name = "training_runs"
    public static let requiredRoles = ["client", "gateway", "auth", "training", "experiments", "workers"]
    public static let keys = ["dataset_seed", "rows", "seed", "runs", "code", "epochs", "batch_size", "learning_rate", "hidden", "dropout",
                              "restart_period", "restart_growth"]

    public var datasetSeed: UInt64 = 7
    public var rows = 1024
    public var seed: UInt64 = 42
    public var runs = 2
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

    /// The names of the runs: `run-a`, `run-b`, ...
    public var runNames: [String] { (0 ..< runs).map { "run-" + String(UnicodeScalar(UInt8(97 + $0))) } }

    /// The rows the client stores as the dataset version.
    public var datasetRows: [Example] { SyntheticDataset(seed: datasetSeed, featureCount: 8, trainCount: rows, testCount: 1).train }

    func submission(name: String, dataset: String) -> TrainingRuns.Submit {
        TrainingRuns.Submit(name: name, experiment: "ctr-model", seed: seed, dataset: dataset, code: code, epochs: epochs, batchSize: batchSize, lr: learningRate,
                            hidden: hidden, dropout: dropout, restartPeriod: restartPeriod, restartGrowth: restartGrowth)
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let simulation = platform.simulation, workload = self
        let observations = simulation.trainingRuns
        client.addProcess("training-runs") { context in
            /// Sends `request` until it gets a definitive answer (not 5xx, 429 or silence).
            func ask(_ request: HTTPRequest) async -> HTTPResponse {
                var backoff = 100 * Nanos.millisecond
                while true {
                    if case .success(let envelope) = await context.call(gateway, HTTPMessage.request(request), timeout: 3 * Nanos.second),
                       case .response(let response) = envelope.payload as? HTTPMessage, response.status < 500, response.status != 429 { return response }
                    await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
                    backoff = Swift.min(2 * Nanos.second, backoff * 2)
                }
            }
            /// Submits one run, checks its parameters, waits for it, reads it back.
            func follow(name: String, dataset: String, headers: [String: String]) async {
                let submit = workload.submission(name: name, dataset: dataset)
                var run: Int64?
                while run == nil {
                    let accepted = await ask(HTTPRequest("POST", "training/runs", body: FormEncoder.encode(submit), headers: headers))
                    run = accepted.status == 200 ? accepted.body["run"].flatMap { Int64($0) } : nil
                    if run == nil { await context.sleep(nanoseconds: 500 * Nanos.millisecond) }
                }
                let spec = ReproducibleTraining.Spec(name: name, run: run!, seed: workload.seed, dataset: dataset, code: workload.code, epochs: workload.epochs,
                                                     batchSize: workload.batchSize, learningRate: workload.learningRate, hidden: workload.hidden,
                                                     dropout: workload.dropout, restartPeriod: workload.restartPeriod, restartGrowth: workload.restartGrowth)
                observations.submitted.append(.init(name: name, run: run!, seed: workload.seed, code: workload.code, dataset: dataset, spec: spec))
                observations.revision &+= 1
                let atStart = await params(run!)
                let overwrite = await ask(HTTPRequest("POST", "experiments/params", body: ["run": "\(run!)", "key": "lr", "value": "\(workload.learningRate * 10)"]))
                while await ask(HTTPRequest("GET", "experiments/runs", body: ["run": "\(run!)"])).body["status"] == "running" {
                    await context.sleep(nanoseconds: 500 * Nanos.millisecond)
                }
                let series = await ask(HTTPRequest("GET", "experiments/metrics", body: ["run": "\(run!)"]))
                let points: [TrainingRunObservations.ReadPoint] = (series.body["points"] ?? "").split(separator: ";").compactMap { entry in
                    let fields = entry.split(separator: ",").map(String.init)
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
            var token: String?
            while token == nil {
                let answer = await ask(HTTPRequest("POST", "auth/token", body: ["user": "ml-engineer", "api_key": "k-ml-engineer"]))
                token = answer.status == 200 ? answer.body["token"] : nil
            }
            let headers = ["authorization": token!]
            let text = String(decoding: DatasetVersion.encode(workload.datasetRows), as: UTF8.self)
            var digest = ""
            while digest.isEmpty {
                let stored = await ask(HTTPRequest("PUT", "experiments/datasets", body: ["name": "clicks-2026-11", "rows": text], headers: headers))
                digest = stored.status == 200 ? stored.body["digest"] ?? "" : ""
            }
            // A run on data that was never stored: must be refused.
            let unknown = DatasetVersion.digest(Array("never stored".utf8))
            observations.mustBeRefused.append("run-unversioned")
            let refusal = await ask(HTTPRequest("POST", "training/runs", body: FormEncoder.encode(workload.submission(name: "run-unversioned", dataset: unknown)), headers: headers))
            observations.refused.append(("run-unversioned", refusal.status))
            observations.revision &+= 1
            var pending = workload.runNames.count
            for name in workload.runNames {
                simulation.spawn {
                    await follow(name: name, dataset: digest, headers: headers)
                    pending -= 1
                }
            }
            while pending > 0 { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            context.record(.trainingRunsReadBack, payload: UInt64(observations.readBacks.count), "read back \(observations.readBacks.count) runs")

        }
    }
}

extension TraceKind {
    public static let trainingRunsReadBack = TraceKind("client.runs_read_back")
}

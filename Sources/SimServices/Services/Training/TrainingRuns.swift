import Foundation
import SimKernel

/// Reproducible training runs (scenario 02): `POST training/runs` is the experiment manager. It
/// checks that the dataset digest names a stored version (409 when experiments does not know it),
/// creates the experiment run with the job's write-once parameters (seed, learning rate, epochs,
/// batch size...), records the run in training_runs and hands the job, seed included, to the
/// workers on `training.runs`; a worker trains it (`ReproducibleTrainer`). Idempotent by name: a
/// resubmission is the same run.
///
/// E3 sets the seed in the manager only: the job published to the workers leaves it out, and each
/// worker falls back to a seed of its own process.
public enum TrainingRuns {
    public static let topic = "training.runs"

    public struct Submit: Codable, Sendable, Equatable {
        public var name: String
        public var experiment: String
        public var seed: UInt64
        /// The dataset version's digest.
        public var dataset: String
        public var code: String
        public var epochs: Int
        public var batchSize: Int
        public var lr: Double
        public var hidden: Int
        public var dropout: Double
        public var restartPeriod: Int
        public var restartGrowth: Int

        public init(name: String, experiment: String, seed: UInt64, dataset: String, code: String, epochs: Int, batchSize: Int, lr: Double, hidden: Int,
                    dropout: Double, restartPeriod: Int, restartGrowth: Int) {
            self.name = name
            self.experiment = experiment
            self.seed = seed
            self.dataset = dataset
            self.code = code
            self.epochs = epochs
            self.batchSize = batchSize
            self.lr = lr
            self.hidden = hidden
            self.dropout = dropout
            self.restartPeriod = restartPeriod
            self.restartGrowth = restartGrowth
        }
    }
    public struct Accepted: Codable, Sendable, Equatable {
        public var name: String
        public var run: Int64
    }

    static let route = Route("POST", "training/runs", Submit.self, Accepted.self) { runtime, request, info throws(ServiceError) in
        try await submit(runtime, request, info)
    }

    static func submit(_ runtime: ServiceRuntime, _ request: Submit, _ info: RequestInfo) async throws(ServiceError) -> Accepted {
        guard info.user != nil else { throw ServiceError(401, "a training run needs an authenticated caller") }
        guard !request.name.isEmpty, request.name.utf8.count <= 100 else { throw .badRequest("name: 1 to 100 bytes") }
        guard (1 ... 100).contains(request.epochs) else { throw .badRequest("epochs: \(request.epochs) is not in 1...100") }
        guard (2 ... 1024).contains(request.batchSize) else { throw .badRequest("batch_size: \(request.batchSize) is not in 2...1024") }
        guard (1 ... 256).contains(request.hidden) else { throw .badRequest("hidden: \(request.hidden) is not in 1...256") }
        guard request.lr > 0, request.lr <= 10 else { throw .badRequest("lr: \(request.lr) is not in (0, 10]") }
        guard request.dropout >= 0, request.dropout < 1 else { throw .badRequest("dropout: \(request.dropout) is not in [0, 1)") }
        guard request.restartPeriod >= 1, (1 ... 16).contains(request.restartGrowth) else { throw .badRequest("restart_period >= 1 and restart_growth in 1...16") }
        guard DatasetVersion.isDigest(request.dataset) else { throw .badRequest("dataset: not a SHA-256 digest in lower-case hex") }
        // The dataset must be a stored version: a run never starts on data nobody can name.
        switch await ask(runtime, HTTPRequest("GET", "experiments/datasets", body: ["digest": request.dataset])) {
        case .some(let response) where response.status == 404: throw ServiceError(409, "dataset \(request.dataset) is not a stored version")
        case .some(let response) where response.status == 200: break
        default: throw .unavailable("cannot check dataset \(request.dataset)")
        }
        let params: [String: String] = [
            "seed": "\(request.seed)", "lr": "\(request.lr)", "epochs": "\(request.epochs)", "batch_size": "\(request.batchSize)", "hidden": "\(request.hidden)",
            "dropout": "\(request.dropout)", "restart_period": "\(request.restartPeriod)", "restart_growth": "\(request.restartGrowth)",
        ]
        let create = ExperimentsService.CreateRun(seed: request.seed, code: request.code, data: request.dataset, runKey: "training-run/\(request.name)",
                                                  experiment: request.experiment, param: params)
        // On the submitter's behalf (its identity signed again for experiments), so the run is the
        // submitter's tenant's, as if it had created the run itself.
        guard let created = await runtime.callOnBehalf(of: info, service: "experiments", HTTPRequest("POST", "experiments/runs", body: FormEncoder.encode(create)), attempts: 5)
        else { throw .unavailable("cannot create the experiment run") }
        guard (200 ..< 300).contains(created.status), let run = created.body["run"].flatMap({ Int64($0) }) else {
            throw ServiceError(created.status, "the experiment run was refused: \(created.body["error"] ?? "status \(created.status)")")
        }
        let task = ReproducibleTraining.Spec(name: request.name, run: run, seed: runtime.defects.contains(.E3) ? nil : request.seed, dataset: request.dataset,
                                             code: request.code, epochs: request.epochs, batchSize: request.batchSize, learningRate: request.lr,
                                             hidden: request.hidden, dropout: request.dropout, restartPeriod: request.restartPeriod, restartGrowth: request.restartGrowth)
        let text = encode(task)
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("INSERT OR IGNORE INTO training_runs(name, run, task) VALUES (?, ?, ?)", [.text(request.name), .integer(run), .text(text)]),
            SQLStatement("SELECT task FROM training_runs WHERE name = ?", [.text(request.name)]),
        ]) else { throw .unavailable("cannot record the run") }
        // A name is one job: submitted again with the same job it is the same run (published
        // again), with another job it is refused (the workers would train it under the first
        // job's run and parameters).
        guard rows[1].rows.first?.first?.text == text else { throw ServiceError(409, "run \(request.name) was submitted with another job") }
        // Published on every (re)submission: a worker skips a run that is already finished.
        guard case .success = await runtime.kafka.produce(topic, key: request.name, value: Array(text.utf8), context: runtime.context) else {
            throw .unavailable("cannot hand the run to the workers")
        }
        runtime.context.record(.trainingRunAccepted, payload: UInt64(run), "run \(request.name) (experiments run \(run)) -> \(topic)")
        return Accepted(name: request.name, run: run)
    }

    /// One request through the gateway as the training service, retried on 5xx, 429 and silence;
    /// any other answer is returned.
    static func ask(_ runtime: ServiceRuntime, _ request: HTTPRequest, attempts: Int = 5) async -> HTTPResponse? {
        await runtime.askThroughGateway(request, attempts: attempts) { $0.status < 500 && $0.status != 429 }
    }

    /// A task as JSON with sorted keys (its wire form on Kafka).
    public static func encode(_ task: ReproducibleTraining.Spec) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(task)) ?? Data(), as: UTF8.self)
    }

    public static func decode(_ bytes: [UInt8]) -> ReproducibleTraining.Spec? { try? JSONDecoder().decode(ReproducibleTraining.Spec.self, from: Data(bytes)) }
}

extension TraceKind {
    public static let trainingRunAccepted = TraceKind("training.run_accepted")
}

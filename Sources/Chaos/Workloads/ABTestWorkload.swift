import SimKernel
import SimServices
import Yams

/// Scenario 04's A/B test, driven by the `client` node through the gateway: a model with three
/// versions (control and A on the signature `age,income,score`, B adding `segment`), control
/// promoted to Production and A and B staged (deployed to every replica), an experiment splitting
/// users over them (`arms`, basis points), then prediction traffic from `users` users, each
/// request carrying its user and named features; `legacy_share_percent` of the requests come
/// from an old client that does not send `segment`. Version B also answers a class label (its
/// declared output). `batch_max_size` above 1 turns on the replicas' request batching (closed at
/// `batch_max_wait_ms`); `rate_limit_per_s` and `rate_limit_burst` set the gateway's limit per
/// caller. The client reports the outcome (converted or not, at each arm's `conversion_percent`)
/// of `outcome_share_percent` of the answered predictions, once each, and asks for the verdict
/// every two seconds (the experiment plans `sample` outcomes per arm). Every answer, outcome and
/// verdict is recorded for the checks.
///
/// Beside the experiment, a support desk sends `text_requests_per_s` tickets' text to a text model
/// (`ticket-triage`, one version in Production, trained with `textPreprocessing`: weights per token
/// position, short texts padded on the right), each answer recorded for the offline replay.
public struct ABTestWorkload: Workload {
    public static let name = "ab_test"
    public static let requiredRoles = ["client", "gateway", "models", "registry", "inference"]
    public static let keys = ["model", "arms", "users", "requests_per_s", "legacy_share_percent", "cold_start_ms",
                              "prediction_ms_min", "prediction_ms_max", "settle_ms", "batch_max_size", "batch_max_wait_ms",
                              "rate_limit_per_s", "rate_limit_burst",
                              "outcome_share_percent", "sample", "conversion_percent", "text_requests_per_s"]

    public var model = "ranker"
    public var arms = "1:5000,2:2500,3:2500"
    public var users = 2000
    public var requestsPerSecond = 60
    public var legacySharePercent = 10
    public var settleMillis = 5000
    /// The share of answered predictions whose outcome the client reports, the sample each arm
    /// needs before the verdict, and each arm's true conversion rate in percent (by arm order).
    public var outcomeSharePercent = 25
    public var sample = 100
    public var conversionPercent: [Int] = [10, 14, 10]
    /// Text predictions a second to the text model (0: none, and it is not registered).
    public var textRequestsPerSecond = 0
    public var serving = ServingConfiguration()

    /// The versions' signatures: control and A as the model was created, B with `segment`.
    public static let baseFeatures = ["age", "income", "score"]
    public func features(version: Int64) -> [String] { version >= 3 ? Self.baseFeatures + ["segment"] : Self.baseFeatures }

    public init() {
        serving.coldStartMillis = 2340
        serving.predictionMillis = 40 ... 48
    }

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        self.init()
        guard let node else { return }
        var minimum: (Int, Yams.Node)?, maximum: (Int, Yams.Node)?
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "model": model = try ServingClient.modelName(value, path, reader: reader)
            case "arms":
                arms = try reader.string(value, path)
                guard case .success(let parsed) = ABSplit.parse(arms) else {
                    if case .failure(let error) = ABSplit.parse(arms) { throw reader.fail(value, path, error.message) }
                    return
                }
                guard parsed.map(\.version) == Array(1 ... Int64(parsed.count)), parsed.count <= 3 else {
                    throw reader.fail(value, path, "the arms must be versions 1, 2 (and 3) in order: the workload registers those")
                }
            case "users": users = Int(try reader.integer(value, path, in: 1 ... 1_000_000))
            case "requests_per_s": requestsPerSecond = Int(try reader.integer(value, path, in: 0 ... 100_000))
            case "legacy_share_percent": legacySharePercent = Int(try reader.integer(value, path, in: 0 ... 100))
            case "cold_start_ms": serving.coldStartMillis = Int(try reader.integer(value, path, in: 0 ... 600_000))
            case "settle_ms": settleMillis = Int(try reader.integer(value, path, in: 0 ... 600_000))
            case "batch_max_size": serving.batchMaxSize = Int(try reader.integer(value, path, in: 1 ... 4096))
            case "batch_max_wait_ms": serving.batchMaxWaitMillis = Int(try reader.integer(value, path, in: 0 ... 60_000))
            case "outcome_share_percent": outcomeSharePercent = Int(try reader.integer(value, path, in: 0 ... 100))
            case "sample": sample = Int(try reader.integer(value, path, in: 1 ... 1_000_000))
            case "conversion_percent":
                let text = try reader.string(value, path)
                let parts = text.splitBytes(",", omittingEmptySubsequences: false).map { Int($0) }
                guard !parts.isEmpty, parts.allSatisfy({ $0.map { (0 ... 100).contains($0) } ?? false }) else {
                    throw reader.fail(value, path, "'\(text)' is not a comma-separated list of percentages (0-100), one per arm")
                }
                conversionPercent = parts.map { $0! }
            case "rate_limit_per_s": serving.rateLimitPerSecond = Int(try reader.integer(value, path, in: 1 ... 1_000_000_000))
            case "rate_limit_burst": serving.rateLimitBurst = Int(try reader.integer(value, path, in: 1 ... 1_000_000))
            case "text_requests_per_s": textRequestsPerSecond = Int(try reader.integer(value, path, in: 0 ... 100_000))
            case "prediction_ms_min": minimum = (Int(try reader.integer(value, path, in: 0 ... 60_000)), value)
            default: maximum = (Int(try reader.integer(value, path, in: 0 ... 60_000)), value)
            }
        }
        serving.predictionMillis = try ServingClient.predictionRange(minimum: minimum, maximum: maximum, current: serving.predictionMillis,
                                                                     node: node, field: field, reader: reader)
    }

    public func configure(serving: inout ServingConfiguration) {
        serving = self.serving
    }

    /// The arms as parsed (validated when the scenario was read).
    public var parsedArms: ABSplit.Arms {
        if case .success(let parsed) = ABSplit.parse(arms) { return parsed }
        return []
    }

    public func artifact(version: Int64) -> ModelArtifact {
        let names = features(version: version)
        let weights: [Float] = [0.02, 0.00001, 0.5] + (names.count > 3 ? [0.8] : []) + [-1.5 + Float(version) * 0.1]
        return ModelArtifact(model: model, version: version, residentMiB: 50, weights: weights, features: names, output: version >= 3 ? .label : .probability)
    }

    /// The text model: its name, the pre-processing it was trained with, and its artifact (one
    /// weight per token position, falling from the first position to the last, so a text's words
    /// moved by padding meet other weights).
    public static let textModel = "ticket-triage"
    public static let textPreprocessing = TextPreprocessing(length: 8, vocabulary: 64, padding: .right)
    public static let textArtifact = ModelArtifact(model: textModel, version: 1, residentMiB: 50,
                                                   weights: [2.0, 1.5, 1.0, 0.5, -0.5, -1.0, -1.5, -2.0, 0.1], text: textPreprocessing)
    /// The tickets the support desk sends, most shorter than the sequence (padded), one longer
    /// (truncated: the same inputs whichever side is padded).
    public static let tickets = [
        "Refund not received", "Model endpoint returns 503 after deploy", "cannot log in", "Billing question",
        "GPU quota exceeded for team ranking, please raise the limit before Friday's retraining run", "Drift alert on feature age",
    ]

    public func install(on platform: Platform) {
        installSupportDesk(on: platform)
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let simulation = platform.simulation, workload = self
        let arms = parsedArms
        // The experimenter and its traffic act as one scientist of t1 (a token each request).
        let api = PlatformClient(gateway: gateway, user: "ml-engineer")
        client.addProcess("experimenter") { context in
            _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "models/create", body: ["name": workload.model, "signature": Self.baseFeatures.map { "\($0):float" }.joined(separator: ",")]))
            for arm in arms {
                let bytes = workload.artifact(version: arm.version).encoded
                _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/versions", body: [
                    "model": workload.model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes)),
                ]))
                let stage = arm.version == 1 ? "Production" : "Staging"
                _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/stages", body: ["model": workload.model, "version": "\(arm.version)", "stage": stage]))
                simulation.serving.deployments.append((simulation.now, ServingClient.servedKey(workload.model), arm.version))
            }
            // The replicas load and warm the versions from the deployments topic.
            await context.sleep(nanoseconds: Int64(workload.settleMillis) * Nanos.millisecond)
            _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "inference/experiments", body: ["model": workload.model, "arms": workload.arms, "sample": "\(workload.sample)"]))
            simulation.serving.experimentStartedAt = simulation.now
            context.record(.experimentStarted, payload: stableHash(workload.arms), "A/B experiment on \(workload.model): \(workload.arms)")
            guard workload.outcomeSharePercent > 0 else { return }
            while true {
                await context.sleep(nanoseconds: 2 * Nanos.second)
                let sent = simulation.now
                let asked = await api.call(context, HTTPRequest("POST", "inference/experiments/verdict", body: ["model": workload.model]), timeout: 3 * Nanos.second)
                guard case .success(let envelope) = asked, case .response(let response) = envelope.payload as? HTTPMessage else { continue }
                simulation.serving.abVerdicts.append((sent, simulation.now, response.status, response.body["arms"], response.body["comparisons"]))
                simulation.serving.revision &+= 1
            }
        }
        guard workload.requestsPerSecond > 0 else { return }
        client.addProcess("ab-traffic") { context in
            let serving = simulation.serving
            let gap = Nanos.second / Int64(workload.requestsPerSecond)
            while true {
                await context.sleep(nanoseconds: ServingClient.poissonGap(context, mean: gap))
                guard serving.experimentStartedAt != nil else { continue }
                let (user, legacy, age) = context.withRandom { random in
                    ("u\(random.uniform(1 ..< workload.users + 1))", random.uniform(0 ..< 100) < workload.legacySharePercent, random.uniform(18 ..< 81))
                }
                var named = ["age": "\(age)", "income": "52000", "score": "0.7"]
                if !legacy { named["segment"] = "2" }
                let sent = named.keys.sorted()
                context.simulation.spawn {
                    let start = simulation.now
                    let body = ["model": workload.model, "user": user, "features": sent.map { "\($0)=\(named[$0]!)" }.joined(separator: ",")]
                    let outcome = await api.call(context, HTTPRequest("POST", "inference/predict", body: body), timeout: 5 * Nanos.second)
                    guard case .success(let envelope) = outcome, case .response(let response) = envelope.payload as? HTTPMessage else { return }
                    serving.answers.append(ServingObservations.Answer(
                        sentAt: start, answeredAt: simulation.now, model: ServingClient.servedKey(workload.model), version: nil, status: response.status, replica: response.body["replica"],
                        error: response.body["error"], user: user, servedVersion: response.body["version"].flatMap { Int64($0) }, features: sent,
                        computeMillis: response.body["compute_ms"].flatMap { Int($0) }))
                    serving.answers[serving.answers.count - 1].p = response.body["p"].flatMap { Float($0) }
                    serving.answers[serving.answers.count - 1].label = response.body["label"]
                    serving.answers[serving.answers.count - 1].pinned = false
                    serving.revision &+= 1
                    guard response.status == 200, let version = response.body["version"].flatMap({ Int64($0) }),
                          let arm = arms.firstIndex(where: { $0.version == version }) else { return }
                    let (reports, converted) = context.withRandom { random in
                        (random.uniform(0 ..< 100) < workload.outcomeSharePercent,
                         random.uniform(0 ..< 100) < (arm < workload.conversionPercent.count ? workload.conversionPercent[arm] : 0))
                    }
                    guard reports else { return }
                    // One try (a retry would be safe: the id makes the report idempotent).
                    let index = serving.abOutcomes.count
                    serving.abOutcomes.append((simulation.now, version, nil))
                    let counted = await api.call(context, HTTPRequest("POST", "inference/experiments/outcomes", body: [
                        "model": workload.model, "user": user, "id": "o\(index)", "converted": converted ? "1" : "0"]), timeout: 3 * Nanos.second)
                    if case .success(let envelope) = counted, case .response(let answer) = envelope.payload as? HTTPMessage, answer.status == 200 {
                        serving.abOutcomes[index].acknowledgedAt = simulation.now
                    }
                }
            }
        }
    }
}

extension ABTestWorkload {
    /// The support desk: registers the text model and promotes it to Production, waits for the
    /// replicas to load it, then sends tickets' text at `text_requests_per_s` (Poisson), recording
    /// every answer for `preprocessing-parity`.
    func installSupportDesk(on platform: Platform) {
        guard textRequestsPerSecond > 0, let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let simulation = platform.simulation, workload = self
        let api = PlatformClient(gateway: gateway, user: "ci-bot")  // the support desk's service account
        client.addProcess("support-desk") { context in
            _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "models/create", body: ["name": Self.textModel]))
            let bytes = Self.textArtifact.encoded
            _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/versions", body: [
                "model": Self.textModel, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes)),
            ]))
            _ = await ServingClient.untilAccepted(context, api, HTTPRequest("POST", "registry/stages", body: ["model": Self.textModel, "version": "1", "stage": "Production"]))
            await context.sleep(nanoseconds: Int64(workload.settleMillis) * Nanos.millisecond)
            let gap = Nanos.second / Int64(workload.textRequestsPerSecond)
            while true {
                await context.sleep(nanoseconds: ServingClient.poissonGap(context, mean: gap))
                let text = Self.tickets[context.withRandom { $0.uniform(0 ..< Self.tickets.count) }]
                context.simulation.spawn {
                    let start = simulation.now
                    let outcome = await api.call(context, HTTPRequest("POST", "inference/predict", body: ["model": Self.textModel, "text": text]),
                                                     timeout: 5 * Nanos.second)
                    guard case .success(let envelope) = outcome, case .response(let response) = envelope.payload as? HTTPMessage, response.status == 200,
                          let p = response.body["p"].flatMap({ Float($0) }), let version = response.body["version"].flatMap({ Int64($0) }) else { return }
                    simulation.serving.textAnswers.append((start, Self.textModel, version, response.body["replica"] ?? "?", text, p))
                    simulation.serving.revision &+= 1
                }
            }
        }
    }
}

extension TraceKind {
    public static let experimentStarted = TraceKind("client.experiment")
}

import SimKernel

/// Model serving. At start-up a replica loads the default model's weights from the `models` bucket
/// (checksum verified by the store), charges its base memory to its node, and loads (and warms
/// up) the newest versions deployed so far, read from the start of `model.deployments`; without
/// an accelerator it falls back to the CPU (L2 crashes instead). Once ready it consumes
/// `model.deployments` in a consumer group of its own (`inference-<replica>`), loading each version
/// the registry stages or promotes. Loaded versions live in a `ModelCache` (at most
/// `ServingConfiguration.cacheSize`, least recently used evicted first, never one in use); each
/// costs its artifact's resident size of the node's memory, returned when it is evicted, and
/// beyond the node's budget the kernel kills the node (out of memory).
///
/// Routes: `POST inference/predict` (Predict -> Prediction): the default model when `model` is
/// absent; else `model` at `version` (absent: the arm of `user` in the model's A/B experiment, or
/// the model's Production version), loaded on a miss and pinned for the prediction;
/// `POST inference/experiments` (an A/B experiment, see `ABSplit`). In memory only: the cache and
/// the Production pointers (a restarted replica rebuilds both from the deployments topic, and
/// loads older versions on demand).
///
/// Defects: B1 (an evicted version stays referenced: its memory is never returned), H1 (eviction
/// takes the oldest loaded version even while a request uses it: the request fails mid-prediction),
/// B3 (the A/B split by whole percentages), B5 (no warm-up), B7 (validation against the first
/// signature, added features defaulted).
public enum InferenceService {
    static let weights: [Float] = [0.8, -0.5, 0.3, 0.1]
    public static let deploymentsTopic = "model.deployments"

    public struct Predict: Codable, Sendable, Equatable {
        /// The features, in the model's signature order (or `features`, by name).
        public var x: [Float]?
        /// Named features, `age=31,income=52000`: mapped onto the serving version's signature.
        public var features: String?
        public var model: String?
        public var version: Int64?
        /// The caller, for an A/B experiment on the model: assigned to an arm by its bucket.
        public var user: String?
    }
    public struct DefineExperiment: Codable, Sendable, Equatable {
        public var model: String
        /// `version:weight` pairs, weights in basis points summing to 10,000 (`1:5000,2:2500,3:2500`).
        public var arms: String
    }
    public struct ExperimentDefined: Codable, Sendable, Equatable {
        public var arms: String
    }
    public struct Prediction: Codable, Sendable, Equatable {
        public var p: Float
        /// Where it ran: `gpu` or `cpu`.
        public var device: String
        /// The version that answered (absent for the default model) and the replica's node.
        public var model: String?
        public var version: Int64?
        public var replica: String?
        /// Time from admission to answer on the replica, in ms.
        public var computeMs: Int64?
    }

    /// What this replica has loaded.
    public actor State {
        public private(set) var parameters: [Float]?
        public private(set) var device = "cpu"
        /// Loaded versions; B1's evicted versions that stay referenced.
        public private(set) var cache: ModelCache
        public private(set) var retired: [ModelCache.Entry] = []
        /// Each model's Production version, as the last Production deployment named it (a rollback
        /// names an older one).
        public private(set) var production: [String: Int64] = [:]
        var loading: Set<ModelKey> = []
        /// Loaded versions that have not answered yet and were not warmed up (B5).
        var cold: Set<ModelKey> = []
        /// The signature of the first version of each model this replica loaded.
        public private(set) var firstSignature: [String: [String]] = [:]
        /// A/B experiments by model, as read from Redis, and when they were read.
        var experiments: [String: (arms: ABSplit.Arms, readAt: Int64)] = [:]
        var baseBytes = 0
        var evictions = 0, loads = 0
        let keepsEvicted: Bool

        init(configuration: ServingConfiguration, defects: DefectSet) {
            cache = ModelCache(capacity: configuration.cacheSize)
            cache.evictsInUse = defects.contains(.H1)
            keepsEvicted = defects.contains(.B1)
        }

        /// Takes the platform's serving configuration (the cache's capacity), before anything is loaded.
        func configure(_ configuration: ServingConfiguration) {
            guard cache.count == 0, cache.capacity != configuration.cacheSize else { return }
            let evictsInUse = cache.evictsInUse
            cache = ModelCache(capacity: configuration.cacheSize)
            cache.evictsInUse = evictsInUse
        }

        func loaded(_ parameters: [Float], device: String) {
            self.parameters = parameters
            self.device = device
        }

        /// Charges the replica's base memory (once per process).
        func chargeBase(_ bytes: Int, node: Node, context: ProcessContext) -> Bool {
            if baseBytes == 0 && bytes > 0 {
                do { try node.allocate(bytes: bytes, by: "inference") } catch { return false }
                baseBytes = bytes
            }
            observe(node: node, context: context)
            return true
        }

        func deployed(_ deployment: Deployment) {
            if deployment.stage == .production { production[deployment.key.model] = deployment.key.version }
        }

        /// Starts loading `key` unless it is loaded or loading: true when the caller must load it.
        func beginLoad(_ key: ModelKey) -> Bool {
            guard !cache.contains(key), !loading.contains(key) else { return false }
            loading.insert(key)
            return true
        }
        func isLoading(_ key: ModelKey) -> Bool { loading.contains(key) }
        func abandonLoad(_ key: ModelKey) { loading.remove(key) }

        /// Charges a loaded artifact's memory, caches it and returns the memory of what it evicts,
        /// in one step (no event between them sees the memory and the cache disagree). False when
        /// the node ran out of memory (the kernel killed it).
        func finishLoad(_ artifact: ModelArtifact, warm: Bool = true, pinned: Bool = false, node: Node, context: ProcessContext) -> Bool {
            let key = ModelKey(artifact.model, artifact.version)
            loading.remove(key)
            if firstSignature[artifact.model] == nil { firstSignature[artifact.model] = artifact.features }
            if !warm { cold.insert(key) }
            do { try node.allocate(bytes: artifact.residentBytes, by: "inference") } catch { return false }
            loads += 1
            context.record(.modelLoaded, payload: stableHash(key.description), "\(key) loaded (\(artifact.residentMiB) MiB)")
            returnMemory(of: cache.insert(artifact, pinned: pinned), node: node, context: context)
            observe(node: node, context: context)
            return true
        }

        /// Whether this request is the first on a version that was not warmed up (and pays for it).
        func takeColdStart(_ key: ModelKey) -> Bool { cold.remove(key) != nil }

        func experiment(_ model: String, at now: Int64) -> ABSplit.Arms? {
            guard let known = experiments[model], now - known.readAt < Nanos.second else { return nil }
            return known.arms
        }
        func remember(_ model: String, arms: ABSplit.Arms, at now: Int64) { experiments[model] = (arms, now) }

        /// Admits a request on `key`: pins it and returns its weights (nil: not loaded).
        func admit(_ key: ModelKey) -> ModelArtifact? {
            guard cache.pin(key) else { return nil }
            return cache.artifact(key)
        }

        /// Ends a request on `key`: the weights it computes with (nil when the version was
        /// unloaded under it, H1) and the device, then the unpin.
        func release(_ key: ModelKey, node: Node, context: ProcessContext) -> (ModelArtifact, String)? {
            let artifact = cache.artifact(key)
            unpin(key, node: node, context: context)
            return artifact.map { ($0, device) }
        }

        func unpin(_ key: ModelKey, node: Node, context: ProcessContext) {
            returnMemory(of: cache.unpin(key), node: node, context: context)
            observe(node: node, context: context)
        }

        private func returnMemory(of evicted: [ModelCache.Entry], node: Node, context: ProcessContext) {
            for entry in evicted {
                evictions += 1
                let key = ModelKey(entry.artifact.model, entry.artifact.version)
                cold.remove(key)
                context.record(.modelEvicted, payload: stableHash(key.description), "evicted \(key)" + (entry.pins > 0 ? " while \(entry.pins) request(s) use it" : ""))
                if keepsEvicted {
                    // B1: the evicted version stays referenced (a list of retired models kept
                    // "for a quick rollback"), so its memory is never returned.
                    retired.append(entry)
                } else {
                    node.free(bytes: entry.artifact.residentBytes)
                }
            }
        }

        /// Publishes what the cache accounts for, for the memory checker.
        private func observe(node: Node, context: ProcessContext) {
            let serving = context.simulation.serving
            let peak = Swift.max(serving.replicas[node.name]?.peakBytes ?? 0, node.memoryUsed)
            serving.replicas[node.name] = ServingObservations.Replica(
                epoch: context.epoch, baseBytes: baseBytes, cachedBytes: cache.residentBytes,
                cached: cache.keys.map { ($0, cache.pins($0)) }, spared: cache.spared, capacity: cache.capacity, evictions: evictions, loads: loads, peakBytes: peak)
            serving.revision &+= 1
        }
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "inference", routes: [
            Route("POST", "inference/predict", Predict.self, Prediction.self) { runtime, request, _ throws(ServiceError) in
                guard let model = request.model else { return try await predictDefault(runtime, request) }
                var version = request.version
                if version == nil, let user = request.user { version = try await ABSplit.arm(runtime, model: model, user: user) }
                return try await predict(runtime, model: model, version: version, x: request.x, features: request.features)
            },
            Route("POST", "inference/experiments", DefineExperiment.self, ExperimentDefined.self) { runtime, request, _ throws(ServiceError) in
                try await ABSplit.define(runtime, model: request.model, arms: request.arms)
            },
        ])
        spec.buckets = ["models"]
        spec.configuration.acceleratorRequired = defects.contains(.L2)  // L2: no CPU fallback
        spec.makeState = { [defects] in State(configuration: ServingConfiguration(), defects: defects) }
        spec.bootstrap = { runtime in
            let context = runtime.context
            let bytes = Array(weights.map { "\($0)" }.joined(separator: ",").utf8)
            _ = await runtime.objectStore.request(.put(bucket: "models", key: "default/weights", bytes: bytes, ifNoneMatch: false), context: context)
            guard case .success(.object(let loaded, _)) = await runtime.objectStore.request(.get(bucket: "models", key: "default/weights"), context: context) else {
                return "cannot load the default model"
            }
            let parameters = String(decoding: loaded, as: UTF8.self).split(separator: ",").compactMap { Float($0) }
            let state = runtime.state(State.self)
            await state.configure(runtime.directory.serving)
            await state.loaded(parameters, device: runtime.configuration.nodeHasAccelerator ? "gpu" : "cpu")
            guard await state.chargeBase(runtime.directory.serving.baseMiB << 20, node: context.node, context: context) else {
                return "out of memory charging the base memory"
            }
            await loadDeployed(runtime)
            return nil
        }
        spec.afterReady = { runtime in
            // Each replica reads every deployment: a consumer group of its own.
            await runtime.consume(group: "inference-\(runtime.replica)", topic: deploymentsTopic) { record in
                guard let deployment = Deployment(record: record) else { return }
                await runtime.state(State.self).deployed(deployment)
                await load(runtime, deployment.key)
            }
        }
        // L9: its buckets under an invalid name, the failure ignored.
        if defects.contains(.L9) {
            spec.bucketName = { $0.uppercased() + "_BUCKET" }
            spec.ignoresBucketFailures = true
        }
        return spec
    }

    static func predictDefault(_ runtime: ServiceRuntime, _ request: Predict) async throws(ServiceError) -> Prediction {
        let x = request.x ?? []
        guard x.count == weights.count - 1 else { throw ServiceError(422, "expected \(weights.count - 1) features, got \(x.count)") }
        let state = runtime.state(State.self)
        guard let parameters = await state.parameters, parameters.count == weights.count else { throw .unavailable("model not loaded") }
        return Prediction(p: LogisticModel.sigmoid(LogisticModel.score(parameters, x)), device: await state.device)
    }

    /// A prediction on `model` at `version`: pinned from admission to answer, loaded on a miss.
    static func predict(_ runtime: ServiceRuntime, model: String, version: Int64?, x positional: [Float]?, features named: String?) async throws(ServiceError) -> Prediction {
        let state = runtime.state(State.self), context = runtime.context
        let current = await state.production[model]
        guard let version = version ?? current else { throw ServiceError(404, "no version of \(model) is in Production") }
        let key = ModelKey(model, version)
        var admitted = await state.admit(key)
        var admittedAt = context.simulation.now
        if admitted == nil {
            // Loaded for this request: it comes into the cache pinned for it, so no eviction can
            // take it between the load and the request's use.
            guard let loaded = await load(runtime, key, pinnedForRequest: true) else { throw .unavailable("cannot load \(key)") }
            admitted = loaded
            admittedAt = context.simulation.now
        }
        let x: [Float]
        do throws(ServiceError) {
            x = try await inputs(runtime, admitted!, positional: positional, named: named)
        } catch {
            await state.unpin(key, node: context.node, context: context)
            throw error
        }
        let range = runtime.directory.serving.predictionMillis
        var millis = context.simulation.withRandom(stream: "inference/\(context.node.name)") { $0.uniform(Int64(range.lowerBound) ... Int64(range.upperBound)) }
        // A version's first prediction on a replica builds its compute graph (the cold start);
        // the loader's warm-up pays it before the version takes traffic, unless B5 skipped it.
        if await state.takeColdStart(key) { millis += Int64(runtime.directory.serving.coldStartMillis) }
        await context.sleep(nanoseconds: millis * Nanos.millisecond)
        // The weights are read again after the compute: a version evicted under the request (H1)
        // is gone now.
        guard let (artifact, device) = await state.release(key, node: context.node, context: context) else {
            throw .internalError("\(key) was unloaded during the prediction on \(context.node.name)")
        }
        let p = LogisticModel.sigmoid(LogisticModel.score(artifact.weights, x))
        let computeMs = (context.simulation.now - admittedAt) / Nanos.millisecond
        let serving = context.simulation.serving
        serving.computed.append((context.simulation.now, context.node.name, model, version, computeMs))
        serving.revision &+= 1
        return Prediction(p: p, device: device, model: model, version: version, replica: context.node.name, computeMs: computeMs)
    }

    /// Readiness: before a (re)started replica takes traffic, it reads the deployments topic from
    /// its start and loads (and warms up) the newest versions that fit its cache, so no request
    /// meets a version cold. A topic that is missing or unreachable means nothing to load now:
    /// the consumer picks up deployments once the replica runs, and other versions load on demand.
    static func loadDeployed(_ runtime: ServiceRuntime) async {
        let context = runtime.context, state = runtime.state(State.self)
        var deployments: [Deployment] = []
        scan: for partition in 0 ..< 64 {
            let topicPartition = TopicPartition(deploymentsTopic, partition)
            var offset = 0, failures = 0
            while true {
                switch await runtime.kafka.fetch(topicPartition, from: offset, max: 100, context: context) {
                case .success(let records):
                    if records.isEmpty { continue scan }
                    for record in records {
                        if let deployment = Deployment(record: record) { deployments.append(deployment) }
                        offset = record.offset + 1
                    }
                case .failure(.server(.invalidPartition)), .failure(.server(.unknownTopic)):
                    break scan  // past the topic's last partition, or nothing deployed yet
                case .failure:
                    // A lost request is asked again; a broker down for long leaves the rest to
                    // the consumer and to loads on demand.
                    failures += 1
                    if failures > 5 { break scan }
                    await context.sleep(nanoseconds: 200 * Nanos.millisecond)
                }
            }
        }
        var newest: [ModelKey] = []
        for deployment in deployments.reversed() where !newest.contains(deployment.key) && newest.count < runtime.directory.serving.cacheSize {
            newest.append(deployment.key)
        }
        for deployment in deployments { await state.deployed(deployment) }
        for key in newest.reversed() { await load(runtime, key) }
    }

    /// The request's inputs in the version's signature order: positional values must match its
    /// length; named values must name every feature of its signature (extra names are ignored),
    /// never reordered, cast or defaulted. B7 validates against the signature of the first version
    /// this replica loaded instead (the schema does not follow the version) and defaults the
    /// features a later version added to 0.
    static func inputs(_ runtime: ServiceRuntime, _ artifact: ModelArtifact, positional: [Float]?, named: String?) async throws(ServiceError) -> [Float] {
        let key = ModelKey(artifact.model, artifact.version)
        guard let named else {
            let x = positional ?? []
            guard x.count == artifact.features.count else { throw ServiceError(422, "\(key) expects \(artifact.features.count) features, got \(x.count)") }
            return x
        }
        var values: [String: Float] = [:]
        for pair in named.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Float(parts[1]), value.isFinite else { throw .badRequest("features: '\(pair)' is not name=number") }
            values[parts[0]] = value
        }
        var validated = artifact.features
        if runtime.defects.contains(.B7), let first = await runtime.state(State.self).firstSignature[artifact.model] { validated = first }
        if let missing = validated.first(where: { values[$0] == nil }) {
            throw ServiceError(422, "\(key) needs feature '\(missing)' (signature \(artifact.features.joined(separator: ",")))")
        }
        return artifact.features.map { values[$0] ?? 0 }
    }

    /// Loads `key` from the object store into the cache (one loader at a time; others wait for
    /// it), warming it up first. With `pinnedForRequest`, returns the version pinned for the
    /// caller (nil when it cannot be loaded: missing, failing its checksum, out of memory, or
    /// evicted while another loader had it); without, returns it unpinned once it is cached.
    @discardableResult
    static func load(_ runtime: ServiceRuntime, _ key: ModelKey, pinnedForRequest: Bool = false) async -> ModelArtifact? {
        let state = runtime.state(State.self), context = runtime.context
        if let cached = await state.admit(key) {
            if !pinnedForRequest { await state.unpin(key, node: context.node, context: context) }
            return cached
        }
        guard await state.beginLoad(key) else {
            // Another request loads it: wait for that load to end.
            while await state.isLoading(key) { await context.sleep(nanoseconds: 10 * Nanos.millisecond) }
            guard let cached = await state.admit(key) else { return nil }
            if !pinnedForRequest { await state.unpin(key, node: context.node, context: context) }
            return cached
        }
        let fetched = await runtime.objectStore.request(.get(bucket: "models", key: "\(key.model)/\(key.version)"), context: context)
        guard case .success(.object(let bytes, _)) = fetched, let artifact = ModelArtifact(decoding: bytes),
              artifact.model == key.model, artifact.version == key.version else {
            await state.abandonLoad(key)
            return nil
        }
        let cold = runtime.directory.serving.coldStartMillis
        let warmsUp = cold > 0 && !runtime.defects.contains(.B5)
        if warmsUp {
            // Warm-up: a representative request through the fresh version builds its compute
            // graph before the version is visible to traffic.
            await context.sleep(nanoseconds: Int64(cold) * Nanos.millisecond)
        }
        guard await state.finishLoad(artifact, warm: warmsUp || cold == 0, pinned: pinnedForRequest, node: context.node, context: context) else { return nil }
        return artifact
    }
}

/// A record of the deployments topic: a version moved to Staging or Production (value
/// `<version> <stage>`, keyed by the model).
public struct Deployment: Hashable, Sendable {
    public var key: ModelKey
    public var stage: ModelStage

    public init(_ key: ModelKey, stage: ModelStage) {
        self.key = key
        self.stage = stage
    }

    public var value: [UInt8] { Array("\(key.version) \(stage.rawValue)".utf8) }

    public init?(record: KafkaRecord) {
        let parts = String(decoding: record.value, as: UTF8.self).split(separator: " ")
        guard parts.count == 2, let version = Int64(parts[0]), let stage = ModelStage(rawValue: String(parts[1])) else { return nil }
        self.init(ModelKey(record.key, version), stage: stage)
    }
}

extension TraceKind {
    public static let modelLoaded = TraceKind("inference.load")
    public static let modelEvicted = TraceKind("inference.evict")
}

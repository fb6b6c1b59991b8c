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
        /// A text model's input, pre-processed as the serving version's artifact records.
        public var text: String?
    }
    public struct DefineExperiment: Codable, Sendable, Equatable {
        public var model: String
        /// `version:weight` pairs, weights in basis points summing to 10,000 (`1:5000,2:2500,3:2500`).
        public var arms: String
        /// The outcomes each arm needs before the verdict (default 1,000).
        public var sample: Int?
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
        /// The class label, for a version whose declared output is a label: `0` or `1`.
        public var label: String?
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
        /// Predictions answered by this process (the autoscaler's metric).
        var answered = 0
        func countAnswer() { answered += 1 }
        let keepsEvicted: Bool

        /// Where the cache's trace goes (set when the process charges its base memory).
        var serving: ServingObservations?
        var replica = ""
        let defects: DefectSet

        init(configuration: ServingConfiguration, defects: DefectSet) {
            self.defects = defects
            cache = ModelCache(capacity: configuration.cacheSize)
            cache.eviction = Self.eviction(defects)
            keepsEvicted = defects.contains(.B1)
        }

        static func eviction(_ defects: DefectSet) -> ModelCache.Eviction {
            defects.contains(.H1) ? .oldestLoadedEvenInUse : defects.contains(.H8) ? .oldestLoaded : .leastRecentlyUsed
        }

        /// Forming batches (nil: no batching).
        var batcher: PredictionBatcher?
        func joinBatch(_ key: ModelKey, inputs: [Float], ticket: UInt64) -> (batch: PredictionBatch, row: Int, opened: Bool, filled: Bool)? {
            batcher?.join(key, inputs: inputs, ticket: ticket)
        }
        func batchWaitEnded(_ batch: PredictionBatch) { batcher?.waitEnded(batch) }

        /// Takes the platform's serving configuration (the cache's capacity, batching), before anything is loaded.
        func configure(_ configuration: ServingConfiguration) {
            if configuration.batchMaxSize > 1, batcher == nil {
                batcher = PredictionBatcher(maxSize: configuration.batchMaxSize, maxWaitMillis: configuration.batchMaxWaitMillis)
            }
            guard cache.count == 0, cache.capacity != configuration.cacheSize else { return }
            cache = ModelCache(capacity: configuration.cacheSize)
            cache.eviction = Self.eviction(defects)
        }

        /// Appends to this replica's cache trace (what the eviction checker replays).
        func trace(_ event: ServingObservations.CacheEvent) {
            guard let serving else { return }
            serving.cacheTraces[replica, default: []].append(event)
        }

        func loaded(_ parameters: [Float], device: String) {
            self.parameters = parameters
            self.device = device
        }

        /// Charges the replica's base memory (once per process).
        func chargeBase(_ bytes: Int, node: Node, context: ProcessContext) -> Bool {
            if serving == nil {
                serving = context.simulation.serving
                replica = node.name
                trace(.restart)
                serving?.pointers[replica] = nil
                serving?.canaries[replica] = nil
            }
            if baseBytes == 0 && bytes > 0 {
                do { try node.allocate(bytes: bytes, by: "inference") } catch { return false }
                baseBytes = bytes
            }
            observe(node: node, context: context)
            return true
        }

        /// Each model's canary: its version and percentage of the traffic without a version.
        public private(set) var canaries: [String: (version: Int64, percent: Int)] = [:]
        var canaryGenerations: [String: Int64] = [:]

        /// The offset of each model's deployments (one partition per model) that readiness read up to.
        var readThrough: [String: Int] = [:]
        func caughtUp(_ model: String, through offset: Int) { readThrough[model] = Swift.max(offset, readThrough[model] ?? -1) }
        func isNew(_ model: String, offset: Int) -> Bool { offset > readThrough[model] ?? -1 }

        /// Follows a deployment: a Production one moves the model's Production pointer. H5 keeps
        /// the pointer while the version it names is still loaded (the replica trusts its cache,
        /// so replicas that loaded at different times disagree on the model for good).
        func deployed(_ deployment: Deployment) {
            if let percent = deployment.canaryPercent {
                // Only a newer change of the canary applies (records may arrive out of order).
                guard deployment.generation > canaryGenerations[deployment.key.model] ?? 0 else { return }
                canaryGenerations[deployment.key.model] = deployment.generation
                canaries[deployment.key.model] = percent > 0 ? (deployment.key.version, percent) : nil
                serving?.canaries[replica, default: [:]][deployment.key.model] = percent > 0 ? (deployment.key.version, percent) : nil
                return
            }
            guard deployment.stage == .production else { return }
            let model = deployment.key.model
            if defects.contains(.H5), let current = production[model], cache.contains(ModelKey(model, current)) { return }
            production[model] = deployment.key.version
            serving?.pointers[replica, default: [:]][model] = deployment.key.version
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
            do { try node.allocate(bytes: artifact.residentBytes, by: "inference") } catch { return false }
            if cache.contains(key) {
                // H4's duplicate read (no single flight): the copy read is dropped (it cost its
                // memory while it was read) and the one cached serves.
                node.free(bytes: artifact.residentBytes)
                if pinned {
                    _ = cache.pin(key)
                    trace(.use(key, hit: true))
                }
                observe(node: node, context: context)
                return true
            }
            if !warm { cold.insert(key) }
            loads += 1
            context.record(.modelLoaded, payload: stableHash(key.description), "\(key) loaded (\(artifact.residentMiB) MiB)")
            trace(.insert(key, pinned: pinned))
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
            trace(.use(key, hit: true))
            return cache.artifact(key)
        }

        /// Records a request's miss on `key` (it loads the version next).
        func missed(_ key: ModelKey) { trace(.use(key, hit: false)) }

        /// The weights loaded for `model`'s Production version now (B9 reads them at the end of a
        /// prediction instead of the admitted version's).
        func productionWeights(_ model: String) -> ModelArtifact? {
            production[model].flatMap { cache.artifact(ModelKey(model, $0)) }
        }

        /// M1's rollback reload: `artifact` takes the place of the loaded version `key`.
        func replace(_ key: ModelKey, with artifact: ModelArtifact) {
            _ = cache.replace(key, with: artifact)
        }

        /// Ends a request on `key`: the weights it computes with (nil when the version was
        /// unloaded under it, H1) and the device, then the unpin.
        func release(_ key: ModelKey, node: Node, context: ProcessContext) -> (ModelArtifact, String)? {
            let artifact = cache.artifact(key)
            unpin(key, node: node, context: context)
            return artifact.map { ($0, device) }
        }

        func unpin(_ key: ModelKey, node: Node, context: ProcessContext) {
            trace(.unpin(key))
            returnMemory(of: cache.unpin(key), node: node, context: context)
            observe(node: node, context: context)
        }

        private func returnMemory(of evicted: [ModelCache.Entry], node: Node, context: ProcessContext) {
            for entry in evicted {
                evictions += 1
                let key = ModelKey(entry.artifact.model, entry.artifact.version)
                cold.remove(key)
                trace(.evict(key))
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
            Route("POST", "inference/predict", Predict.self, Prediction.self) { runtime, request, info throws(ServiceError) in
                guard let name = request.model else { return try await predictDefault(runtime, request) }
                let model = try servingKey(info, name)
                await runtime.state(State.self).countAnswer()
                if let text = request.text {
                    // Refused before any version is picked or loaded: one kind of input, of bounded size.
                    guard request.x == nil, request.features == nil else { throw .badRequest("text: send text, x or features, not several") }
                    guard text.utf8.count <= maxTextBytes else { throw .badRequest("text: \(text.utf8.count) bytes, at most \(maxTextBytes)") }
                }
                var version = request.version
                if version == nil, let user = request.user { version = try await ABSplit.arm(runtime, model: model, user: user) }
                if version == nil, let canary = await runtime.state(State.self).canaries[model] {
                    // A canary takes its percentage of the buckets (by user, else by input).
                    let bucket = ABSplit.bucket(model: model, user: request.user ?? request.features ?? request.text ?? (request.x ?? []).map { "\($0)" }.joined(separator: ","))
                    if bucket < canary.percent * 100 { version = canary.version }
                }
                var prediction = try await predict(runtime, model: model, version: version, x: request.x, features: request.features, text: request.text)
                prediction.model = name  // the caller's name for it
                return prediction
            },
            Route("POST", "inference/experiments", DefineExperiment.self, ExperimentDefined.self) { runtime, request, info throws(ServiceError) in
                try await ABSplit.define(runtime, model: try servingKey(info, request.model), arms: request.arms, sample: request.sample ?? 1000)
            },
            Route("POST", "inference/experiments/outcomes", ABVerdict.Outcome.self, ABVerdict.Counted.self) { runtime, request, info throws(ServiceError) in
                var outcome = request
                outcome.model = try servingKey(info, request.model)
                return try await ABVerdict.record(runtime, outcome)
            },
            Route("POST", "inference/experiments/verdict", ABVerdict.VerdictRequest.self, ABVerdict.Verdict.self) { runtime, request, info throws(ServiceError) in
                try await ABVerdict.verdict(runtime, model: try servingKey(info, request.model))
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
            let parameters = String(decoding: loaded, as: UTF8.self).splitBytes(",").compactMap { Float($0) }
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
            if runtime.directory.serving.autoscaleTargetPerReplica > 0 {
                runtime.context.simulation.spawn {
                    await Autoscaler.publish(runtime, instance: "inference-\(runtime.replica)") { await runtime.state(State.self).answered }
                }
            }
            // Each replica reads every deployment: a consumer group of its own.
            await runtime.consume(group: "inference-\(runtime.replica)", topic: deploymentsTopic, coalesce: newestProduction) { record in
                guard let deployment = Deployment(record: record) else { return }
                await follow(runtime, deployment, offset: record.offset)
            }
        }
        // L9: its buckets under an invalid name, the failure ignored.
        if defects.contains(.L9) {
            spec.bucketName = { $0.uppercased() + "_BUCKET" }
            spec.ignoresBucketFailures = true
        }
        return spec
    }

    /// The key a request's model is served under (`ModelsService.key`): the caller's tenant's
    /// model of that name (a platform service acting as itself, with no tenant, serves t1's).
    /// Versions, Production pointers, canaries, caches and A/B experiments are all by key, so two
    /// tenants' models of one name never share any of them.
    static func servingKey(_ info: RequestInfo, _ model: String) throws(ServiceError) -> String {
        guard ModelsService.isModelName(model) else { throw .badRequest("model: '\(model)' is not a model name (\(ModelsService.modelNameRule))") }
        return ModelsService.key(tenant: info.tenant ?? "t1", model: model)
    }

    static func predictDefault(_ runtime: ServiceRuntime, _ request: Predict) async throws(ServiceError) -> Prediction {
        let x = request.x ?? []
        guard x.count == weights.count - 1 else { throw ServiceError(422, "expected \(weights.count - 1) features, got \(x.count)") }
        let state = runtime.state(State.self)
        guard let parameters = await state.parameters, parameters.count == weights.count else { throw .unavailable("model not loaded") }
        return Prediction(p: LogisticModel.sigmoid(LogisticModel.score(parameters, x)), device: await state.device)
    }

    /// A prediction on `model` at `version` (nil: its Production version): pinned from admission
    /// to answer, loaded on a miss, looked up in the prediction cache before it is computed.
    static func predict(_ runtime: ServiceRuntime, model: String, version: Int64?, x positional: [Float]?, features named: String?,
                        text: String? = nil) async throws(ServiceError) -> Prediction {
        let state = runtime.state(State.self), context = runtime.context
        let pinned = version != nil
        let current = await state.production[model]
        guard let version = version ?? current else { throw ServiceError(404, "no version of \(model) is in Production") }
        let key = ModelKey(model, version)
        var admitted = await state.admit(key)
        var admittedAt = context.simulation.now
        if admitted == nil {
            // Loaded for this request: it comes into the cache pinned for it, so no eviction can
            // take it between the load and the request's use.
            await state.missed(key)
            guard let loaded = await load(runtime, key, pinnedForRequest: true) else { throw .unavailable("cannot load \(key)") }
            admitted = loaded
            admittedAt = context.simulation.now
        }
        let x: [Float]
        do throws(ServiceError) {
            x = try await inputs(runtime, admitted!, positional: positional, named: named, text: text)
        } catch {
            await state.unpin(key, node: context.node, context: context)
            throw error
        }
        let configuration = runtime.directory.serving
        var cacheKey: String?
        if configuration.predictionCacheMillis > 0 {
            let candidate = PredictionCache.key(model: model, resolved: version, pinned: pinned, inputs: x, defects: runtime.defects)
            if let p = await PredictionCache.lookup(runtime, candidate) {
                await state.unpin(key, node: context.node, context: context)
                return Prediction(p: p, device: await state.device, model: model, version: version, replica: context.node.name,
                                  computeMs: (context.simulation.now - admittedAt) / Nanos.millisecond, label: label(p, of: admitted!, defects: runtime.defects))
            }
            cacheKey = candidate
        }
        if configuration.batchMaxSize > 1 {
            let p = try await predictInBatch(runtime, key: key, x: x)
            if let cacheKey {
                await PredictionCache.store(runtime, cacheKey, p: p, timeToLive: PredictionCache.timeToLive(milliseconds: configuration.predictionCacheMillis, pinned: pinned, defects: runtime.defects))
            }
            let computeMs = (context.simulation.now - admittedAt) / Nanos.millisecond
            context.simulation.serving.computed.append((context.simulation.now, context.node.name, model, version, computeMs))
            context.simulation.serving.revision &+= 1
            return Prediction(p: p, device: await state.device, model: model, version: version, replica: context.node.name, computeMs: computeMs,
                              label: label(p, of: admitted!, defects: runtime.defects))
        }
        let range = configuration.predictionMillis
        var millis = context.simulation.withRandom(stream: "inference/\(context.node.name)") { $0.uniform(Int64(range.lowerBound) ... Int64(range.upperBound)) }
        // A version's first prediction on a replica builds its compute graph (the cold start);
        // the loader's warm-up pays it before the version takes traffic, unless B5 skipped it.
        if await state.takeColdStart(key) { millis += Int64(configuration.coldStartMillis) }
        await context.sleep(nanoseconds: millis * Nanos.millisecond)
        // B9: the weights are read from the model's Production slot, which a deployment swapped in
        // place during the prediction: the request was admitted on one version and computed with
        // another.
        let swapped = runtime.defects.contains(.B9) && !pinned ? await state.productionWeights(model) : nil
        // The weights are read again after the compute: a version evicted under the request (H1)
        // is gone now.
        guard let (admittedWeights, device) = await state.release(key, node: context.node, context: context) else {
            throw .internalError("\(key) was unloaded during the prediction on \(context.node.name)")
        }
        let artifact = swapped ?? admittedWeights
        let p = LogisticModel.sigmoid(LogisticModel.score(artifact.weights, x))
        if let cacheKey {
            await PredictionCache.store(runtime, cacheKey, p: p, timeToLive: PredictionCache.timeToLive(milliseconds: configuration.predictionCacheMillis, pinned: pinned, defects: runtime.defects))
        }
        let computeMs = (context.simulation.now - admittedAt) / Nanos.millisecond
        let serving = context.simulation.serving
        serving.computed.append((context.simulation.now, context.node.name, model, version, computeMs))
        serving.revision &+= 1
        return Prediction(p: p, device: device, model: model, version: version, replica: context.node.name, computeMs: computeMs,
                          label: label(p, of: artifact, defects: runtime.defects))
    }

    /// Post-processing: a version that declares a class label answers 0 or 1 (an integer) beside
    /// the probability. B8 formats the label as the float it computed it from (`1.0`): the label's
    /// type no longer matches the model's declared output.
    static func label(_ p: Float, of artifact: ModelArtifact, defects: DefectSet) -> String? {
        guard artifact.output == .label else { return nil }
        let positive = p >= 0.5
        return defects.contains(.B8) ? "\(positive ? Float(1) : Float(0))" : (positive ? "1" : "0")
    }

    /// A prediction through the replica's batcher: joins the version's forming batch, then either
    /// computes the batch (it filled it, or its wait ended) or waits for whoever does.
    static func predictInBatch(_ runtime: ServiceRuntime, key: ModelKey, x: [Float]) async throws(ServiceError) -> Float {
        let state = runtime.state(State.self), context = runtime.context, serving = context.simulation.serving
        serving.nextTicket += 1
        let ticket = serving.nextTicket
        guard let (batch, row, opened, filled) = await state.joinBatch(key, inputs: x, ticket: ticket) else {
            throw .internalError("batching is configured but this replica has no batcher")
        }
        serving.batchWaiting[ticket] = (context.simulation.now, context.node.name, context.epoch, batch.id)
        if filled {
            _ = batch.close()
            await computeBatch(runtime, batch)
        } else if opened {
            await context.sleep(nanoseconds: Int64(runtime.directory.serving.batchMaxWaitMillis) * Nanos.millisecond)
            await state.batchWaitEnded(batch)
            if batch.close() {
                if runtime.defects.contains(.B2) {
                    // B2: the wait ended on a partial batch, which is dropped: its requests are
                    // released but never answered.
                    context.record(.batchDropped, payload: batch.id, "dropped batch \(batch.id) of \(key): \(batch.inputs.count) request(s)")
                    for _ in batch.tickets { await state.unpin(key, node: context.node, context: context) }
                } else {
                    await computeBatch(runtime, batch)
                }
            }
        }
        do throws(ServiceError) {
            let p = try await batch.answer(row)
            serving.batchWaiting[ticket] = nil
            return p
        } catch {
            serving.batchWaiting[ticket] = nil
            throw error
        }
    }

    /// Computes a closed batch: one pass over its rows with the weights read after the compute
    /// (as a single prediction does), then each member's pin released.
    static func computeBatch(_ runtime: ServiceRuntime, _ batch: PredictionBatch) async {
        let state = runtime.state(State.self), context = runtime.context, configuration = runtime.directory.serving
        let range = configuration.predictionMillis
        var nanos = context.simulation.withRandom(stream: "inference/\(context.node.name)") { $0.uniform(Int64(range.lowerBound) ... Int64(range.upperBound)) } * Nanos.millisecond
        nanos += Int64(batch.inputs.count - 1) * Int64(configuration.batchRowMicros) * 1000
        if await state.takeColdStart(batch.key) { nanos += Int64(configuration.coldStartMillis) * Nanos.millisecond }
        await context.sleep(nanoseconds: nanos)
        var weights: ModelArtifact?, lost = false
        for _ in batch.tickets {
            if let (artifact, _) = await state.release(batch.key, node: context.node, context: context) { weights = artifact } else { lost = true }
        }
        context.simulation.serving.batchSizes[batch.inputs.count, default: 0] += 1
        guard let weights, !lost else {
            batch.finish(results: nil, failure: .internalError("\(batch.key) was unloaded during batch \(batch.id) on \(context.node.name)"))
            return
        }
        batch.finish(results: batch.inputs.map { LogisticModel.sigmoid(LogisticModel.score(weights.weights, $0)) }, failure: nil)
    }

    /// The longest text a prediction takes.
    static let maxTextBytes = 65_536

    /// The request's inputs in the version's signature order: a text model's text pre-processed as
    /// its artifact records it was trained; positional values must match its length; named values
    /// must name every feature of its signature (extra names are ignored), never reordered, cast or
    /// defaulted. B7 validates against the signature of the first version this replica loaded
    /// instead (the schema does not follow the version) and defaults the features a later version
    /// added to 0.
    static func inputs(_ runtime: ServiceRuntime, _ artifact: ModelArtifact, positional: [Float]?, named: String?, text: String? = nil) async throws(ServiceError) -> [Float] {
        let key = ModelKey(artifact.model, artifact.version)
        if let text {
            guard let preprocessing = artifact.text else { throw ServiceError(422, "\(key) is not a text model: send x or features") }
            guard !preprocessing.tokens(text).isEmpty else { throw ServiceError(422, "text: no words (letters or digits) to predict on") }
            // M10: the serving path tokenizes with its library's default (padding on the left) and
            // ignores the side the artifact records, so a short text meets other weights than in training.
            return preprocessing.inputs(text, padding: runtime.defects.contains(.M10) ? .left : nil)
        }
        guard let named else {
            let x = positional ?? []
            guard x.count == artifact.features.count else { throw ServiceError(422, "\(key) expects \(artifact.features.count) features, got \(x.count)") }
            return x
        }
        var values: [String: Float] = [:]
        for pair in named.splitBytes(",") {
            let parts = pair.splitBytes("=", maxSplits: 1).map(String.init)
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
}

/// A record of the deployments topic: a version moved to Staging or Production (value
/// `<version> <stage>`), or a canary's share of traffic changed (`<version> Canary <percent>`, 0:
/// the canary ended), keyed by the model.
public struct Deployment: Hashable, Sendable {
    public var key: ModelKey
    public var stage: ModelStage
    /// The canary's percentage of the model's traffic (nil: a stage move).
    public var canaryPercent: Int?
    /// A canary record's generation (the registry's count of the canary's changes).
    public var generation: Int64 = 0

    public init(_ key: ModelKey, stage: ModelStage, canaryPercent: Int? = nil, generation: Int64 = 0) {
        self.key = key
        self.stage = stage
        self.canaryPercent = canaryPercent
        self.generation = generation
    }

    public var value: [UInt8] {
        Array((canaryPercent.map { "\(key.version) Canary \($0) \(generation)" } ?? "\(key.version) \(stage.rawValue)").utf8)
    }

    public init?(record: KafkaRecord) {
        let parts = String(decoding: record.value, as: UTF8.self).splitBytes(" ")
        guard let version = parts.first.flatMap({ Int64($0) }) else { return nil }
        if parts.count == 4, parts[1] == "Canary", let percent = Int(parts[2]), (0 ... 100).contains(percent), let generation = Int64(parts[3]) {
            self.init(ModelKey(record.key, version), stage: .staging, canaryPercent: percent, generation: generation)
            return
        }
        guard parts.count == 2, let stage = ModelStage(rawValue: String(parts[1])) else { return nil }
        self.init(ModelKey(record.key, version), stage: stage)
    }
}

extension TraceKind {
    public static let modelLoaded = TraceKind("inference.load")
    public static let modelEvicted = TraceKind("inference.evict")
    public static let batchDropped = TraceKind("inference.batch-dropped")
}

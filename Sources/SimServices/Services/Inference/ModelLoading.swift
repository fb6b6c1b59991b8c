import SimKernel

/// How a replica loads model versions: at readiness (the newest deployed), on each deployment
/// (hot swap), and on a request's miss (single flight).
extension InferenceService {
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
                        if let deployment = Deployment(record: record) {
                            deployments.append(deployment)
                            await state.caughtUp(deployment.key.model, through: record.offset)
                        }
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
        for key in newest.reversed() { await load(runtime, key) }
        for deployment in deployments { await state.deployed(deployment) }
    }

    /// A fetched batch of deployment records without the Production moves a later Production
    /// move of the same model in the batch supersedes: a replica catching up on a backlog (after
    /// a restart, or a partition from Kafka) loads the version Production names now, not every
    /// version it named meanwhile (each a load of 500 MiB, while Production moves on). Canary
    /// records and the other stages are all kept. Malformed records pass through to be ignored.
    static func newestProduction(_ records: [KafkaRecord]) -> [KafkaRecord] {
        var latest: [String: Int] = [:]  // model -> index of its last Production move
        for (index, record) in records.enumerated() {
            if let deployment = Deployment(record: record), deployment.stage == .production, deployment.canaryPercent == nil {
                latest[deployment.key.model] = index
            }
        }
        return records.enumerated().filter { index, record in
            guard let deployment = Deployment(record: record), deployment.stage == .production, deployment.canaryPercent == nil else { return true }
            return latest[deployment.key.model] == index
        }.map(\.element)
    }

    /// Follows one deployment from the topic. Hot swap: the version is loaded and warmed up before
    /// the Production pointer moves to it, so no request meets it cold or waits for its load, and
    /// the old version stays loaded (pinned by the requests admitted on it) until they drain.
    /// H4 moves the pointer first and lets the requests load the version on demand, each with its
    /// own read of the artifact (no single flight): a stampede on every deploy. A Production
    /// deployment of an older version than the pointer names is a rollback; M1 reloads it from
    /// the artifact of the version it replaces.
    static func follow(_ runtime: ServiceRuntime, _ deployment: Deployment, offset: Int) async {
        let state = runtime.state(State.self)
        // A record readiness already applied (the group's committed offset may be older): replaying
        // it would move the pointer back.
        guard await state.isNew(deployment.key.model, offset: offset) else { return }
        if runtime.defects.contains(.H4) {
            await state.deployed(deployment)
            return
        }
        if deployment.canaryPercent == 0 {
            // A canary's end: nothing to load.
        } else if runtime.defects.contains(.M1), deployment.canaryPercent == nil, deployment.stage == .production, let current = await state.production[deployment.key.model], current > deployment.key.version {
            await rollBackReloading(runtime, deployment.key, from: ModelKey(deployment.key.model, current))
        } else {
            await load(runtime, deployment.key)
        }
        await state.deployed(deployment)
    }

    /// M1: a rollback "reloads the old version to be safe", but reads the artifact of the version
    /// being replaced and files it under the old version's name: the old version serves the new
    /// version's weights.
    static func rollBackReloading(_ runtime: ServiceRuntime, _ key: ModelKey, from replaced: ModelKey) async {
        let context = runtime.context
        guard case .success(.object(let bytes, _)) = await runtime.objectStore.request(.get(bucket: "models", key: "\(replaced.model)/\(replaced.version)"), context: context),
              var artifact = await decode(runtime, bytes, replaced) else { return }
        artifact.version = key.version
        let state = runtime.state(State.self)
        if await state.admit(key) != nil {
            await state.replace(key, with: artifact)
            await state.unpin(key, node: context.node, context: context)
        } else {
            _ = await state.finishLoad(artifact, node: context.node, context: context)
        }
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
        // One read per version at a time (single flight); H4's on-demand loads each read their own.
        let singleFlight = !(runtime.defects.contains(.H4) && pinnedForRequest)
        let loadsIt = singleFlight ? await state.beginLoad(key) : true
        guard loadsIt else {
            // Another request loads it: wait for that load to end.
            while await state.isLoading(key) { await context.sleep(nanoseconds: 10 * Nanos.millisecond) }
            guard let cached = await state.admit(key) else { return nil }
            if !pinnedForRequest { await state.unpin(key, node: context.node, context: context) }
            return cached
        }
        let reading = "\(context.node.name)/\(context.epoch)/\(key)", serving = context.simulation.serving
        let reads = serving.artifactReadsInFlight[reading, default: 0] + 1
        serving.artifactReadsInFlight[reading] = reads
        if reads == 2 { serving.concurrentArtifactReads.append((context.simulation.now, context.node.name, key, reads)) }
        let fetched = await runtime.objectStore.request(.get(bucket: "models", key: "\(key.model)/\(key.version)"), context: context)
        guard case .success(.object(let bytes, _)) = fetched, let artifact = await decode(runtime, bytes, key),
              artifact.model == key.model, artifact.version == key.version else {
            serving.artifactReadsInFlight[reading] = serving.artifactReadsInFlight[reading, default: 1] - 1
            if singleFlight { await state.abandonLoad(key) }
            return nil
        }
        // Reading the weights into memory takes time in proportion to their size.
        await context.sleep(nanoseconds: Int64(artifact.residentMiB) * Int64(runtime.directory.serving.loadMillisPerGiB) * Nanos.millisecond / 1024)
        serving.artifactReadsInFlight[reading] = serving.artifactReadsInFlight[reading, default: 1] - 1
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

    /// A model file as a replica loads it: only a weights-only serving artifact of the model `key`
    /// names (known by its key from then on). A pickle stream is
    /// refused and logged as a security event (the registry refuses to register one; this is the
    /// second line). I3 unpickles it instead, calling whatever its opcodes name.
    static func decode(_ runtime: ServiceRuntime, _ bytes: [UInt8], _ key: ModelKey) async -> ModelArtifact? {
        let context = runtime.context, security = context.simulation.security
        func loaded(_ artifact: ModelArtifact) -> ModelArtifact {
            security.modelLoads.append((context.simulation.now, context.node.name, key.model, key.version, bytes))
            security.revision &+= 1
            return artifact
        }
        if var artifact = ModelArtifact(decoding: bytes) {
            // The file names the model as its trainer did; the replica knows it by its key
            // (`<tenant>/<name>`), under which it caches and serves it.
            guard artifact.model == ModelsService.name(ofKey: key.model) else { return nil }
            artifact.model = key.model
            return loaded(artifact)
        }
        guard LegacyPickle.looksLikePickle(bytes) else { return nil }
        guard runtime.defects.contains(.I3) else {
            _ = await SecurityEvents.refuse(runtime, caller: "models/\(key.model)/\(key.version)", reason: "model file is a pickle stream, not a weights-only format", detail: "load \(key)")
            return nil
        }
        // I3: "legacy models are pickled": the stream runs, and every call in it is honoured.
        guard let (weights, calls) = LegacyPickle.load(bytes) else { return nil }
        for call in calls { security.payloadCalls.append((context.simulation.now, context.node.name, key.model, key.version, call)) }
        return loaded(ModelArtifact(model: key.model, version: key.version, residentMiB: legacyResidentMiB, weights: weights))
    }

    /// What a legacy (pickled) model costs a replica's memory: the file does not say.
    static let legacyResidentMiB = 64
}

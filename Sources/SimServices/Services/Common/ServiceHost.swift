import SimKernel

/// Start-up failed; the service's supervisor restarts it after a backoff.
struct StartupFailure: Error { var message: String }

/// Runs a service: start-up (validated configuration, dependencies awaited with backoff, schema
/// migrations in order, topics, buckets and index mappings created idempotently, a bootstrap
/// step, Consul registration with a TTL health check), then serving. A failed start-up is
/// retried by the supervisor with backoff, as an orchestrator restarts a crashed container.
public enum ServiceHost {
    /// The header in which the host hands a request's connection source (the calling node) to
    /// the service; the gateway keys anonymous callers' rate limits on it.
    public static let remoteAddressHeader = "x-remote-addr"
    /// The header in which the host hands the service the transport message a request came in
    /// (its id on the network): a copy the network duplicated carries the same id, as a
    /// retransmitted TCP segment belongs to the same connection, and is no replay.
    public static let messageHeader = "x-transport-message"
    /// `replica` numbers this node among the service's nodes (1 for the first): its Consul instance
    /// is `<service>-<replica>`.
    public static func run(_ spec: ServiceSpec, directory: PlatformDirectory, defects: DefectSet, configuration: ServiceConfiguration,
                           startDelay: Int64, replica: Int = 1, context: ProcessContext) async {
        let runtime = ServiceRuntime(context: context, spec: spec, directory: directory, defects: defects, configuration: configuration, replica: replica)
        let observations = runtime.observations
        observations.update(spec.name) { $0.ready = false; $0.waitingFor = [] }
        await context.sleep(nanoseconds: startDelay)
        var backoff = 100 * Nanos.millisecond
        while true {
            observations.update(spec.name) { $0.startupAttempts += 1 }
            do {
                try await start(runtime)
                break
            } catch let failure as StartupFailure {
                observations.update(spec.name) { $0.startupError = failure.message }
                context.record(.serviceStartupFailed, payload: stableHash(failure.message), failure.message)
                await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
                backoff = Swift.min(5 * Nanos.second, backoff * 2)
            } catch {
                return
            }
        }
        if let afterReady = spec.afterReady { context.simulation.spawn { await afterReady(runtime) } }
        let inbox = context.mailbox("http")
        while true {
            let envelope = await inbox.receive()
            guard case .request(var request) = envelope.payload as? HTTPMessage else { continue }
            // The connection's source, as a server reads it from its socket: whatever the caller
            // wrote in this header is overwritten.
            request.headers[ServiceHost.remoteAddressHeader] = envelope.from.node.description
            request.headers[ServiceHost.messageHeader] = String(envelope.id)
            context.simulation.spawn {
                let response = await spec.respond(runtime, request)
                context.reply(to: envelope, HTTPMessage.response(response))
            }
        }
    }

    static func start(_ runtime: ServiceRuntime) async throws {
        let spec = runtime.spec, context = runtime.context
        // 1. Configuration.
        if let problem = runtime.configuration.problem(service: spec.name) { throw StartupFailure(message: problem) }
        let registerEarly = spec.registersBeforeDependencies
        if registerEarly { try await register(runtime, early: true) }
        // 2. Infrastructure, then the services this one needs.
        if let database = spec.database, let sql = runtime.sql {
            await runtime.waitUntil(database) {
                if case .success = await sql.transaction([SQLStatement("SELECT 1")], context: context, timeout: 300 * Nanos.millisecond) { return true }
                return false
            }
        }
        if !spec.topics.isEmpty {
            await runtime.waitUntil("kafka") { if case .failure(.timeout) = await runtime.kafka.committed(group: "ping", partition: TopicPartition("ping", 0), context: context) { return false }; return true }
        }
        if !spec.buckets.isEmpty {
            await runtime.waitUntil("minio") { if case .failure(.timeout) = await runtime.objectStore.request(.list(bucket: "ping", prefix: ""), context: context) { return false }; return true }
        }
        if !spec.indices.isEmpty {
            await runtime.waitUntil("search") { if case .failure(.timeout) = await runtime.search.request(.get("ping", id: "x"), context: context) { return false }; return true }
        }
        if spec.usesRedis {
            if case .failure(.server(let error)) = await runtime.redis.run(.get("ping"), context: context) {
                throw StartupFailure(message: "\(spec.name): Redis refused the client: \(error)")
            }
            await runtime.waitUntil("redis") { if case .failure(.timeout) = await runtime.redis.run(.get("ping"), context: context) { return false }; return true }
        }
        for dependency in spec.dependsOn {
            await runtime.waitUntil(dependency) { ((try? await runtime.consul.healthy(dependency, context: context).get()) ?? []).isEmpty == false }
        }
        // 3. Schema migrations, in order, each once.
        if spec.database != nil && !spec.migrations.isEmpty {
            guard case .success(let applied) = await runtime.transaction([
                SQLStatement("CREATE TABLE IF NOT EXISTS schema_migrations(service TEXT, id INTEGER, PRIMARY KEY(service, id))"),
                SQLStatement("SELECT id FROM schema_migrations WHERE service = ?", [.text(spec.name)]),
            ]) else { throw StartupFailure(message: "\(spec.name): cannot read schema_migrations") }
            let done = Set(applied[1].rows.compactMap { $0.first?.integer.map(Int.init) })
            for (index, migration) in spec.migrations.enumerated() where !done.contains(index + 1) {
                let result = await runtime.transaction([SQLStatement(migration), SQLStatement("INSERT INTO schema_migrations VALUES (?, ?)", [.text(spec.name), .integer(Int64(index + 1))])])
                if case .failure(let error) = result { throw StartupFailure(message: "\(spec.name): migration \(index + 1) failed: \(error)") }
            }
        }
        // 4. Topics, buckets and index mappings this service owns.
        if spec.createsTopics {
            for topic in spec.topics {
                let result = await runtime.kafka.createTopic(topic, partitions: 2, context: context)
                if case .failure(let error) = result, case .server(.topicExists) = error {} else if case .failure(let error) = result {
                    throw StartupFailure(message: "\(spec.name): cannot create topic \(topic): \(error)")
                }
            }
        }
        for bucket in spec.buckets {
            let name = spec.bucketName(bucket)
            let result = await runtime.objectStore.request(.createBucket(name), context: context)
            if case .failure(let error) = result, !spec.ignoresBucketFailures {
                throw StartupFailure(message: "\(spec.name): cannot create bucket \(bucket): \(error)")
            }
        }
        if spec.createsIndexMappings {
            for (index, mappings) in spec.indices {
                let result = await runtime.search.request(.createIndex(index, mappings: mappings), context: context)
                if case .failure(let error) = result, case .server(.indexExists) = error {} else if case .failure(let error) = result {
                    throw StartupFailure(message: "\(spec.name): cannot create index \(index): \(error)")
                }
            }
        }
        // 5. The service's own bootstrap.
        if let bootstrap = spec.bootstrap, let error = await bootstrap(runtime) { throw StartupFailure(message: "\(spec.name): \(error)") }
        // 6. Ready: register with a health check, and keep it passing while alive.
        runtime.observations.update(spec.name) { $0.ready = true; $0.readyAt = context.simulation.now; $0.startupError = nil }
        if !registerEarly { try await register(runtime, early: false) }
        context.record(.serviceReady, payload: UInt64(context.epoch), "\(spec.name) ready")
    }

    static func register(_ runtime: ServiceRuntime, early: Bool) async throws {
        let spec = runtime.spec, context = runtime.context
        let name = spec.registrationName ?? spec.name
        let id = "\(spec.name)-\(runtime.replica)"
        let noCheck = !spec.registersWithHealthCheck
        let instance = ServiceInstance(id: id, service: name, address: context.address("http"), check: noCheck ? nil : .ttl(2 * Nanos.second))
        // Observed before the request goes out: Consul may list the instance (and the gateway
        // route to it) before its answer comes back.
        runtime.observations.update(spec.name) {
            $0.registeredAt = context.simulation.now
            $0.registeredName = name
            $0.registeredWithCheck = !noCheck
            $0.registeredBeforeReady = early
        }
        guard case .success(.ok) = await runtime.consul.request(.register(instance), context: context) else {
            throw StartupFailure(message: "\(spec.name): cannot register in Consul")
        }
        context.record(.serviceRegistered, payload: stableHash(id), "\(id) as '\(name)'\(noCheck ? " without a health check" : "")")
        context.simulation.spawn {
            while true {  // the TTL check: passes while the process lives
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
                _ = await runtime.consul.request(.pass(id: id), context: context)
            }
        }
    }
}

extension TraceKind {
    public static let serviceReady = TraceKind("service.ready")
    public static let serviceRegistered = TraceKind("service.registered")
    public static let serviceStartupFailed = TraceKind("service.startup_failed")
}

import SimKernel

/// The streaming job's routes: event schemas, event ingestion and backfill, each on the caller's
/// tenant's stream (its schema versions, its events, its counts; a platform service acting as
/// itself on t1's).
enum StreamRoutes {
    struct RegisterSchema: Codable, Sendable, Equatable {
        var version: Int
        /// `name:required` or `name:optional`, in record order.
        var fields: [String]
    }
    struct Registered: Codable, Sendable, Equatable {
        var version: Int
    }
    struct Events: Codable, Sendable, Equatable {
        /// `id|user|event_ns|schema_version|field...`
        var events: [String]
    }
    struct Produced: Codable, Sendable, Equatable {
        var accepted: Int
        /// Events refused by their schema, `id: problem`.
        var refused: [String]
    }
    struct Backfilled: Codable, Sendable, Equatable {
        /// Statements that changed a row.
        var applied: Int
    }

    static let routes: [Route] = [
        Route("POST", "pipeline/schemas", RegisterSchema.self, Registered.self) { runtime, request, info throws(ServiceError) in
            guard request.version >= 1, let schema = EventSchema.parse(version: request.version, request.fields) else {
                throw .badRequest("fields: each must be name:required or name:optional, and the version at least 1")
            }
            let tenant = info.actingTenant
            guard let schemas = await StreamSchemas.all(runtime, tenant: tenant) else { throw .unavailable("cannot read the schemas") }
            if let existing = schemas.first(where: { $0.version == schema.version }) {
                guard existing == schema else { throw ServiceError(409, "v\(schema.version) is registered with other fields") }
                // The same registration again (a retry whose first answer was lost after the commit).
                let observations = runtime.context.simulation.stream
                if !observations.schemas.contains(where: { $0.tenant == tenant && $0.version == schema.version }) {
                    observations.schemas.append((tenant, schema.version, schema.text))
                    observations.revision &+= 1
                }
                return Registered(version: schema.version)
            }
            guard schema.version == (schemas.last?.version ?? 0) + 1 else { throw ServiceError(409, "the next version is \((schemas.last?.version ?? 0) + 1)") }
            if !runtime.defects.contains(.D2), let previous = schemas.last, let problem = schema.incompatibility(with: previous) {
                throw ServiceError(409, "not backward compatible: \(problem)")
            }
            guard case .success = await runtime.transaction([SQLStatement("INSERT INTO stream_schemas(tenant, version, fields) VALUES (?, ?, ?)", [.text(tenant), .integer(Int64(schema.version)), .text(schema.text)])]) else {
                throw .unavailable("cannot store the schema")
            }
            runtime.context.simulation.stream.schemas.append((tenant, schema.version, schema.text))
            runtime.context.simulation.stream.revision &+= 1
            return Registered(version: schema.version)
        },
        Route("POST", "pipeline/events", Events.self, Produced.self) { runtime, request, info throws(ServiceError) in
            let tenant = info.actingTenant
            guard let schemas = await StreamSchemas.all(runtime, tenant: tenant) else { throw .unavailable("cannot read the schemas") }
            let context = runtime.context, observations = context.simulation.stream
            var accepted = 0, refused: [String] = []
            for text in request.events {
                guard let event = StreamEvent.parse(text, tenant: tenant) else { throw .badRequest("events: '\(text.prefix(60))' is not id|user|event_ns|version|fields") }
                guard let schema = StreamSchemas.schema(for: event.schemaVersion, in: schemas, consumer: false, defects: runtime.defects) else {
                    refused.append("\(event.id): unknown schema v\(event.schemaVersion)")
                    continue
                }
                if let problem = schema.problem(event.fields) {
                    refused.append("\(event.id): \(problem)")
                    continue
                }
                // Keyed by user, so a user's events stay in order on one partition and users spread
                // over the partitions (D5 keys everything by the tenant: one hot partition).
                let key = runtime.defects.contains(.D5) ? tenant : event.tenantUser
                guard case .success(let produced) = await runtime.kafka.produce(StreamJob.topic, key: key, value: event.record, context: context) else {
                    throw .unavailable("cannot produce \(event.id): send the batch again (ids make it harmless)")
                }
                if observations.accepted[event.key] == nil {
                    observations.accepted[event.key] = (StreamJob.windowStart(event.eventTime), event.tenantUser, event.fields.first ?? "", context.simulation.now)
                    observations.partitionLoads[produced.partition, default: 0] += 1
                    observations.revision &+= 1
                }
                accepted += 1
            }
            return Produced(accepted: accepted, refused: refused)
        },
        Route("POST", "pipeline/backfill", Empty.self, Backfilled.self) { runtime, _, info throws(ServiceError) in
            Backfilled(applied: try await StreamJob.backfill(runtime, tenant: info.actingTenant))
        },
    ]
}

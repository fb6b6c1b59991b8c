import SimKernel

/// The feature store's routes beyond single values: views, ingestion, point-in-time joins,
/// online reads, materialization and freshness.
enum FeatureRoutes {
    struct RegisterView: Codable, Sendable, Equatable {
        var name: String
        var features: [String]
        var categorical: [String]?
        var ttlMs: Int64
        var slaMs: Int64
        /// `name=op(input input)`, e.g. `wealth=ratio(income age)`.
        var transforms: [String]?
    }
    struct RegisteredView: Codable, Sendable, Equatable {
        /// Transformations in the order materialization computes them.
        var order: [String]
        /// The view's schema version after the registration (a new one when features were appended).
        var version: Int
    }
    struct Ingest: Codable, Sendable, Equatable {
        var view: String
        /// `source|entity|local_ns|utc_offset_minutes|v1;v2;...`
        var rows: [String]
        /// The schema version the rows are written under (default: the newest).
        var version: Int?
    }
    struct BackfillRequest: Codable, Sendable, Equatable {
        var view: String
        /// The client's name for this backfill: a retried request stages nothing twice.
        var request: String
        /// As for `Ingest`.
        var rows: [String]
        var version: Int?
    }
    struct BackfillAccepted: Codable, Sendable, Equatable {
        var backfill: Int64
        var parts: Int
        /// `loading` or `complete`.
        var state: String
    }
    struct Ingested: Codable, Sendable, Equatable {
        /// Rows stored now (a source id seen before is not stored again).
        var stored: Int
    }
    struct Lookup: Codable, Sendable, Equatable {
        var view: String
        var entities: [String]
        /// For a point-in-time join: the instant per entity (UTC ns), in the same order.
        var asOf: [Int64]?
        /// For a point-in-time join: the schema version the reader understands (default: the newest).
        var version: Int?
    }
    struct Values: Codable, Sendable, Equatable {
        /// Per entity, in request order: `entity|version|event_ns|name=value;...`, or
        /// `entity|NOT_FOUND`.
        var rows: [String]
    }
    struct ViewName: Codable, Sendable, Equatable {
        var view: String
        /// The tenant a platform service acts for (a pipeline run's); ignored for a tenant's caller.
        var tenant: String?
    }
    struct Materialized: Codable, Sendable, Equatable {
        var entities: Int
        /// Writes Redis refused because a newer version was already there.
        var superseded: Int
    }
    struct Freshness: Codable, Sendable, Equatable {
        /// Age of the newest materialized value (ms), or -1 when never materialized.
        var ageMs: Int64
        var slaMs: Int64
        var stale: Bool
    }

    static func ensureBootstrapped(_ runtime: ServiceRuntime) async throws(ServiceError) {
        if await runtime.state(FeaturesService.State.self).bootstrapFailed {
            throw .unavailable("feature store not bootstrapped: the training service was down at start-up")
        }
    }

    static func loadView(_ runtime: ServiceRuntime, _ info: RequestInfo, _ name: String, actingFor: String? = nil) async throws(ServiceError) -> FeatureView {
        try await loadVersions(runtime, info, name, actingFor: actingFor).view
    }

    /// The key of the view `name` of the caller's tenant: a caller names views in its own
    /// tenant's namespace only; a platform service acting as itself (no tenant: a pipeline run's
    /// materialization task) in the namespace of the tenant it names (`actingFor`, default t1).
    /// So another tenant's view of that name is simply not there (404, as any missing view).
    static func viewKey(_ info: RequestInfo, _ name: String, actingFor: String? = nil) -> String {
        FeatureView.key(tenant: info.tenant ?? actingFor ?? "t1", name: name)
    }

    /// The view and its schema versions (version -> features; a view stored before versions
    /// existed has its features as version 1), in the caller's tenant (`viewKey`).
    static func loadVersions(_ runtime: ServiceRuntime, _ info: RequestInfo, _ name: String, actingFor: String? = nil) async throws(ServiceError) -> (view: FeatureView, versions: [Int: [String]]) {
        let key = viewKey(info, name, actingFor: actingFor)
        guard case .success(let rows) = await runtime.transaction([OfflineStore.view(key: key), SchemaVersions.versions(view: key)]) else { throw .unavailable("cannot read view \(name)") }
        guard let row = rows[0].rows.first, let view = FeatureView.fromRow(row) else { throw ServiceError(404, "no feature view \(name)") }
        let versions = SchemaVersions.parse(rows[1])
        return (view, versions.isEmpty ? [1: view.features] : versions)
    }

    /// The features of schema version `version` of a view (nil: the newest), or 400.
    static func schema(_ versions: [Int: [String]], _ version: Int?, view: String) throws(ServiceError) -> (version: Int, features: [String]) {
        let chosen = version ?? versions.keys.max() ?? 1
        guard let features = versions[chosen] else { throw .badRequest("version: view \(view) has no schema version \(chosen) (it has \(versions.keys.sorted().map { "v\($0)" }.joined(separator: ", ")))") }
        return (chosen, features)
    }

    /// Parses rows sent for a view's schema version: each must have one value per feature.
    static func parseRows(_ texts: [String], view: String, features: [String], version: Int) throws(ServiceError) -> [OfflineStore.IncomingRow] {
        var rows: [OfflineStore.IncomingRow] = []
        for text in texts {
            guard let row = OfflineStore.IncomingRow.parse(text) else { throw .badRequest("rows: '\(text.prefix(60))' is not source|entity|local_ns|offset_min|values") }
            guard row.values.count == features.count else {
                throw .badRequest("rows: \(row.source) has \(row.values.count) values; view \(view) v\(version) has \(features.count) features")
            }
            rows.append(row)
        }
        return rows
    }

    static let routes: [Route] = [
        Route("POST", "features/views", RegisterView.self, RegisteredView.self) { runtime, request, info throws(ServiceError) in
            var transforms: [FeatureView.Transform] = []
            for text in request.transforms ?? [] {
                switch FeatureView.Transform.parse(text) {
                case .success(let transform): transforms.append(transform)
                case .failure(let error): throw .badRequest("transforms: \(error.message)")
                }
            }
            guard request.ttlMs > 0, request.slaMs > 0 else { throw .badRequest("ttl_ms and sla_ms must be positive") }
            // Names travel inside `|`- and `;`-separated records (rows, alerts): only plain names.
            for name in [request.name] + request.features + (request.categorical ?? []) where !FeatureView.isPlainName(name) {
                throw .badRequest("'\(name)' is not a name: 1-64 letters, digits, '_', '-' or '.'")
            }
            // The single values' store (`PUT features/values`) keeps its keys as this view's would.
            guard request.name != FeaturesService.defaultView else { throw .badRequest("'\(request.name)' is reserved for single values") }
            // A view belongs to the tenant that registered it (a platform service registers t1's).
            let view = FeatureView(name: request.name, tenant: info.tenant ?? "t1", features: request.features, categorical: request.categorical ?? [],
                                   ttl: request.ttlMs * Nanos.millisecond, sla: request.slaMs * Nanos.millisecond, transforms: transforms)
            let problem = view.problem(defects: runtime.defects)
            let observations = runtime.context.simulation.features
            // The graph's verdict, for the validation check (other refusals say nothing of it).
            let refusedForCycle = problem?.hasPrefix(FeatureView.cycleProblem) ?? false
            if !transforms.isEmpty && (problem == nil || refusedForCycle) {
                observations.graphVerdicts.append(.init(at: runtime.context.simulation.now, service: "features", name: view.name,
                                                        edges: view.transformGraph.edgeList, accepted: !refusedForCycle))
                observations.revision &+= 1
            }
            if let problem { throw ServiceError(422, "view \(view.name): \(problem)") }
            guard case .success(let existing) = await runtime.transaction([SchemaVersions.versions(view: view.key)]) else { throw .unavailable("cannot read view \(view.name)") }
            let version: (version: Int, isNew: Bool)
            switch SchemaVersions.registration(of: view.features, existing: SchemaVersions.parse(existing[0])) {
            case .success(let chosen): version = chosen
            case .failure(let refusal): throw ServiceError(422, "view \(view.name): \(refusal.message)")
            }
            let statements = [OfflineStore.register(view)] + (version.isNew ? [SchemaVersions.add(view: view.key, version: version.version, features: view.features)] : [])
            guard case .success = await runtime.transaction(statements) else { throw .unavailable("cannot store view \(view.name)") }
            return RegisteredView(order: (view.transformOrder(defects: runtime.defects) ?? view.transforms).map(\.name), version: version.version)
        },
        Route("POST", "features/ingest", Ingest.self, Ingested.self) { runtime, request, info throws(ServiceError) in
            try await ensureBootstrapped(runtime)
            let (view, versions) = try await loadVersions(runtime, info, request.view)
            let schema = try schema(versions, request.version, view: view.name)
            let rows = try parseRows(request.rows, view: view.name, features: schema.features, version: schema.version)
            let statements = rows.map { OfflineStore.insert($0, view: view.key, createdAt: runtime.context.localTime, schema: schema.version, defects: runtime.defects) }
            guard case .success(let results) = await runtime.transaction(statements) else { throw .unavailable("cannot store the rows") }
            return Ingested(stored: results.reduce(0) { $0 + $1.changes })
        },
        Route("POST", "features/backfill", BackfillRequest.self, BackfillAccepted.self) { runtime, request, info throws(ServiceError) in
            try await ensureBootstrapped(runtime)
            guard !request.request.isEmpty, !request.rows.isEmpty else { throw .badRequest("request and rows are required") }
            let (view, versions) = try await loadVersions(runtime, info, request.view)
            let schema = try schema(versions, request.version, view: view.name)
            let rows = try parseRows(request.rows, view: view.name, features: schema.features, version: schema.version)
            // The request id is the client's, unique within the view (another tenant's ids are another view's).
            let statements = Backfill.stage(request: "\(view.key)#\(request.request)", view: view.key, rows: rows, schema: schema.version, defects: runtime.defects)
            guard case .success(let results) = await runtime.transaction(statements), let answer = results.last?.rows.first,
                  let id = answer[0].integer, let state = answer[1].text else { throw .unavailable("cannot stage the backfill") }
            let context = runtime.context
            if results[0].changes == 1 {  // staged now (not by an earlier try of this request)
                context.simulation.features.backfills.append(.init(at: context.simulation.now, id: id, view: view.name,
                                                                   rows: rows.map { ($0.source, $0.entity, $0.eventTime()) }))
                context.simulation.features.revision &+= 1
            }
            if state == "loading" { context.simulation.spawn { await Backfill.load(runtime, id: id) } }
            return BackfillAccepted(backfill: id, parts: statements.count - 2, state: state)
        },
        Route("POST", "features/historical", Lookup.self, Values.self) { runtime, request, info throws(ServiceError) in
            let (view, versions) = try await loadVersions(runtime, info, request.view)
            let reader = try schema(versions, request.version, view: view.name)
            guard let asOf = request.asOf, asOf.count == request.entities.count else { throw .badRequest("as_of: one instant per entity is required") }
            // The backfills still loading, read in the same transaction as the rows: a join that
            // meets one waits for it (409), never answers over part of the history.
            let statements = [Backfill.loading(view: view.key)] + zip(request.entities, asOf).map { OfflineStore.pointInTime(view: view.key, entity: $0, at: $1, ttl: view.ttl) }
            let started = runtime.context.simulation.now
            guard case .success(let results) = await runtime.transaction(statements) else { throw .unavailable("cannot read the offline store") }
            if let refusal = Backfill.refusal(results[0], view: view, instants: asOf) { throw ServiceError(409, refusal) }
            let observations = runtime.context.simulation.features
            var rows: [String] = []
            var joins: [FeatureObservations.Join] = []
            for (index, entity) in request.entities.enumerated() {
                let row = results[index + 1].rows.first
                var join = FeatureObservations.Join(at: runtime.context.simulation.now, started: started, view: view.name, entity: entity, asOf: asOf[index], ttl: view.ttl,
                                                    version: request.version, sourceID: row?[3].text, storedEventTime: row?[1].integer)
                guard let row, let id = row[0].integer, let eventTime = row[1].integer, let vals = row[2].text else {
                    joins.append(join)
                    rows.append("\(entity)|NOT_FOUND")
                    continue
                }
                let written = Int(row[4].integer ?? 1)
                switch SchemaVersions.project(vals.splitBytes(";", omittingEmptySubsequences: false).map(String.init), written: versions[written] ?? view.features,
                                              reader: reader.features, defects: runtime.defects) {
                case .success(let values):
                    join.values = values
                    joins.append(join)
                    rows.append("\(entity)|\(id)|\(eventTime)|\(values.map { "\($0.0)=\($0.1)" }.joined(separator: ";"))")
                case .failure(let problem):
                    let message = "\(view.name) v\(reader.version) reader: row \(row[3].text ?? "?") of \(entity) (written under v\(written)): \(problem.message)"
                    observations.joinFailures.append((runtime.context.simulation.now, message))
                    observations.revision &+= 1
                    throw .internalError(message)
                }
            }
            observations.joins += joins
            observations.revision &+= 1
            return Values(rows: rows)
        },
        Route("POST", "features/online", Lookup.self, Values.self) { runtime, request, info throws(ServiceError) in
            try await ensureBootstrapped(runtime)
            let view = try await loadView(runtime, info, request.view)
            let context = runtime.context, observations = context.simulation.features
            var rows: [String] = []
            for entity in request.entities {
                let started = context.simulation.now
                guard case .success(let reply) = await runtime.redis.run(.get(OnlineStore.key(view: view.key, entity: entity)), context: context) else {
                    throw .unavailable("the online store does not answer")
                }
                var now = context.localTime
                // The TTL is enforced here, on read: Redis may still hold an expired value.
                var found: OnlineStore.Entry?
                if case .string(let text) = reply, let entry = OnlineStore.Entry.decode(text), OnlineStore.servable(eventTime: entry.eventTime, ttl: view.ttl, now: now) {
                    found = entry
                } else {
                    found = try await ReadThrough.load(runtime, view, entity: entity)  // a miss reads through to the offline store
                    now = context.localTime
                }
                // A value read through may have aged past the TTL while it was loaded: re-judged.
                if let entry = found, OnlineStore.servable(eventTime: entry.eventTime, ttl: view.ttl, now: now) {
                    rows.append("\(entity)|\(entry.version)|\(entry.eventTime)|" + entry.values.map { "\($0.0)=\($0.1)" }.joined(separator: ";"))
                    observations.onlineReads.append(.init(at: context.simulation.now, started: started, view: view.name, entity: entity, version: entry.version, eventTime: entry.eventTime, ttl: view.ttl, readClock: now, values: entry.values))
                } else {
                    rows.append("\(entity)|NOT_FOUND")
                    observations.onlineReads.append(.init(at: context.simulation.now, started: started, view: view.name, entity: entity, version: nil, eventTime: nil, ttl: view.ttl, readClock: now))
                }
            }
            observations.revision &+= 1
            return Values(rows: rows)
        },
        Route("POST", "features/materialize", ViewName.self, Materialized.self) { runtime, request, info throws(ServiceError) in
            try await ensureBootstrapped(runtime)
            let view = try await loadView(runtime, info, request.view, actingFor: request.tenant)
            return try await Materialization.run(runtime, view)
        },
        Route("POST", "features/freshness", ViewName.self, Freshness.self) { runtime, request, info throws(ServiceError) in
            let view = try await loadView(runtime, info, request.view, actingFor: request.tenant)
            let age = try await Materialization.age(runtime, view)
            return Freshness(ageMs: age.map { $0 / Nanos.millisecond } ?? -1, slaMs: view.sla / Nanos.millisecond, stale: age.map { $0 > view.sla } ?? true)
        },
    ]
}

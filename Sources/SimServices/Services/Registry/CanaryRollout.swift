import SimKernel

/// Canary rollouts, kept by the registry in `canaries` (one row a model, by its key `<tenant>/<name>`: the canary version, the
/// percentage of traffic it takes, and its state `active`, `rolled_back` or `promoted`). Every
/// change is published on the deployments topic as a canary record (`<version> Canary <percent>`;
/// 0 %: no canary), which the inference replicas follow: a request without a version goes to the
/// canary when its bucket falls under the percentage.
///
/// Routes: `POST registry/canary` (CanaryStep -> CanaryState) starts a canary of a version or
/// steps its percentage; `POST registry/canary/rollback` (CanaryEnd -> CanaryState) ends it.
/// A step changes the row only while it is still the active canary of that version
/// (`UPDATE ... WHERE state = 'active'`): a step that arrives after the rollback is refused (409).
/// A start replaces an older version's canary but is refused (409) for a version whose canary
/// ended or that is older than the current canary's, so a late duplicate of the start cannot
/// resurrect it either.
/// B4 writes the step unconditionally (an upsert), so a step racing the rollback brings the
/// rolled-back canary back: both versions serve after the rollback completed.
enum CanaryRollout {
    struct CanaryStep: Codable, Sendable, Equatable {
        var model: String
        var version: Int64
        var percent: Int
        /// Starts the canary (rather than stepping an active one).
        var start: Bool?
        /// The model's tenant, for a platform service acting as itself (a caller's own otherwise).
        var tenant: String?
    }
    struct CanaryEnd: Codable, Sendable, Equatable {
        var model: String
        var tenant: String?
    }
    struct CanaryState: Codable, Sendable, Equatable {
        var version: Int64
        var percent: Int
        var state: String
    }

    /// `generation` counts the row's changes: a record carries it, and a replica applies a canary
    /// record only above the generation it has (two changes' records may reach the topic in
    /// either order when a publish is retried).
    static let migration = "CREATE TABLE canaries(model TEXT PRIMARY KEY, version INTEGER NOT NULL, percent INTEGER NOT NULL, state TEXT NOT NULL, generation INTEGER NOT NULL)"

    /// The generation the next change of `model`'s canary takes (inside its transaction).
    static func nextGeneration(_ session: SQLSession, _ model: String) async -> Result<Int64, SQLClientError> {
        await session.execute("SELECT COALESCE(MAX(generation), 0) + 1 FROM canaries WHERE model = ?", [.text(model)]).flatMap { rows in
            rows.rows.first?.first?.integer.map { .success($0) } ?? .failure(.sql(SQLError(kind: .other, message: "cannot read the canary's generation")))
        }
    }

    /// Starts or steps the canary of the model with key `model` (`ModelsService.key`).
    static func step(_ runtime: ServiceRuntime, _ request: CanaryStep, model: String) async throws(ServiceError) -> CanaryState {
        guard (0 ... 100).contains(request.percent) else { throw .badRequest("percent: \(request.percent) is not 0-100") }
        let version = request.version, percent = request.percent
        let b4 = runtime.defects.contains(.B4)
        /// What the transaction did: changed the row (at that generation), found nothing to
        /// change (the canary ended, or is another version's), or found this start already done.
        enum Written: Sendable { case changed(Int64), refused, repeated(percent: Int, generation: Int64) }
        let result = await runtime.interactive("canary-\(model)") { session -> Result<Written, SQLClientError> in
            let generation: Int64
            switch await nextGeneration(session, model) {
            case .success(let next): generation = next
            case .failure(let error): return .failure(error)
            }
            func written(_ changes: Int) -> Written { changes > 0 ? .changed(generation) : .refused }
            let upsert = "INSERT OR REPLACE INTO canaries(model, version, percent, state, generation) VALUES (?, ?, ?, 'active', ?)"
            // B4: a step trusts what the rollout controller last saw and writes it back as an upsert.
            if b4 {
                return await session.execute(upsert, [.text(model), .integer(version), .integer(Int64(percent)), .integer(generation)]).map { written($0.changes) }
            }
            if request.start == true {
                // A start replaces an older version's canary, but never brings back this version's
                // ended one, nor goes back to an older version: a start delivered late (a
                // duplicate, or a retry whose first try got through) after the rollback, or after
                // the next version's start, would resurrect it. Versions only count up, so
                // canaries only move forward. A start of the active canary is a repeat: it changes
                // nothing.
                guard case .success(let rows) = await session.execute("SELECT version, state, percent, generation FROM canaries WHERE model = ?", [.text(model)]) else {
                    return .failure(.sql(SQLError(kind: .other, message: "cannot read the canary")))
                }
                if let row = rows.rows.first, let current = row[0].integer, current >= version {
                    guard current == version, row[1].text == "active", let percent = row[2].integer, let at = row[3].integer else { return .success(.refused) }
                    return .success(.repeated(percent: Int(percent), generation: at))
                }
                return await session.execute(upsert, [.text(model), .integer(version), .integer(Int64(percent)), .integer(generation)]).map { written($0.changes) }
            }
            return await session.execute("UPDATE canaries SET percent = ?, generation = ? WHERE model = ? AND version = ? AND state = 'active'",
                                         [.integer(Int64(percent)), .integer(generation), .text(model), .integer(version)]).map { written($0.changes) }
        }
        switch result {
        case .success(.refused): throw ServiceError(409, "\(model) v\(version) is not the active canary (rolled back, promoted, or older than the current one)")
        case .success(.repeated(let current, let generation)):
            // Published again: the first try's record may be the one that was lost.
            try await publish(runtime, model: model, version: version, percent: current, generation: generation)
            return CanaryState(version: version, percent: current, state: "active")
        case .success(.changed(let generation)):
            committed(runtime, model: model, version: version, percent: percent, generation: generation)
            try await publish(runtime, model: model, version: version, percent: percent, generation: generation)
            return CanaryState(version: version, percent: percent, state: "active")
        case .failure(let error): throw .internalError("cannot step the canary: \(error)")
        }
    }

    /// Ends the canary of the model with key `model` (`ModelsService.key`).
    static func rollBack(_ runtime: ServiceRuntime, model: String) async throws(ServiceError) -> CanaryState {
        enum Ended: Sendable { case now(Int64, Int64), already(Int64, Int64), none }
        let result = await runtime.interactive("canary-\(model)") { session -> Result<Ended, SQLClientError> in
            guard case .success(let rows) = await session.execute("SELECT version, state, generation FROM canaries WHERE model = ?", [.text(model)]) else {
                return .failure(.sql(SQLError(kind: .other, message: "cannot read the canary")))
            }
            guard let row = rows.rows.first, let version = row[0].integer, let generation = row[2].integer else { return .success(.none) }
            guard row[1].text == "active" else { return .success(.already(version, generation)) }
            return await session.execute("UPDATE canaries SET state = 'rolled_back', percent = 0, generation = ? WHERE model = ?", [.integer(generation + 1), .text(model)])
                .map { _ in .now(version, generation + 1) }
        }
        switch result {
        case .success(.now(let version, let generation)):
            committed(runtime, model: model, version: version, percent: 0, generation: generation)
            try await publish(runtime, model: model, version: version, percent: 0, generation: generation)
            return CanaryState(version: version, percent: 0, state: "rolled_back")
        case .success(.already(let version, let generation)):
            // Rolled back or promoted before (a retry whose first try committed): the end is
            // published again, so no replica keeps the canary for want of the record.
            try await publish(runtime, model: model, version: version, percent: 0, generation: generation)
            return CanaryState(version: version, percent: 0, state: "ended")
        case .success(.none): throw ServiceError(404, "\(model) has no canary")
        case .failure(let error): throw .internalError("cannot roll the canary back: \(error)")
        }
    }

    /// Records a committed change for the checks (the registry's truth). The time is when the
    /// registry learned of the commit (a commit's answer may come late, after a retry); the
    /// generation is the order the database committed them in.
    static func committed(_ runtime: ServiceRuntime, model: String, version: Int64, percent: Int, generation: Int64) {
        let serving = runtime.context.simulation.serving, now = runtime.context.simulation.now
        // In time order: the production-version check finds a window's start by bisection.
        precondition(serving.canaryChanges.last.map { $0.time <= now } ?? true, "canary change at \(now) after one at \(serving.canaryChanges.last!.time)")
        serving.canaryChanges.append((now, model, version, percent, generation))
        serving.revision &+= 1
    }

    /// Ends `model`'s canary of `version` because it was promoted (inside the promotion's
    /// transaction): the generation of the end, nil when there was no canary of it to end.
    static func endOnPromotion(_ session: SQLSession, model: String, version: Int64) async -> Result<Int64?, SQLClientError> {
        let generation: Int64
        switch await nextGeneration(session, model) {
        case .success(let next): generation = next
        case .failure(let error): return .failure(error)
        }
        return await session.execute("UPDATE canaries SET state = 'promoted', percent = 0, generation = ? WHERE model = ? AND version = ? AND state = 'active'",
                                     [.integer(generation), .text(model), .integer(version)]).map { $0.changes > 0 ? generation : nil }
    }

    static func publish(_ runtime: ServiceRuntime, model: String, version: Int64, percent: Int, generation: Int64) async throws(ServiceError) {
        let record = Deployment(ModelKey(model, version), stage: .staging, canaryPercent: percent, generation: generation)
        if case .failure(let error) = await runtime.kafka.produce(InferenceService.deploymentsTopic, key: model, value: record.value, context: runtime.context, retries: 2) {
            throw .unavailable("the canary changed, but the change was not published: \(error)")
        }
    }
}

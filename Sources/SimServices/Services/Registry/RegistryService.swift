import SimKernel

/// The model registry: a new version is MAX(version)+1 inside one transaction with (model,
/// version) as primary key, its artifact stored in the `models` bucket with its checksum.
/// L3 orders its migrations wrongly (an index on a table a later migration creates).
///
/// Routes: `POST registry/versions` (RegisterVersion -> RegisteredVersion); `POST registry/stages`
/// (SetStage -> StageSet): moves a version through its life cycle (`ModelStage`), archiving the
/// model's Production version when another is promoted, in one transaction; a move to Staging or
/// Production is then published on `model.deployments` (key: the model, value: the version), which
/// every inference replica consumes; `GET registry/lineage` (`ModelLineage`): the run, dataset and
/// code a version was trained from. Stateless: versions live in models_db, artifacts in the
/// `models` bucket.
public enum RegistryService {
    public struct RegisterVersion: Codable, Sendable, Equatable {
        public var model: String
        /// A trained artifact, hex-encoded, and its CRC-32 (hex); absent: a placeholder artifact.
        public var artifact: String?
        public var checksum: String?
        /// The experiment run that trained it (`ModelLineage`): recorded with its dataset and code.
        public var run: Int64?
        /// The model's tenant, for a platform service acting as itself (a caller's own otherwise).
        public var tenant: String?
    }
    public struct RegisteredVersion: Codable, Sendable, Equatable {
        public var version: Int64
        /// The object store's ETag of the artifact (absent when an earlier try stored it).
        public var etag: String?
        public var checksum: String
    }

    public struct SetStage: Codable, Sendable, Equatable {
        public var model: String
        public var version: Int64
        /// `None`, `Staging`, `Production` or `Archived`.
        public var stage: String
        /// The model's tenant, for a platform service acting as itself (a caller's own otherwise).
        public var tenant: String?
    }
    public struct StageSet: Codable, Sendable, Equatable {
        public var stage: String
        /// The version archived by this promotion, if any.
        public var archived: Int64?
    }

    /// Moves the model with key `model` (`ModelsService.key`) at `version` to `stage`
    /// (archive-on-promote) in one transaction.
    static func setStage(_ runtime: ServiceRuntime, _ request: SetStage, model: String) async throws(ServiceError) -> StageSet {
        guard let target = ModelStage(rawValue: request.stage) else {
            throw .badRequest("stage: '\(request.stage)' is not one of \(ModelStage.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        enum Moved: Sendable { case moved(archived: Int64?, endedCanary: Int64?), missing, refused(ModelStage) }
        let version = request.version
        let result = await runtime.interactive("stage-\(model)") { session -> Result<Moved, SQLClientError> in
            guard case .success(let found) = await session.execute("SELECT stage FROM model_versions WHERE model = ? AND version = ?", [.text(model), .integer(version)]) else {
                return .failure(.sql(SQLError(kind: .other, message: "cannot read the version's stage")))
            }
            guard let text = found.rows.first?.first?.text, let current = ModelStage(rawValue: text) else { return .success(.missing) }
            guard current.canMove(to: target) else { return .success(.refused(current)) }
            var archived: Int64?
            if target == .production && current != .production {
                guard case .success(let production) = await session.execute("SELECT version FROM model_versions WHERE model = ? AND stage = 'Production'", [.text(model)]) else {
                    return .failure(.sql(SQLError(kind: .other, message: "cannot read the Production version")))
                }
                archived = production.rows.first?.first?.integer
                if case .failure(let error) = await session.execute("UPDATE model_versions SET stage = 'Archived' WHERE model = ? AND stage = 'Production'", [.text(model)]) {
                    return .failure(error)
                }
            }
            if case .failure(let error) = await session.execute("UPDATE model_versions SET stage = ? WHERE model = ? AND version = ?", [.text(target.rawValue), .text(model), .integer(version)]) {
                return .failure(error)
            }
            // A promoted canary is no longer a canary: its share becomes all of the traffic.
            guard target == .production else { return .success(.moved(archived: archived, endedCanary: nil)) }
            return await CanaryRollout.endOnPromotion(session, model: model, version: version).map { .moved(archived: archived, endedCanary: $0) }
        }
        switch result {
        case .success(.missing): throw ServiceError(404, "\(model) has no version \(version)")
        case .success(.refused(let current)):
            throw ServiceError(409, "\(model) v\(version) is \(current.rawValue): it can move to \(current.next.map(\.rawValue).joined(separator: ", ")), not \(target.rawValue)")
        case .success(.moved(let archived, let endedCanary)):
            if let generation = endedCanary {
                CanaryRollout.committed(runtime, model: model, version: version, percent: 0, generation: generation)
                try await CanaryRollout.publish(runtime, model: model, version: version, percent: 0, generation: generation)
            }
            if target == .production {
                // Committed: the truth the serving checks compare the replicas' pointers with.
                let serving = runtime.context.simulation.serving, now = runtime.context.simulation.now
                // In time order: the production-version check finds a window's start by bisection.
                precondition(serving.promotions.last.map { $0.time <= now } ?? true, "promotion at \(now) after one at \(serving.promotions.last!.time)")
                serving.promotions.append((now, model, version))
                serving.revision &+= 1
            }
            if target == .production || target == .staging {
                // A version in Production or Staging (a canary or an A/B arm) is deployed to the
                // inference replicas. Published after the commit; a failed publish fails the
                // request, and its retry (Production -> Production) publishes again. Consumers
                // load idempotently.
                let published = await runtime.kafka.produce(InferenceService.deploymentsTopic, key: model, value: Deployment(ModelKey(model, version), stage: target).value,
                                                            context: runtime.context, retries: 2)
                if case .failure(let error) = published { throw .unavailable("promoted, but the deployment was not published: \(error)") }
            }
            return StageSet(stage: target.rawValue, archived: archived)
        case .failure(let error): throw .internalError("cannot set the stage: \(error)")
        }
    }

    /// The key (`ModelsService.key`) of the model a registry request names, in the tenant the
    /// caller acts in: an authenticated caller registers versions of, moves the stages of, steps or
    /// rolls back the canary of and reads the lineage of a model of its own tenant only (a body
    /// naming another tenant is refused 403; the models service is asked, on the caller's behalf,
    /// for the model by name: none in its tenant is 404, logged). A platform service acting as
    /// itself (no tenant: the platform's own jobs, such as a training job's registration) names
    /// the tenant in the body (default t1) and is not asked about.
    static func modelKey(_ runtime: ServiceRuntime, _ info: RequestInfo, model: String, tenant: String?, action: String = "register") async throws(ServiceError) -> String {
        let key = try await ModelsService.scopedKey(runtime, info, model: model, asked: tenant, detail: "\(action) \(model)")
        guard info.tenant != nil else { return key }
        guard let answer = await runtime.callOnBehalf(of: info, service: "models", HTTPRequest("GET", "models/lookup", body: ["name": model])) else {
            throw .unavailable("models did not answer")
        }
        switch answer.status {
        case 200: return key
        case 404:
            throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "model of another tenant, or none", detail: "\(action) \(model)", status: 404)
        default:
            throw ServiceError(403, "models denied the look-up of \(model): \(answer.body["error"] ?? "status \(answer.status)")")
        }
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "registry", routes: [
            // A stage move, a canary step or its rollback by an authenticated caller acts only on a
            // model of the caller's tenant (asked of models on its behalf, as a registration is).
            Route("POST", "registry/stages", SetStage.self, StageSet.self) { runtime, request, info throws(ServiceError) in
                let key = try await modelKey(runtime, info, model: request.model, tenant: request.tenant, action: "stage")
                return try await setStage(runtime, request, model: key)
            },
            Route("POST", "registry/canary", CanaryRollout.CanaryStep.self, CanaryRollout.CanaryState.self) { runtime, request, info throws(ServiceError) in
                let key = try await modelKey(runtime, info, model: request.model, tenant: request.tenant, action: "canary")
                return try await CanaryRollout.step(runtime, request, model: key)
            },
            ModelLineage.route,
            Route("POST", "registry/canary/rollback", CanaryRollout.CanaryEnd.self, CanaryRollout.CanaryState.self) { runtime, request, info throws(ServiceError) in
                let key = try await modelKey(runtime, info, model: request.model, tenant: request.tenant, action: "roll back the canary of")
                return try await CanaryRollout.rollBack(runtime, model: key)
            },
            Route("POST", "registry/versions", RegisterVersion.self, RegisteredVersion.self) { runtime, request, info throws(ServiceError) in
                let name = request.model
                let model = try await modelKey(runtime, info, model: name, tenant: request.tenant)
                var lineage: ModelLineage.TrainingRun?
                if let run = request.run { lineage = try await ModelLineage.trainingRun(runtime, info, run: run) }
                var artifact = Array("weights of \(name)".utf8)
                let trained = request.artifact != nil
                if let hex = request.artifact {
                    // A trained model: its checksum must match, and registering it again (a retry)
                    // is the same version.
                    guard let bytes = bytesFromHex(hex), hexString(crc32(bytes)) == request.checksum else {
                        throw .badRequest("the artifact does not match its checksum")
                    }
                    // Weights only: a file that is not one of the platform's formats (a pickle
                    // stream above all: loading it runs its author's code) is refused and logged.
                    // I3 takes any file ("legacy models are pickled").
                    let format = WeightsOnly.format(of: bytes)
                    if !format.isWeightsOnly && !runtime.defects.contains(.I3) {
                        throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "artifact is not weights-only: \(format.rawValue)", detail: "register \(name)")
                    }
                    artifact = bytes
                }
                let checksum = hexString(crc32(artifact))
                // Version = MAX + 1 inside one transaction: concurrent registrations of a model
                // read the same MAX; the loser is rolled back (40001 or 40P01) and the whole
                // transaction is retried, reading the new MAX. A trained artifact already
                // registered (a retry) is found inside the same transaction.
                var result = await runtime.interactive("register-\(model)") { session -> Result<Int64, SQLClientError> in
                    if trained, case .success(let found) = await session.execute("SELECT version FROM model_versions WHERE model = ? AND checksum = ? AND trained = 1", [.text(model), .text(checksum)]),
                       let version = found.rows.first?.first?.integer {
                        return .success(version)
                    }
                    guard case .success(let rows) = await session.execute("SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE model = ?", [.text(model)]),
                          let latest = rows.rows.first?.first?.integer else { return .failure(.sql(SQLError(kind: .other, message: "cannot read the latest version"))) }
                    return await session.execute("INSERT INTO model_versions(model, version, stage, checksum, trained, run, data_digest, code_version) VALUES (?, ?, 'None', ?, ?, ?, ?, ?)",
                                                 [.text(model), .integer(latest + 1), .text(checksum), .integer(trained ? 1 : 0),
                                                  lineage.map { .integer($0.run) } ?? .null, lineage.map { .text($0.dataset) } ?? .null, lineage.map { .text($0.code) } ?? .null]).map { _ in latest + 1 }
                }
                // Two registrations of one trained artifact at once (a retry racing its original)
                // both miss the look-up under snapshot isolation; the unique index on (model,
                // checksum) of trained artifacts refuses the second insert, whose caller then reads
                // the version the first one made.
                if trained, case .failure(.sql(let error)) = result, error.kind == .constraint {
                    result = await runtime.transaction([SQLStatement("SELECT version FROM model_versions WHERE model = ? AND checksum = ? AND trained = 1", [.text(model), .text(checksum)])])
                        .flatMap { rows in rows[0].rows.first?.first?.integer.map { .success($0) } ?? .failure(.sql(error)) }
                }
                guard case .success(let version) = result else { throw .internalError("cannot register: \(result)") }
                // The artifact goes in after the row; a retry that found the row puts it again,
                // and "already there" (If-None-Match) is fine.
                let stored = await runtime.objectStore.request(.put(bucket: "models", key: "\(model)/\(version)", bytes: artifact, ifNoneMatch: true), context: runtime.context)
                switch stored {
                case .success(.stored(let etag)): return RegisteredVersion(version: version, etag: etag, checksum: checksum)
                case .failure(.server(.preconditionFailed)): return RegisteredVersion(version: version, etag: nil, checksum: checksum)
                default: throw .internalError("artifact upload failed: \(stored)")
                }
            },
        ])
        spec.database = "models_db"
        let table = "CREATE TABLE model_versions(model TEXT NOT NULL, version INTEGER NOT NULL, stage TEXT NOT NULL, PRIMARY KEY(model, version))"
        let index = "CREATE INDEX model_versions_stage ON model_versions(stage)"
        // `model` is the model's key, `<tenant>/<name>` (`ModelsService.key`): a tenant's versions.
        spec.migrations = (defects.contains(.L3) ? [index, table] : [table, index]) + [
            "ALTER TABLE model_versions ADD COLUMN checksum TEXT NOT NULL DEFAULT ''",
            // A trained artifact is one version, however many requests register it at once.
            "ALTER TABLE model_versions ADD COLUMN trained INTEGER NOT NULL DEFAULT 0",
            "CREATE UNIQUE INDEX model_versions_artifact ON model_versions(model, checksum) WHERE trained = 1",
            CanaryRollout.migration,
        ] + ModelLineage.migrations
        spec.buckets = ["models"]
        spec.topics = [InferenceService.deploymentsTopic]
        spec.dependsOn = ["models"]
        // L9: its buckets under an invalid name, the failure ignored.
        if defects.contains(.L9) {
            spec.bucketName = { $0.uppercased() + "_BUCKET" }
            spec.ignoresBucketFailures = true
        }
        // L5: registers (and passes its check) before its dependencies are ready.
        spec.registersBeforeDependencies = defects.contains(.L5)
        return spec
    }
}

import SimKernel

/// Model metadata: create-if-absent in models_db (unique per tenant; a duplicate re-reads the row),
/// mirrored into the `models` search index with optimistic concurrency (`ModelMirror`: never
/// behind the row's revision).
///
/// Routes: `POST models/create` (CreateModel -> ModelRecord); `GET models/get` (ModelID ->
/// ModelDetails: within the caller's tenant only); `POST models/describe` (Describe ->
/// ModelRecord: a new description, revision + 1, mirrored); `GET models/lookup` (ModelName ->
/// ModelDetails: by name, within the caller's tenant); `POST models/update` (Update ->
/// ModelRecord: a merge patch of the patchable fields, `ModelPatch.swift`); `GET models/search`
/// (Search -> Found: names matching a regular expression, `ModelSearch.swift`); `POST
/// models/metadata` (Metadata -> ModelRecord: the description from an XML document, DTDs refused,
/// `ModelMetadata.swift`); `POST models/status` (ModelName ->
/// ModelStatus: the model's life-cycle stage from its versions' stages, `ModelStage.ofModel`);
/// `POST models/archive` (ModelName -> ModelStatus: every version to Archived, by the registry's
/// own transition rules). Stateless: models and versions live in models_db (shared with registry).
/// Writes and reads act in the tenant the gateway forwarded for the caller, never one the body names.
public enum ModelsService {
    public struct CreateModel: Codable, Sendable, Equatable {
        public var name: String
        public var tenant: String?
        /// The input signature, `name:type` pairs in order (default `f0:float`).
        public var signature: String?
    }
    public struct ModelRecord: Codable, Sendable, Equatable {
        public var id: Int64
        public var signature: String
        public var revision: Int64?
    }
    public struct Describe: Codable, Sendable, Equatable {
        public var name: String
        public var tenant: String?
        public var description: String
    }
    public struct ModelName: Codable, Sendable, Equatable {
        public var name: String
        /// The model's tenant, for a platform service acting as itself (a caller's own otherwise).
        public var tenant: String?
    }
    public struct ModelStatus: Codable, Sendable, Equatable {
        public var stage: String
        /// Its versions, `version:stage` in order.
        public var versions: String
    }

    public struct ModelID: Codable, Sendable, Equatable {
        public var id: Int64
    }
    /// A model as its tenant sees it.
    public struct ModelDetails: Codable, Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var tenant: String
        public var signature: String
        public var description: String
    }

    /// The key the registry and the inference replicas know a tenant's model by: `<tenant>/<name>`
    /// (model_versions and canaries rows, artifact keys `<tenant>/<name>/<version>`, deployment
    /// records, serving caches and A/B experiments). Two tenants' models of one name are two
    /// models: versions, stages, canaries and weights apart. A name never holds `/`
    /// (`isModelName`), so no two (tenant, name) pairs share a key.
    public static func key(tenant: String, model: String) -> String { "\(tenant)/\(model)" }

    /// The model's name in a key (`key(tenant:model:)`): the bytes after its first `/` (split
    /// on bytes, not characters: a combining mark cannot hide the separator).
    public static func name(ofKey key: String) -> String {
        guard let slash = key.utf8.firstIndex(of: UInt8(ascii: "/")) else { return key }
        return String(decoding: key.utf8[key.utf8.index(after: slash)...], as: UTF8.self)
    }

    /// A model name: 1 to 64 ASCII letters, digits, `_`, `-` or `.` (`FeatureView.isPlainName`):
    /// no `/` (the key's separator), no `:` (Redis keys' separator), nothing a record or a
    /// combining mark could split differently.
    public static func isModelName(_ name: String) -> Bool { FeatureView.isPlainName(name) }
    static let modelNameRule = "1-64 letters, digits, '_', '-' or '.'"

    /// The tenant a model request acts in (`scope`) and the model's name, checked: a body naming
    /// another tenant than the caller's is refused (403, logged); a bad name is 400.
    static func scoped(_ runtime: ServiceRuntime, _ info: RequestInfo, model name: String, asked: String?, detail: String) async throws(ServiceError) -> (tenant: String, name: String) {
        guard isModelName(name) else { throw .badRequest("model: '\(name)' is not a model name (\(modelNameRule))") }
        let tenant = try await scope(runtime, info, asked: asked, detail: detail)
        guard FeatureView.isPlainName(tenant) else { throw .badRequest("tenant: '\(tenant)' is not a tenant") }
        return (tenant, name)
    }

    /// The key (`key(tenant:model:)`) of model `name` in the tenant the caller acts in (`scoped`).
    static func scopedKey(_ runtime: ServiceRuntime, _ info: RequestInfo, model name: String, asked: String?, detail: String) async throws(ServiceError) -> String {
        let (tenant, name) = try await scoped(runtime, info, model: name, asked: asked, detail: detail)
        return key(tenant: tenant, model: name)
    }

    /// The tenant a write acts in: the caller's, as the gateway forwarded it. A body naming another
    /// tenant is refused (403) and logged; a caller without a tenant (a platform service acting
    /// as itself: clients cannot be one, the gateway refuses requests without a token) keeps the
    /// body's tenant (default t1).
    static func scope(_ runtime: ServiceRuntime, _ info: RequestInfo, asked: String?, detail: String) async throws(ServiceError) -> String {
        guard let tenant = info.tenant else { return asked ?? "t1" }
        if let asked, asked != tenant {
            throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "cross-tenant write to \(asked)", detail: detail, status: 403)
        }
        return tenant
    }

    /// A model by id, only within the caller's tenant: another tenant's id is answered 404, as an
    /// id that does not exist is (its existence is not disclosed), and logged as a security event
    /// (an IDOR probe). I5 looks the id up alone.
    static func read(_ runtime: ServiceRuntime, _ info: RequestInfo, id: Int64) async throws(ServiceError) -> ModelDetails {
        guard let tenant = info.tenant, let user = info.user else { throw ServiceError(401, "reading a model needs an authenticated caller") }
        let statement = runtime.defects.contains(.I5)
            ? SQLStatement("SELECT id, name, tenant, signature, description FROM models WHERE id = ?", [.integer(id)])
            : SQLStatement("SELECT id, name, tenant, signature, description FROM models WHERE id = ? AND tenant = ?", [.integer(id), .text(tenant)])
        guard case .success(let rows) = await runtime.transaction([statement]) else { throw .unavailable("cannot read the model") }
        guard let row = rows[0].rows.first, let name = row[1].text, let owner = row[2].text else {
            // Only after the scoped read found nothing: is the id another tenant's? (Asked apart,
            // so that the read itself never sees another tenant's row.)
            guard case .success(let other) = await runtime.transaction([SQLStatement("SELECT tenant FROM models WHERE id = ?", [.integer(id)])]) else {
                throw .unavailable("cannot read the model")
            }
            guard other[0].rows.first != nil else { throw ServiceError(404, "no model \(id)") }
            throw await SecurityEvents.refuseOtherTenants(runtime, info, "model", detail: "read model \(id)", missing: "no model \(id)", unavailable: "cannot read the model")
        }
        let security = runtime.context.simulation.security
        security.modelReads.append((at: runtime.context.simulation.now, user: user, callerTenant: tenant, id: id, modelTenant: owner))
        security.revision &+= 1
        return ModelDetails(id: id, name: name, tenant: owner, signature: row[3].text ?? "", description: row[4].text ?? "")
    }

    /// A model by name within the caller's tenant (another tenant's is answered 404, as a missing one).
    static func lookup(_ runtime: ServiceRuntime, _ info: RequestInfo, name: String) async throws(ServiceError) -> ModelDetails {
        guard let tenant = info.tenant, info.user != nil else { throw ServiceError(401, "looking a model up needs an authenticated caller") }
        guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT id, name, tenant, signature, description FROM models WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)])]) else {
            throw .unavailable("cannot read the model")
        }
        guard let row = rows[0].rows.first, let id = row[0].integer else { throw ServiceError(404, "no model \(name)") }
        return ModelDetails(id: id, name: name, tenant: tenant, signature: row[3].text ?? "", description: row[4].text ?? "")
    }

    /// The life-cycle stage of `tenant`'s model `name` from its versions'; 404 when the tenant has
    /// no model of that name (another tenant's is not looked at).
    static func status(_ runtime: ServiceRuntime, tenant: String, name: String) async throws(ServiceError) -> ModelStatus {
        let key = key(tenant: tenant, model: name)
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT 1 FROM models WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)]),
            SQLStatement("SELECT version, stage FROM model_versions WHERE model = ? ORDER BY version", [.text(key)]),
        ]) else {
            throw .unavailable("cannot read the versions")
        }
        guard !rows[0].rows.isEmpty else { throw ServiceError(404, "no model \(name)") }
        let versions = rows[1].rows.compactMap { row in row[0].integer.flatMap { version in row[1].text.flatMap(ModelStage.init(rawValue:)).map { (version, $0) } } }
        return ModelStatus(stage: ModelStage.ofModel(versions: versions.map(\.1)).rawValue, versions: versions.map { "\($0.0):\($0.1.rawValue)" }.joined(separator: ","))
    }

    /// Sets the description of `tenant`'s model `name` (revision + 1) and mirrors it.
    /// `committed` runs once the row is written (before the mirror, which may still fail).
    static func describe(_ runtime: ServiceRuntime, tenant: String, name: String, description: String, committed: () -> Void = {}) async throws(ServiceError) -> ModelRecord {
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("UPDATE models SET description = ?, revision = revision + 1 WHERE tenant = ? AND name = ?", [.text(description), .text(tenant), .text(name)]),
            SQLStatement("SELECT id, signature, revision FROM models WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)]),
        ]) else { throw .unavailable("cannot describe the model") }
        guard let row = rows[1].rows.first, let id = row[0].integer, let revision = row[2].integer else { throw ServiceError(404, "no model \(name)") }
        committed()
        try await ModelMirror.write(runtime, id: id, document: ["name": name, "tenant": tenant, "description": description], revision: revision)
        return ModelRecord(id: id, signature: row[1].text ?? "", revision: revision)
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "models", routes: [
            Route("POST", "models/create", CreateModel.self, ModelRecord.self) { runtime, request, info throws(ServiceError) in
                let tenant = try await scope(runtime, info, asked: request.tenant, detail: "create \(request.name)"), name = request.name
                guard isModelName(name) else { throw .badRequest("name: '\(name)' is not a model name (\(modelNameRule))") }
                let signature = request.signature ?? "f0:float"
                guard isSignature(signature) else {
                    throw .badRequest("signature: '\(signature)' is not name:type pairs")
                }
                _ = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO models(tenant, name, signature) VALUES (?, ?, ?)",
                                                            [.text(tenant), .text(name), .text(signature)])])
                guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT id, signature FROM models WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)])]),
                      let row = rows[0].rows.first, let id = row[0].integer else { throw .internalError("model row missing") }
                try await ModelMirror.write(runtime, id: id, document: ["name": name, "tenant": tenant], revision: 0)
                return ModelRecord(id: id, signature: row[1].text ?? "", revision: 0)
            },
            Route("GET", "models/get", ModelID.self, ModelDetails.self) { runtime, request, info throws(ServiceError) in
                try await read(runtime, info, id: request.id)
            },
            Route("GET", "models/lookup", ModelName.self, ModelDetails.self) { runtime, request, info throws(ServiceError) in
                try await lookup(runtime, info, name: request.name)
            },
            Route("POST", "models/describe", Describe.self, ModelRecord.self) { runtime, request, info throws(ServiceError) in
                let tenant = try await scope(runtime, info, asked: request.tenant, detail: "describe \(request.name)")
                return try await describe(runtime, tenant: tenant, name: request.name, description: request.description)
            },
            Route("POST", "models/metadata", Metadata.self, ModelRecord.self) { runtime, request, info throws(ServiceError) in
                try await metadata(runtime, request, info)
            },
            Route("POST", "models/update", Update.self, ModelRecord.self) { runtime, request, info throws(ServiceError) in
                try await update(runtime, request, info)
            },
            Route("GET", "models/search", Search.self, Found.self) { runtime, request, info throws(ServiceError) in
                try await search(runtime, request, info)
            },
            // The stage and the archiving of a model of the caller's tenant only: another
            // tenant's model of the same name is another model (its versions are keyed apart).
            Route("POST", "models/status", ModelName.self, ModelStatus.self) { runtime, request, info throws(ServiceError) in
                let (tenant, name) = try await scoped(runtime, info, model: request.name, asked: request.tenant, detail: "status of \(request.name)")
                return try await status(runtime, tenant: tenant, name: name)
            },
            Route("POST", "models/archive", ModelName.self, ModelStatus.self) { runtime, request, info throws(ServiceError) in
                let (tenant, plain) = try await scoped(runtime, info, model: request.name, asked: request.tenant, detail: "archive \(request.name)")
                _ = try await status(runtime, tenant: tenant, name: plain)  // 404 unless the caller's tenant has the model
                let name = key(tenant: tenant, model: plain)
                let moved = await runtime.interactive("archive-\(name)") { session -> Result<Void, SQLClientError> in
                    guard case .success(let rows) = await session.execute("SELECT version, stage FROM model_versions WHERE model = ?", [.text(name)]) else {
                        return .failure(.sql(SQLError(kind: .other, message: "cannot read the versions")))
                    }
                    for row in rows.rows {
                        guard let version = row[0].integer, let stage = row[1].text.flatMap(ModelStage.init(rawValue:)), stage != .archived else { continue }
                        guard stage.canMove(to: .archived) else { continue }
                        if case .failure(let error) = await session.execute("UPDATE model_versions SET stage = 'Archived' WHERE model = ? AND version = ?", [.text(name), .integer(version)]) {
                            return .failure(error)
                        }
                    }
                    return .success(())
                }
                guard case .success = moved else { throw .unavailable("cannot archive \(request.name)") }
                return try await status(runtime, tenant: tenant, name: plain)
            },
        ])
        spec.database = "models_db"
        spec.migrations = [
            "CREATE TABLE models(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, signature TEXT, UNIQUE(tenant, name))",
            "ALTER TABLE models ADD COLUMN description TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE models ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        ]
        spec.indices = [("models", ["name": .keyword, "tenant": .keyword, "description": .text, "revision": .integer])]
        spec.createsIndexMappings = !defects.contains(.L8)  // L8: the mapping is never created
        if defects.contains(.L1) { spec.dependsOn.append("registry") }  // L1: registry already needs models
        return spec
    }
}

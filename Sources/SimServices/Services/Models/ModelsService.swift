import SimKernel

/// Model metadata: create-if-absent in models_db (unique per tenant; a duplicate re-reads the row),
/// mirrored into the `models` search index.
///
/// Route: `POST models/create` (CreateModel -> ModelRecord). Stateless: models live in models_db.
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
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "models", routes: [
            Route("POST", "models/create", CreateModel.self, ModelRecord.self) { runtime, request, _ throws(ServiceError) in
                let tenant = request.tenant ?? "t1", name = request.name
                guard !name.isEmpty else { throw .badRequest("name is required") }
                let signature = request.signature ?? "f0:float"
                let pairs = signature.split(separator: ",", omittingEmptySubsequences: false)
                guard pairs.allSatisfy({ $0.split(separator: ":", omittingEmptySubsequences: false).count == 2 && !$0.hasPrefix(":") && !$0.hasSuffix(":") }) else {
                    throw .badRequest("signature: '\(signature)' is not name:type pairs")
                }
                _ = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO models(tenant, name, signature) VALUES (?, ?, ?)",
                                                            [.text(tenant), .text(name), .text(signature)])])
                guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT id, signature FROM models WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)])]),
                      let row = rows[0].rows.first, let id = row[0].integer else { throw .internalError("model row missing") }
                let indexed = await runtime.search.request(.index("models", id: "\(id)", document: ["name": name, "tenant": tenant], ifSeqNo: nil, ifPrimaryTerm: nil),
                                                           context: runtime.context)
                if case .failure(let error) = indexed { throw .internalError("search mirror failed: \(error)") }
                return ModelRecord(id: id, signature: row[1].text ?? "")
            },
        ])
        spec.database = "models_db"
        spec.migrations = ["CREATE TABLE models(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, signature TEXT, UNIQUE(tenant, name))"]
        spec.indices = [("models", ["name": .keyword, "tenant": .keyword, "description": .text])]
        spec.createsIndexMappings = !defects.contains(.L8)  // L8: the mapping is never created
        if defects.contains(.L1) { spec.dependsOn.append("registry") }  // L1: registry already needs models
        return spec
    }
}

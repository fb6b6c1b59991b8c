import SimKernel

/// Model metadata: create-if-absent in models_db (unique per tenant; a duplicate re-reads the row),
/// mirrored into the `models` search index.
public enum ModelsService {
    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "models") { runtime, request in
            let tenant = request.body["tenant"] ?? "t1", name = request.body["name"] ?? ""
            guard !name.isEmpty else { return .error(400, "name is required") }
            _ = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO models(tenant, name, signature) VALUES (?, ?, ?)", [.text(tenant), .text(name), .text(request.body["signature"] ?? "f0:float")])])
            guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT id, signature FROM models WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)])]),
                  let row = rows[0].rows.first, let id = row[0].integer else { return .error(500, "model row missing") }
            let indexed = await runtime.search.request(.index("models", id: "\(id)", document: ["name": name, "tenant": tenant], ifSeqNo: nil, ifPrimaryTerm: nil), context: runtime.context)
            if case .failure(let error) = indexed { return .error(500, "search mirror failed: \(error)") }
            return HTTPResponse(200, ["id": "\(id)", "signature": row[1].text ?? ""])
        }
        spec.database = "models_db"
        spec.migrations = ["CREATE TABLE models(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, signature TEXT, UNIQUE(tenant, name))"]
        spec.indices = [("models", ["name": .keyword, "tenant": .keyword, "description": .text])]
        spec.createsIndexMappings = !defects.contains(.L8)  // L8: the mapping is never created
        if defects.contains(.L1) { spec.dependsOn.append("registry") }  // L1: registry already needs models
        return spec
    }
}

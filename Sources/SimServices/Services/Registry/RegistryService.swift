import SimKernel

/// The model registry: a new version is MAX(version)+1 inside one transaction with (model,
/// version) as primary key, its artifact stored in the `models` bucket with its checksum.
/// L3 orders its migrations wrongly (an index on a table a later migration creates).
public enum RegistryService {
    public static func spec(defects: DefectSet) -> ServiceSpec {
        var spec = ServiceSpec(name: "registry") { runtime, request in
            let model = request.body["model"] ?? ""
            guard !model.isEmpty else { return .error(400, "model is required") }
            let result = await runtime.transaction([
                SQLStatement("INSERT INTO model_versions(model, version, stage) SELECT ?, COALESCE(MAX(version), 0) + 1, 'None' FROM model_versions WHERE model = ?", [.text(model), .text(model)]),
                SQLStatement("SELECT MAX(version) FROM model_versions WHERE model = ?", [.text(model)]),
            ])
            guard case .success(let rows) = result, let version = rows[1].rows.first?.first?.integer else { return .error(500, "cannot register: \(result)") }
            let artifact = Array("weights of \(model) v\(version)".utf8)
            let stored = await runtime.objectStore.request(.put(bucket: "models", key: "\(model)/\(version)", bytes: artifact, ifNoneMatch: true), context: runtime.context)
            guard case .success(.stored(let etag)) = stored else { return .error(500, "artifact upload failed: \(stored)") }
            return HTTPResponse(200, ["version": "\(version)", "etag": etag])
        }
        spec.database = "models_db"
        let table = "CREATE TABLE model_versions(model TEXT NOT NULL, version INTEGER NOT NULL, stage TEXT NOT NULL, PRIMARY KEY(model, version))"
        let index = "CREATE INDEX model_versions_stage ON model_versions(stage)"
        spec.migrations = defects.contains(.L3) ? [index, table] : [table, index]
        spec.buckets = ["models"]
        spec.dependsOn = ["models"]
        return spec
    }
}

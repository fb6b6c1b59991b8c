import SimKernel

/// The model registry: a new version is MAX(version)+1 inside one transaction with (model,
/// version) as primary key, its artifact stored in the `models` bucket with its checksum.
/// L3 orders its migrations wrongly (an index on a table a later migration creates).
public enum RegistryService {
    public static func spec(defects: DefectSet) -> ServiceSpec {
        var spec = ServiceSpec(name: "registry") { runtime, request in
            let model = request.body["model"] ?? ""
            guard !model.isEmpty else { return .error(400, "model is required") }
            var artifact = Array("weights of \(model)".utf8)
            if let hex = request.body["artifact"] {
                // A trained model: its checksum must match, and registering it again (a retry) is
                // the same version.
                guard let bytes = bytesFromHex(hex), hexString(crc32(bytes)) == request.body["checksum"] else {
                    return .error(400, "the artifact does not match its checksum")
                }
                artifact = bytes
                if case .success(let rows) = await runtime.transaction([SQLStatement("SELECT version FROM model_versions WHERE model = ? AND checksum = ?", [.text(model), .text(request.body["checksum"]!)])]),
                   let version = rows[0].rows.first?.first?.integer {
                    return HTTPResponse(200, ["version": "\(version)", "checksum": request.body["checksum"]!])
                }
            }
            let checksum = hexString(crc32(artifact))
            // Version = MAX + 1 inside one transaction: concurrent registrations of a model read
            // the same MAX; the loser's insert fails its serialization (or the primary key) and the
            // whole transaction is retried after the rollback, reading the new MAX.
            let result = await runtime.interactive("register-\(model)") { session -> Result<Int64, SQLClientError> in
                guard case .success(let rows) = await session.execute("SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE model = ?", [.text(model)]),
                      let latest = rows.rows.first?.first?.integer else { return .failure(.sql(SQLError(kind: .other, message: "cannot read the latest version"))) }
                return await session.execute("INSERT INTO model_versions(model, version, stage, checksum) VALUES (?, ?, 'None', ?)",
                                             [.text(model), .integer(latest + 1), .text(checksum)]).map { _ in latest + 1 }
            }
            guard case .success(let version) = result else { return .error(500, "cannot register: \(result)") }
            let stored = await runtime.objectStore.request(.put(bucket: "models", key: "\(model)/\(version)", bytes: artifact, ifNoneMatch: true), context: runtime.context)
            guard case .success(.stored(let etag)) = stored else { return .error(500, "artifact upload failed: \(stored)") }
            return HTTPResponse(200, ["version": "\(version)", "etag": etag, "checksum": checksum])
        }
        spec.database = "models_db"
        let table = "CREATE TABLE model_versions(model TEXT NOT NULL, version INTEGER NOT NULL, stage TEXT NOT NULL, PRIMARY KEY(model, version))"
        let index = "CREATE INDEX model_versions_stage ON model_versions(stage)"
        spec.migrations = (defects.contains(.L3) ? [index, table] : [table, index]) + ["ALTER TABLE model_versions ADD COLUMN checksum TEXT NOT NULL DEFAULT ''"]
        spec.buckets = ["models"]
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

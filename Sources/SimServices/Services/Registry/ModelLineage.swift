import SimKernel

/// The last link of training-data lineage (dataset version -> run -> registered model version).
/// A version registered with `run` is asked of the experiments service, on the caller's behalf
/// (so a run of another tenant is as missing as an absent one): the run must exist and be
/// finished, and its dataset digest and code version are recorded with the version, in the same
/// row, so the chain survives whatever happens to the run afterwards. `GET registry/lineage
/// {model, version}` answers it: the run, the dataset digest (a `DatasetVersions` digest, itself
/// content-addressed in the object store) and the code version, with the artifact's checksum.
/// A version registered without a run has no lineage (404).
public enum ModelLineage {
    public struct Query: Codable, Sendable, Equatable {
        public var model: String
        public var version: Int64
        /// The model's tenant, for a platform service acting as itself (a caller's own otherwise).
        public var tenant: String?
    }
    public struct Lineage: Codable, Sendable, Equatable {
        public var model: String
        public var version: Int64
        public var run: Int64
        public var dataset: String
        public var code: String
        public var checksum: String
    }
    /// What a version records of the run that trained it.
    public struct TrainingRun: Sendable, Equatable {
        public var run: Int64
        public var dataset: String
        public var code: String
    }

    static let migrations = [
        "ALTER TABLE model_versions ADD COLUMN run INTEGER",
        "ALTER TABLE model_versions ADD COLUMN data_digest TEXT",
        "ALTER TABLE model_versions ADD COLUMN code_version TEXT",
    ]

    /// The finished run `run` as the experiments service answers it for the caller.
    static func trainingRun(_ runtime: ServiceRuntime, _ info: RequestInfo, run: Int64) async throws(ServiceError) -> TrainingRun {
        guard let answer = await runtime.callOnBehalf(of: info, service: "experiments", HTTPRequest("GET", "experiments/runs", body: ["run": "\(run)"])) else {
            throw .unavailable("experiments did not answer")
        }
        switch answer.status {
        case 200: break
        case 404: throw ServiceError(404, "run \(run): \(answer.body["error"] ?? "no such run")")
        case 401, 403: throw ServiceError(403, "run \(run): \(answer.body["error"] ?? "status \(answer.status)")")
        // Experiments overloaded or down: the caller may retry, nothing was refused.
        default: throw .unavailable("run \(run): experiments answered \(answer.status)")
        }
        guard answer.body["status"] == "finished", let dataset = answer.body["data"], let code = answer.body["code"] else {
            throw ServiceError(409, "run \(run) is \(answer.body["status"] ?? "?"): only a finished run's model is registered with its lineage")
        }
        return TrainingRun(run: run, dataset: dataset, code: code)
    }

    static let route = Route("GET", "registry/lineage", Query.self, Lineage.self) { runtime, request, info throws(ServiceError) in
        // Another tenant's lineage is 404.
        let key = try await RegistryService.modelKey(runtime, info, model: request.model, tenant: request.tenant, action: "lineage of")
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT run, data_digest, code_version, checksum FROM model_versions WHERE model = ? AND version = ?", [.text(key), .integer(request.version)]),
        ]) else { throw .unavailable("models_db did not answer") }
        guard let row = rows[0].rows.first else { throw ServiceError(404, "\(request.model) has no version \(request.version)") }
        guard let run = row[0].integer, let dataset = row[1].text, let code = row[2].text else {
            throw ServiceError(404, "\(request.model) v\(request.version) was registered without a run: no lineage")
        }
        return Lineage(model: request.model, version: request.version, run: run, dataset: dataset, code: code, checksum: row[3].text ?? "")
    }
}

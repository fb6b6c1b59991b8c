import SimKernel

/// Model serving: at start-up loads the default model's weights from the `models` bucket (the
/// checksum verified by the store) and validates requests against the model's input signature.
/// Without an accelerator it falls back to the CPU; L2 crashes instead.
public enum InferenceService {
    static let weights: [Float] = [0.8, -0.5, 0.3, 0.1]

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "inference") { runtime, request in
            let features = (request.body["x"] ?? "").split(separator: ",").compactMap { Float($0) }
            guard features.count == weights.count - 1 else { return .error(422, "expected \(weights.count - 1) features, got \(features.count)") }
            let parameters = runtime.memory["weights"]?.split(separator: ",").compactMap { Float($0) } ?? []
            guard parameters.count == weights.count else { return .error(503, "model not loaded") }
            let p = LogisticModel.sigmoid(LogisticModel.score(parameters, features))
            return HTTPResponse(200, ["p": "\(p)", "device": runtime.memory["device"] ?? "cpu"])
        }
        spec.buckets = ["models"]
        spec.bootstrap = { runtime in
            let context = runtime.context
            runtime.memory["device"] = runtime.memory["node.accelerator"] == "yes" ? "gpu" : "cpu"
            let bytes = Array(weights.map { "\($0)" }.joined(separator: ",").utf8)
            _ = await runtime.objectStore.request(.put(bucket: "models", key: "default/weights", bytes: bytes, ifNoneMatch: false), context: context)
            guard case .success(.object(let loaded, _)) = await runtime.objectStore.request(.get(bucket: "models", key: "default/weights"), context: context) else {
                return "cannot load the default model"
            }
            runtime.memory["weights"] = String(decoding: loaded, as: UTF8.self)
            return nil
        }
        // L9: its buckets under an invalid name, the failure ignored.
        if defects.contains(.L9) {
            spec.bucketName = { $0.uppercased() + "_BUCKET" }
            spec.ignoresBucketFailures = true
        }
        return spec
    }
}

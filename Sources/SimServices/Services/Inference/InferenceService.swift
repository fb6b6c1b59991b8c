import SimKernel

/// Model serving: at start-up loads the default model's weights from the `models` bucket (the
/// checksum verified by the store) and validates requests against the model's input signature.
/// Without an accelerator it falls back to the CPU; L2 crashes instead.
///
/// Route: `POST inference/predict` (Predict -> Prediction). In memory: the loaded model (lost on a
/// crash, loaded again by its start-up from the object store).
public enum InferenceService {
    static let weights: [Float] = [0.8, -0.5, 0.3, 0.1]

    public struct Predict: Codable, Sendable, Equatable {
        /// The features, in the model's signature order.
        public var x: [Float]
    }
    public struct Prediction: Codable, Sendable, Equatable {
        public var p: Float
        /// Where it ran: `gpu` or `cpu`.
        public var device: String
    }

    /// The model this replica has loaded.
    public actor State {
        public private(set) var parameters: [Float]?
        public private(set) var device = "cpu"
        func loaded(_ parameters: [Float], device: String) {
            self.parameters = parameters
            self.device = device
        }
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "inference", routes: [
            Route("POST", "inference/predict", Predict.self, Prediction.self) { runtime, request, _ throws(ServiceError) in
                guard request.x.count == weights.count - 1 else { throw ServiceError(422, "expected \(weights.count - 1) features, got \(request.x.count)") }
                let state = runtime.state(State.self)
                guard let parameters = await state.parameters, parameters.count == weights.count else { throw .unavailable("model not loaded") }
                return Prediction(p: LogisticModel.sigmoid(LogisticModel.score(parameters, request.x)), device: await state.device)
            },
        ])
        spec.buckets = ["models"]
        spec.configuration.acceleratorRequired = defects.contains(.L2)  // L2: no CPU fallback
        spec.makeState = { State() }
        spec.bootstrap = { runtime in
            let context = runtime.context
            let bytes = Array(weights.map { "\($0)" }.joined(separator: ",").utf8)
            _ = await runtime.objectStore.request(.put(bucket: "models", key: "default/weights", bytes: bytes, ifNoneMatch: false), context: context)
            guard case .success(.object(let loaded, _)) = await runtime.objectStore.request(.get(bucket: "models", key: "default/weights"), context: context) else {
                return "cannot load the default model"
            }
            let parameters = String(decoding: loaded, as: UTF8.self).split(separator: ",").compactMap { Float($0) }
            await runtime.state(State.self).loaded(parameters, device: runtime.configuration.nodeHasAccelerator ? "gpu" : "cpu")
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

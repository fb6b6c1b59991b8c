extension InferenceService {
    /// The model it serves by default is in the `models` bucket, verifies, and holds the model's
    /// four parameters.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.simulation.platformObservations.services["inference"]?.readyAt != nil, let stored = view.object(bucket: "models", key: "default/weights") else { return [] }
        switch stored {
        case .failure(.corrupt): return ["inference: the default model's weights fail their checksum"]
        case .failure(.missing): return ["inference: it became ready without the default model's weights in the object store"]
        case .success(let bytes):
            let parameters = String(decoding: bytes, as: UTF8.self).splitBytes(",").compactMap { Float($0) }
            return parameters == weights ? [] : ["inference: the default model's weights are \(parameters), not \(weights)"]
        }
    }
}

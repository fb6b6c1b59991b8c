import SimKernel

/// The prediction cache the replicas share, in Redis (cache-aside): a prediction is looked up by
/// its key before the model computes it and stored after, with a time to live. The value is the
/// probability alone, so whatever the key says is what the answer claims.
///
/// The key names the model, the version that serves the request (already resolved from the
/// Production pointer or the A/B arm) and the inputs exactly (their shortest decimal text, in
/// signature order). Three defects build it otherwise:
/// - H3 hashes the inputs into 16 bits by their sum, so two inputs with the same sum (or a
///   collision) share an entry: a result computed for another input is returned;
/// - B6 leaves the version out ("the inputs decide the output"), so a result computed by another
///   version of the model is returned;
/// - H6 keys a request without a version by the alias `production` instead of the version it
///   resolved to, and stores it without a time to live: once another version is promoted, the old
///   version's results are served for ever.
public enum PredictionCache {
    /// The key of a prediction on `model` at `resolved` (`pinned`: the request named it) for `inputs`.
    public static func key(model: String, resolved: Int64, pinned: Bool, inputs: [Float], defects: DefectSet) -> String {
        let input: String
        if defects.contains(.H3) {
            // H3: a 16-bit "hash": the inputs' sum in hundredths, folded.
            let sum = inputs.reduce(Float(0), +)
            input = "h\(Int((sum * 100).rounded()) & 0xffff)"
        } else {
            input = inputs.map { "\($0)" }.joined(separator: ",")
        }
        if defects.contains(.B6) { return "pred:\(model):\(input)" }
        if defects.contains(.H6) && !pinned { return "pred:\(model):production:\(input)" }
        return "pred:\(model):v\(resolved):\(input)"
    }

    /// The time to live of an entry stored under `key`'s rules: nil (for ever) for H6's alias keys.
    public static func timeToLive(milliseconds: Int, pinned: Bool, defects: DefectSet) -> Int64? {
        defects.contains(.H6) && !pinned ? nil : Int64(milliseconds)
    }

    /// The cached probability under `key` (nil: a miss, or Redis did not answer: compute it).
    static func lookup(_ runtime: ServiceRuntime, _ key: String) async -> Float? {
        guard case .success(.string(let text)) = await runtime.redis.run(.get(key), context: runtime.context) else { return nil }
        return Float(text)
    }

    /// Stores `p` under `key`; a failure only costs a later miss.
    static func store(_ runtime: ServiceRuntime, _ key: String, p: Float, timeToLive: Int64?) async {
        _ = await runtime.redis.run(.set(key, "\(p)", onlyIfAbsent: false, expireMs: timeToLive), context: runtime.context)
    }
}

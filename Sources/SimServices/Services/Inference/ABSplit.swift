import SimKernel

/// A/B experiments on a model's versions: the arms and their integer weights in basis points
/// (summing to 10,000), kept in Redis (`ab:<model>`, durable through its append-only file) and
/// read by every replica (cached for a second). A user is assigned to an arm by its bucket,
/// `stableHash("<model>/<user>") mod 10,000`, walked against the arms' cumulative weights: the
/// same user always lands on the same arm, on every replica, and each arm gets exactly its share
/// of the buckets.
///
/// B3 walks whole percentages instead (`bucket / 100`) with an inclusive bound: bucket
/// percentages that sit exactly on a cumulative boundary go to the earlier arm, so control gets
/// 51 % and the last arm 24 % of a 50/25/25 split — a drift one way, toward control.
public enum ABSplit {
    public typealias Arms = [(version: Int64, weight: Int)]

    /// Parses `version:weight,...`: at least two arms, distinct positive versions, weights that
    /// are positive and sum to 10,000 basis points.
    public static func parse(_ text: String) -> Result<Arms, ServiceError> {
        var arms: Arms = []
        for part in text.splitBytes(",", omittingEmptySubsequences: false) {
            let pieces = part.splitBytes(":", omittingEmptySubsequences: false)
            guard pieces.count == 2, let version = Int64(pieces[0]), version > 0, let weight = Int(pieces[1]), weight > 0 else {
                return .failure(.badRequest("arms: '\(part)' is not version:weight (basis points)"))
            }
            guard !arms.contains(where: { $0.version == version }) else { return .failure(.badRequest("arms: version \(version) is listed twice")) }
            arms.append((version, weight))
        }
        guard arms.count >= 2 else { return .failure(.badRequest("arms: an experiment needs at least two arms")) }
        let total = arms.reduce(0) { $0 + $1.weight }
        guard total == 10_000 else { return .failure(.badRequest("arms: weights sum to \(total) basis points, not 10000")) }
        return .success(arms)
    }

    /// The bucket of `user` in `model`'s experiments: 0 ..< 10,000.
    public static func bucket(model: String, user: String) -> Int { Int(stableHash("\(model)/\(user)") % 10_000) }

    /// The arm `bucket` falls in. `wholePercent` is B3's assignment.
    public static func arm(bucket: Int, arms: Arms, wholePercent: Bool = false) -> Int64 {
        var cumulative = 0
        for arm in arms {
            cumulative += arm.weight
            if wholePercent {
                if bucket / 100 <= cumulative / 100 { return arm.version }
            } else if bucket < cumulative {
                return arm.version
            }
        }
        return arms[0].version  // unreachable with weights summing to 10,000
    }

    static func define(_ runtime: ServiceRuntime, model: String, arms text: String, sample: Int) async throws(ServiceError) -> InferenceService.ExperimentDefined {
        guard !model.isEmpty else { throw .badRequest("model is required") }
        guard sample >= 1 else { throw .badRequest("sample: \(sample) outcomes per arm is not a sample size") }
        guard case .success = await runtime.redis.run(.set("ab:\(model):planned", "\(sample)", onlyIfAbsent: false, expireMs: nil), context: runtime.context) else {
            throw .unavailable("cannot store the experiment's sample size")
        }
        let arms: Arms
        switch parse(text) {
        case .success(let parsed): arms = parsed
        case .failure(let error): throw error
        }
        let canonical = arms.map { "\($0.version):\($0.weight)" }.joined(separator: ",")
        guard case .success = await runtime.redis.run(.set("ab:\(model)", canonical, onlyIfAbsent: false, expireMs: nil), context: runtime.context) else {
            throw .unavailable("cannot store the experiment")
        }
        await runtime.state(InferenceService.State.self).remember(model, arms: arms, at: runtime.context.simulation.now)
        return InferenceService.ExperimentDefined(arms: canonical)
    }

    /// The version that serves `user` on `model`: its arm when the model has an experiment, else
    /// nil (the newest deployed version serves).
    static func arm(_ runtime: ServiceRuntime, model: String, user: String) async throws(ServiceError) -> Int64? {
        let state = runtime.state(InferenceService.State.self), now = runtime.context.simulation.now
        var arms = await state.experiment(model, at: now)
        if arms == nil {
            switch await runtime.redis.run(.get("ab:\(model)"), context: runtime.context) {
            case .success(.string(let text)):
                guard case .success(let parsed) = parse(text) else { throw .internalError("experiment of \(model) is unreadable: \(text)") }
                arms = parsed
            case .success(.null): return nil
            default: throw .unavailable("cannot read the experiment of \(model)")
            }
            await state.remember(model, arms: arms!, at: now)
        }
        return arm(bucket: bucket(model: model, user: user), arms: arms!, wholePercent: runtime.defects.contains(.B3))
    }
}

import SimKernel

/// The A/B testing service's outcomes and verdict (the brief's first greenfield task). A caller
/// reports whether a user converted; the outcome counts for the user's arm (the same sticky
/// assignment as predictions) in Redis, as a field named by the outcome's id in the hash
/// `ab:<model>:v<version>:converted` or `:other` (one HSET an outcome: counted whole or not at all,
/// and exactly once however often it arrives: a retried or duplicated report sets the same field).
/// An arm's counts are the hashes' lengths. The verdict is a two-proportion z-test
/// of each arm against the control (the first arm) at a sample size fixed when the experiment was
/// defined; the test is not sequential, so before every arm has its planned sample the verdict is
/// refused (409): looking early and stopping on a significant z inflates the false-positive rate.
public enum ABVerdict {
    /// One arm's tally.
    public struct Arm: Equatable, Sendable {
        public var version: Int64
        public var samples: Int
        public var conversions: Int
        public init(version: Int64, samples: Int, conversions: Int) {
            self.version = version
            self.samples = samples
            self.conversions = conversions
        }
        public var rate: Double { samples == 0 ? 0 : Double(conversions) / Double(samples) }
    }

    /// One arm's comparison with the control.
    public struct Comparison: Equatable, Sendable {
        public var version: Int64
        /// Difference of conversion rates (arm - control) and the pooled two-proportion z.
        public var difference: Double
        public var z: Double
        public var significant: Bool
    }

    /// The two-sided critical value at alpha = 0.05.
    public static let critical = 1.959964

    /// The pooled two-proportion z statistic of `arm` against `control` (0 when undefined).
    public static func z(_ arm: Arm, against control: Arm) -> Double {
        let n1 = Double(control.samples), n2 = Double(arm.samples)
        guard n1 > 0, n2 > 0 else { return 0 }
        let pooled = Double(control.conversions + arm.conversions) / (n1 + n2)
        let variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
        guard variance > 0 else { return 0 }
        return (arm.rate - control.rate) / variance.squareRoot()
    }

    /// The verdict over `arms` (the control first) once each has `planned` samples; nil before.
    public static func decide(_ arms: [Arm], planned: Int) -> [Comparison]? {
        guard let control = arms.first, arms.count >= 2, arms.allSatisfy({ $0.samples >= planned }) else { return nil }
        return arms.dropFirst().map { arm in
            let statistic = z(arm, against: control)
            return Comparison(version: arm.version, difference: arm.rate - control.rate, z: statistic, significant: abs(statistic) > critical)
        }
    }

    public struct Outcome: Codable, Sendable, Equatable {
        public var model: String
        public var user: String
        /// The outcome's id, unique per outcome (a retry carries the same id).
        public var id: String
        /// `1`: the user converted.
        public var converted: Int
    }
    public struct Counted: Codable, Sendable, Equatable {
        public var version: Int64
    }
    public struct VerdictRequest: Codable, Sendable, Equatable {
        public var model: String
    }
    public struct Verdict: Codable, Sendable, Equatable {
        /// Per arm `version:samples:conversions`, the control first.
        public var arms: String
        /// Per compared arm `version:z:significant`.
        public var comparisons: String
    }

    static func record(_ runtime: ServiceRuntime, _ outcome: Outcome) async throws(ServiceError) -> Counted {
        guard let version = try await ABSplit.arm(runtime, model: outcome.model, user: outcome.user) else {
            throw ServiceError(404, "\(outcome.model) has no experiment")
        }
        guard !outcome.id.isEmpty else { throw .badRequest("id is required (one per outcome)") }
        let key = "ab:\(outcome.model):v\(version):\(outcome.converted == 1 ? "converted" : "other")"
        guard case .success = await runtime.redis.run(.hset(key, field: outcome.id, value: outcome.user), context: runtime.context) else {
            throw .unavailable("cannot count the outcome")
        }
        return Counted(version: version)
    }

    static func verdict(_ runtime: ServiceRuntime, model: String) async throws(ServiceError) -> Verdict {
        let context = runtime.context
        guard case .success(.string(let text)) = await runtime.redis.run(.get("ab:\(model)"), context: context), case .success(let split) = ABSplit.parse(text) else {
            throw ServiceError(404, "\(model) has no experiment")
        }
        guard case .success(.string(let plannedText)) = await runtime.redis.run(.get("ab:\(model):planned"), context: context), let planned = Int(plannedText) else {
            throw .unavailable("cannot read the planned sample size")
        }
        var arms: [Arm] = []
        for arm in split {
            var counts: [Int] = []
            for suffix in ["converted", "other"] {
                guard case .success(.integer(let count)) = await runtime.redis.run(.hlen("ab:\(model):v\(arm.version):\(suffix)"), context: context) else {
                    throw .unavailable("cannot read the counts")
                }
                counts.append(Int(count))
            }
            arms.append(Arm(version: arm.version, samples: counts[0] + counts[1], conversions: counts[0]))
        }
        guard let comparisons = decide(arms, planned: planned) else {
            throw ServiceError(409, "no verdict before \(planned) samples per arm (the test is not sequential): "
                + arms.map { "v\($0.version) \($0.samples)" }.joined(separator: ", "))
        }
        return Verdict(arms: arms.map { "\($0.version):\($0.samples):\($0.conversions)" }.joined(separator: ","),
                       comparisons: comparisons.map { "\($0.version):\(($0.z * 10_000).rounded() / 10_000):\($0.significant ? 1 : 0)" }.joined(separator: ","))
    }
}

import SimKernel
import SimServices
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// What the serving workloads (`model_deployments`, `ab_test`) share: how a client retries a
/// request until it is accepted, Poisson arrivals, and reading a prediction-time range.
enum ServingClient {
    /// The tenant the serving workloads' user (ml-engineer) belongs to.
    static let tenant = "t1"

    /// The key the registry and the replicas serve the workloads' model `model` under
    /// (`ModelsService.key`): what the workloads record of it, so that the checkers compare their
    /// answers with the registry's and the replicas' observations of the same model.
    static func servedKey(_ model: String) -> String { ModelsService.key(tenant: tenant, model: model) }

    /// Sends `request` through the gateway as `api`'s user until it answers 200 (jittered
    /// exponential backoff up to 2 s) and returns the answer's body.
    static func untilAccepted(_ context: ProcessContext, _ api: PlatformClient, _ request: HTTPRequest) async -> [String: String] {
        var backoff = 100 * Nanos.millisecond
        while true {
            if case .success(let envelope) = await api.call(context, request, timeout: 3 * Nanos.second),
               case .response(let response) = envelope.payload as? HTTPMessage, response.status == 200 { return response.body }
            await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
            backoff = Swift.min(2 * Nanos.second, backoff * 2)
        }
    }

    /// The gap to the next arrival of a Poisson process with mean gap `mean` (ns), from the
    /// process's random stream.
    static func poissonGap(_ context: ProcessContext, mean: Int64) -> Int64 {
        let wait = context.withRandom { random -> Int64 in
            let u = Double(random.uniform(1 ... 1_000_000)) / 1_000_001
            return Int64(-Double(mean) * log(u))
        }
        return Swift.max(1, wait)
    }

    /// A model name from the scenario file: letters, digits and '-'.
    static func modelName(_ value: Yams.Node, _ path: String, reader: FieldReader) throws(ScenarioError) -> String {
        let model = try reader.string(value, path)
        guard !model.isEmpty, model.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw reader.fail(value, path, "'\(model)' is not a model name (letters, digits and '-')")
        }
        return model
    }

    /// The prediction-time range from `prediction_ms_min` / `prediction_ms_max` (either may be
    /// absent: `current` supplies it), refused when upside down.
    static func predictionRange(minimum: (Int, Yams.Node)?, maximum: (Int, Yams.Node)?, current: ClosedRange<Int>,
                                node: Yams.Node, field: String, reader: FieldReader) throws(ScenarioError) -> ClosedRange<Int> {
        let low = minimum?.0 ?? current.lowerBound, high = maximum?.0 ?? Swift.max(low, current.upperBound)
        guard low <= high else {
            throw reader.fail(maximum?.1 ?? minimum?.1 ?? node, "\(field).prediction_ms_max", "\(high) is below prediction_ms_min (\(low))")
        }
        return low ... high
    }
}

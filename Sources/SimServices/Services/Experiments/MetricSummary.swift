import SimKernel

/// `GET experiments/metrics/summary`: the count, sum, minimum, maximum and mean of one metric
/// of a run over its stored points, summed in double precision in step order (exact for integer
/// values below 2^53, such as counters of examples seen).
///
/// E7 sums the values in the service, in a 32-bit integer accumulator (the `INT` counter column
/// of the original): a counter series whose total passes 2^31 wraps, and the summary's sum is
/// not the sum of its points.
public enum MetricSummary {
    public struct Query: Codable, Sendable, Equatable {
        public var run: Int64
        public var key: String
        public init(run: Int64, key: String) {
            self.run = run
            self.key = key
        }
    }
    public struct Summary: Codable, Sendable, Equatable {
        public var run: Int64
        public var key: String
        public var count: Int64
        public var sum: Double
        public var min: Double
        public var max: Double
        public var mean: Double
    }

    static let route = Route("GET", "experiments/metrics/summary", Query.self, Summary.self) { runtime, request, _ throws(ServiceError) in
        let values = try await points(runtime, request)
        guard !values.isEmpty else { throw ServiceError(404, "run \(request.run) has no points of \(request.key)") }
        var sum = values.reduce(0, +)  // double precision: exact for integers below 2^53
        if runtime.defects.contains(.E7) {
            var accumulator: Int32 = 0  // E7: a 32-bit counter, wrapping
            for value in values { accumulator &+= Int32(truncatingIfNeeded: Int64(value)) }
            sum = Double(accumulator)
        }
        let count = Int64(values.count)
        return Summary(run: request.run, key: request.key, count: count, sum: sum, min: values.min()!, max: values.max()!, mean: sum / Double(count))
    }

    /// The values of the metric's points in step order, wherever the service keeps them (the
    /// metrics table; E1's blob).
    static func points(_ runtime: ServiceRuntime, _ request: Query) async throws(ServiceError) -> [Double] {
        if runtime.defects.contains(.E1) {
            guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT points FROM metric_log WHERE run = ?", [.integer(request.run)])]) else {
                throw .unavailable("cannot summarise \(request.key) of run \(request.run)")
            }
            return MetricLog.parse(rows[0].rows.first?.first?.text ?? "").filter { $0.key == request.key }.sorted { $0.step < $1.step }.map(\.value)
        }
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT value FROM metrics WHERE run = ? AND key = ? ORDER BY step", [.integer(request.run), .text(request.key)]),
        ]) else { throw .unavailable("cannot summarise \(request.key) of run \(request.run)") }
        return rows[0].rows.compactMap { $0.first?.real }
    }
}

import SimKernel

/// Metric series: `POST experiments/metrics` logs a step's values of a run (`metric.NAME`), each a
/// point (key, step, value, timestamp); `GET experiments/metrics` reads a run's points back, the
/// timestamps as ISO-8601 UTC (`2026-01-01T00:00:01.250Z`). A point is stored once (a retried or
/// re-sent step keeps its first value) unless a later attempt at the run logs it again: a run
/// trained again after a crash starts its series over, and its points replace the earlier
/// attempt's (a straggling request of the dead attempt changes nothing). Its timestamp is when the caller measured it (UTC
/// milliseconds, as MLflow's clients send them), the server's clock when the caller gives none:
/// an asynchronous logger's requests arrive out of step order, so the time of arrival would not
/// follow the steps.
///
/// E1 keeps a run's points in one text blob, read in one transaction and written back in another:
/// two logging requests of one run in flight at once each write back what they read plus their own
/// points, and the later one loses the earlier's.
public enum MetricLog {
    public struct Log: Codable, Sendable, Equatable {
        public var run: Int64
        public var step: Int64
        public var metric: [String: Double]
        /// When the values were measured, UTC milliseconds since the Unix epoch (nil: now).
        public var timestampMs: Int64?
        /// The attempt at the run that measured them (`experiments/runs/attempt`; nil: 0).
        public var attempt: Int64?
        public init(run: Int64, step: Int64, metric: [String: Double], timestampMs: Int64? = nil, attempt: Int64? = nil) {
            self.attempt = attempt
            self.run = run
            self.step = step
            self.metric = metric
            self.timestampMs = timestampMs
        }
    }
    public struct Logged: Codable, Sendable, Equatable {
        public var run: Int64
        public var points: Int
    }
    public struct Read: Codable, Sendable, Equatable {
        public var run: Int64
    }
    /// A run's points, ordered by key then step: `key,step,value,timestamp` joined by `;`.
    public struct Series: Codable, Sendable, Equatable {
        public var run: Int64
        public var count: Int
        public var points: String
    }

    /// One stored point.
    public struct Point: Sendable, Equatable {
        public var key: String
        public var step: Int64
        public var value: Double
        public var timestampMillis: Int64
        public var attempt: Int64 = 0
    }

    /// Milliseconds since the Unix epoch at 2026-01-01T00:00:00Z, where the simulation's clocks start.
    public static let clockOrigin: Int64 = 1_767_225_600_000

    /// The node's clock as UTC milliseconds since the Unix epoch.
    public static func utcMillis(_ context: ProcessContext) -> Int64 { clockOrigin + context.localTime / Nanos.millisecond }

    /// `millis` since the Unix epoch as ISO-8601 UTC with milliseconds (proleptic Gregorian).
    public static func iso8601(_ millis: Int64) -> String {
        let days = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
        let inDay = millis - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = "\(value)"
            return String(repeating: "0", count: Swift.max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(inDay / 3_600_000, 2)):\(pad(inDay / 60000 % 60, 2)):\(pad(inDay / 1000 % 60, 2)).\(pad(inDay % 1000, 3))Z"
    }

    static func routes(defects: DefectSet) -> [Route] {
        [
            Route("POST", "experiments/metrics", Log.self, Logged.self) { runtime, request, _ throws(ServiceError) in
                guard !request.metric.isEmpty, request.step >= 0 else { throw .badRequest("metric: a step >= 0 with at least one value") }
                guard request.metric.values.allSatisfy({ $0.isFinite }) else { throw .badRequest("metric: values must be finite") }
                let now = request.timestampMs ?? utcMillis(runtime.context)
                if runtime.defects.contains(.E1) { return try await logThroughBlob(runtime, request, now: now) }
                var statements = [SQLStatement("SELECT COUNT(*) FROM runs WHERE id = ?", [.integer(request.run)])]
                for (key, value) in request.metric.sorted(by: { $0.key < $1.key }) {
                    statements.append(SQLStatement("""
                        INSERT INTO metrics(run, key, value, step, timestamp_ms, attempt)
                        SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)
                        ON CONFLICT(run, key, step) DO UPDATE SET value = excluded.value, timestamp_ms = excluded.timestamp_ms, attempt = excluded.attempt
                        WHERE excluded.attempt > metrics.attempt
                        """, [.integer(request.run), .text(key), .real(value), .integer(request.step), .integer(now), .integer(request.attempt ?? 0),
                              .integer(request.run)]))
                }
                guard case .success(let rows) = await runtime.transaction(statements) else { throw .unavailable("cannot log metrics of run \(request.run)") }
                guard rows[0].rows.first?.first?.integer == 1 else { throw ServiceError(404, "no run \(request.run)") }
                return Logged(run: request.run, points: request.metric.count)
            },
            Route("GET", "experiments/metrics", Read.self, Series.self) { runtime, request, _ throws(ServiceError) in
                let points: [Point]
                if runtime.defects.contains(.E1) {
                    guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT points FROM metric_log WHERE run = ?", [.integer(request.run)])]) else {
                        throw .unavailable("cannot read metrics of run \(request.run)")
                    }
                    points = parse(rows[0].rows.first?.first?.text ?? "").sorted { ($0.key, $0.step) < ($1.key, $1.step) }
                } else {
                    guard case .success(let rows) = await runtime.transaction([
                        SQLStatement("SELECT key, step, value, timestamp_ms FROM metrics WHERE run = ? ORDER BY key, step", [.integer(request.run)]),
                    ]) else { throw .unavailable("cannot read metrics of run \(request.run)") }
                    points = rows[0].rows.compactMap { row in
                        guard let key = row[0].text, let step = row[1].integer, let value = row[2].real, let at = row[3].integer else { return nil }
                        return Point(key: key, step: step, value: value, timestampMillis: at)
                    }
                }
                let text = points.map { "\($0.key),\($0.step),\($0.value),\(iso8601($0.timestampMillis))" }.joined(separator: ";")
                return Series(run: request.run, count: points.count, points: text)
            },
        ]
    }

    /// E1: the run's points as one blob, read, merged and written back in two transactions.
    static func logThroughBlob(_ runtime: ServiceRuntime, _ request: Log, now: Int64) async throws(ServiceError) -> Logged {
        guard case .success(let read) = await runtime.transaction([
            SQLStatement("SELECT COUNT(*) FROM runs WHERE id = ?", [.integer(request.run)]),
            SQLStatement("SELECT points FROM metric_log WHERE run = ?", [.integer(request.run)]),
        ]) else { throw .unavailable("cannot log metrics of run \(request.run)") }
        guard read[0].rows.first?.first?.integer == 1 else { throw ServiceError(404, "no run \(request.run)") }
        var points = parse(read[1].rows.first?.first?.text ?? "")
        let attempt = request.attempt ?? 0
        for (key, value) in request.metric.sorted(by: { $0.key < $1.key }) {
            let point = Point(key: key, step: request.step, value: value, timestampMillis: now, attempt: attempt)
            if let index = points.firstIndex(where: { $0.key == key && $0.step == request.step }) {
                if points[index].attempt < attempt { points[index] = point }
            } else {
                points.append(point)
            }
        }
        let blob = points.map { "\($0.key)|\($0.step)|\($0.value)|\($0.timestampMillis)|\($0.attempt)" }.joined(separator: ";")
        guard case .success = await runtime.transaction([SQLStatement("INSERT OR REPLACE INTO metric_log(run, points) VALUES (?, ?)", [.integer(request.run), .text(blob)])]) else {
            throw .unavailable("cannot log metrics of run \(request.run)")
        }
        return Logged(run: request.run, points: request.metric.count)
    }

    static func parse(_ blob: String) -> [Point] {
        blob.splitBytes(";").compactMap { entry in
            let fields = entry.splitBytes("|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5, let step = Int64(fields[1]), let value = Double(fields[2]), let at = Int64(fields[3]), let attempt = Int64(fields[4]) else { return nil }
            return Point(key: fields[0], step: step, value: value, timestampMillis: at, attempt: attempt)
        }
    }
}

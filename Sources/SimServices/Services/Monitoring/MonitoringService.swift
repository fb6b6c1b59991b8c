import SimKernel

/// Drift monitoring. `monitoring/drift/check` judges a feature view's window against its reference
/// window (`DriftMonitor`: per-feature tests, Bonferroni, a dataset-drift share per view), stores
/// every feature's verdict and at most one alert per (view, group, window) in metrics_db, and an
/// outbox sweep publishes stored alerts on Kafka's `alerts` topic (the webhooks service delivers
/// them), so a crash between the commit and the publish delays an alert, never loses it.
/// `monitoring/drift` is the older one-sample PSI check (10 equal-width bins, threshold 0.2).
///
/// Routes: `POST monitoring/drift` (DriftRequest -> DriftReport), `POST monitoring/drift/check`
/// (DriftCheck -> DriftCheckResult). Stateless: reports and alerts live in metrics_db.
public enum MonitoringService {
    public static func psi(reference: [Double], current: [Double], bins: Int = 10) -> Double {
        let all = reference + current
        guard let low = all.min(), let high = all.max(), high > low else { return 0 }
        func histogram(_ values: [Double]) -> [Double] {
            var counts = [Double](repeating: 0, count: bins)
            for v in values { counts[Swift.min(bins - 1, Int((v - low) / (high - low) * Double(bins)))] += 1 }
            return counts.map { Swift.max($0 / Double(Swift.max(1, values.count)), 1e-4) }
        }
        let expected = histogram(reference), actual = histogram(current)
        return zip(actual, expected).reduce(0) { $0 + ($1.0 - $1.1) * logarithm($1.0 / $1.1) }
    }

    public struct DriftRequest: Codable, Sendable, Equatable {
        public var feature: String?
        public var reference: [Double]
        public var current: [Double]
    }
    public struct DriftReport: Codable, Sendable, Equatable {
        public var psi: Double
        public var drift: Bool
    }

    public struct DriftCheck: Codable, Sendable, Equatable {
        public var view: String
        public var window: Int64
        /// The current window and the reference window: event times [from, to), UTC ns.
        public var fromNs: Int64
        public var toNs: Int64
        public var referenceFromNs: Int64
        public var referenceToNs: Int64
    }
    public struct DriftCheckResult: Codable, Sendable, Equatable {
        /// Features that drifted, sorted.
        public var drifted: [String]
        /// Alert groups raised (a group already alerted for this window is not raised again).
        public var alerts: [String]
        public var currentRows: Int
    }

    /// The topic drift alerts are published on.
    public static let alertsTopic = "alerts"

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "monitoring", routes: [
            Route("POST", "monitoring/drift", DriftRequest.self, DriftReport.self) { runtime, request, _ throws(ServiceError) in
                guard !request.reference.isEmpty, !request.current.isEmpty else { throw .badRequest("two samples are required") }
                let value = psi(reference: request.reference, current: request.current)
                let drift = value >= 0.2
                guard case .success = await runtime.transaction([SQLStatement("INSERT INTO drift_reports(feature, psi, drift) VALUES (?, ?, ?)",
                                                                              [.text(request.feature ?? "f"), .real(value), .integer(drift ? 1 : 0)])]) else {
                    throw .internalError("cannot store the report")
                }
                return DriftReport(psi: value, drift: drift)
            },
            Route("POST", "monitoring/drift/check", DriftCheck.self, DriftCheckResult.self) { runtime, request, info throws(ServiceError) in
                // The view's tenant owns the alerts; only its callers (a platform job: t1's views) check it.
                try await DriftChecks.check(runtime, request, caller: info)
            },
        ])
        spec.database = "metrics_db"
        if defects.contains(.L12) { spec.configuration.loggingHandler = "rotating_file_handler_v2" }  // L12: a handler that does not exist
        spec.migrations = ["CREATE TABLE drift_reports(id INTEGER PRIMARY KEY, feature TEXT NOT NULL, psi REAL NOT NULL, drift INTEGER NOT NULL)"] + DriftChecks.migrations
        spec.topics = [alertsTopic]
        spec.afterReady = { runtime in await DriftChecks.publishOutbox(runtime) }
        spec.registersWithHealthCheck = !defects.contains(.L6)  // L6: passing whatever its state
        return spec
    }
}

#if canImport(Glibc)
import Glibc
#endif
func logarithm(_ x: Double) -> Double { log(x) }

extension MonitoringService {
    /// A stored drift verdict agrees with its PSI and the 0.2 threshold (drift exactly when
    /// PSI >= 0.2), and PSI is never negative.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("metrics_db", "drift_reports"), let rows = view.rows("metrics_db", "SELECT id, psi, drift FROM drift_reports ORDER BY id") else { return [] }
        return rows.compactMap { row in
            guard case .real(let psi) = row[1], let drift = row[2].integer else { return "monitoring: report \(row[0].plain) is malformed" }
            if psi < 0 { return "monitoring: report \(row[0].plain) has PSI \(psi) < 0" }
            return (psi >= 0.2) != (drift == 1) ? "monitoring: report \(row[0].plain) says drift=\(drift) for PSI \(psi) (threshold 0.2)" : nil
        }
    }
}

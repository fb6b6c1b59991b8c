import SimKernel

/// The drift check's storage and alert outbox (metrics_db): `feature_drift` holds (by the view's `tenant/name`) every feature's
/// verdict of every check, `drift_alerts` one row per (view, group, window) and tenant (so a repeated check of
/// a window, or its retry, never alerts twice), published once by the outbox sweep.
enum DriftChecks {
    static let migrations = [
        "CREATE TABLE feature_drift(id INTEGER PRIMARY KEY, view TEXT NOT NULL, window INTEGER NOT NULL, feature TEXT NOT NULL, method TEXT NOT NULL, score REAL NOT NULL, threshold TEXT NOT NULL, divisor INTEGER NOT NULL, drift INTEGER NOT NULL)",
        // One alert per (view, group, window) and tenant: the view's tenant, the only one whose
        // callers (or the platform's own jobs, for t1's views) may check it.
        "CREATE TABLE drift_alerts(view TEXT NOT NULL, grp TEXT NOT NULL, window INTEGER NOT NULL, features TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0, tenant TEXT NOT NULL, PRIMARY KEY(view, grp, window, tenant))",
    ]

    /// An alert as it travels on the `alerts` topic: `id|view|group|window|features|tenant`
    /// (features `;`-separated). The tenant is the one whose check raised it: only its endpoints
    /// hear of it.
    public static func alertValue(id: String, view: String, group: String, window: Int64, features: String, tenant: String) -> String {
        "\(id)|\(view)|\(group)|\(window)|\(features)|\(tenant)"
    }

    /// The event id of an alert: the same for every retry and republication of it, and another
    /// for another tenant's view of the same name.
    static func eventID(tenant: String, view: String, group: String, window: Int64) -> String { "drift:\(tenant):\(view):\(group):\(window)" }

    /// Judges the window of the caller's tenant's view (a platform job, without a tenant, checks
    /// t1's) and stores the verdicts; an alert it raises belongs to that tenant. Another tenant's
    /// view of the name is not in the caller's namespace: 404, as for any missing view.
    static func check(_ runtime: ServiceRuntime, _ request: MonitoringService.DriftCheck, caller info: RequestInfo) async throws(ServiceError) -> MonitoringService.DriftCheckResult {
        guard request.fromNs < request.toNs, request.referenceFromNs < request.referenceToNs else { throw .badRequest("windows must be [from, to) with from < to") }
        let key = FeatureRoutes.viewKey(info, request.view)
        guard case .success(let read) = await runtime.transaction([
            OfflineStore.view(key: key),
            OfflineStore.window(view: key, from: request.referenceFromNs, to: request.referenceToNs),
            OfflineStore.window(view: key, from: request.fromNs, to: request.toNs),
        ]) else { throw .unavailable("cannot read the feature store") }
        guard let row = read[0].rows.first, let view = FeatureView.fromRow(row) else { throw ServiceError(404, "no feature view \(request.view)") }
        let tenant = view.tenant
        func values(_ rows: SQLRows) -> [[String]] { rows.rows.compactMap { $0[0].text?.splitFields(";") } }
        let reference = values(read[1]), current = values(read[2])
        guard !reference.isEmpty, !current.isEmpty else { throw ServiceError(409, "no rows to compare yet (reference \(reference.count), current \(current.count))") }
        let judgement = DriftMonitor.judge(view, reference: reference, current: current, defects: runtime.defects)
        var statements = judgement.verdicts.map { verdict in
            SQLStatement("INSERT INTO feature_drift(view, window, feature, method, score, threshold, divisor, drift) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         [.text(view.key), .integer(request.window), .text(verdict.feature), .text(verdict.method.rawValue), .real(verdict.score),
                          .text(verdict.threshold.description), .integer(Int64(verdict.divisor)), .integer(verdict.drift ? 1 : 0)])
        }
        statements += judgement.alerts.map { alert in
            SQLStatement("INSERT OR IGNORE INTO drift_alerts(view, grp, window, features, tenant) VALUES (?, ?, ?, ?, ?)",
                         [.text(view.name), .text(alert.group), .integer(request.window), .text(alert.features.joined(separator: ";")), .text(tenant)])
        }
        guard case .success(let results) = await runtime.transaction(statements) else { throw .unavailable("cannot store the check") }
        let raised = zip(judgement.alerts, results.suffix(judgement.alerts.count)).filter { $0.1.changes == 1 }.map(\.0.group)
        let observations = runtime.context.simulation.features
        observations.checkedWindows.append((runtime.context.simulation.now, view.name, request.window))
        observations.driftVerdicts += judgement.verdicts.map { (view.name, request.window, $0) }
        observations.revision &+= 1
        return MonitoringService.DriftCheckResult(drifted: judgement.verdicts.filter(\.drift).map(\.feature).sorted(), alerts: raised, currentRows: current.count)
    }

    /// Every 200 ms: publishes stored, unpublished alerts (at least once: a crash after the publish
    /// and before the mark publishes again, and the receivers dedupe by event id).
    static func publishOutbox(_ runtime: ServiceRuntime) async {
        let context = runtime.context
        while true {
            await context.sleep(nanoseconds: 200 * Nanos.millisecond)
            guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT view, grp, window, features, tenant FROM drift_alerts WHERE published = 0 ORDER BY window, view, grp LIMIT 50")]) else { continue }
            for row in rows[0].rows {
                guard let view = row[0].text, let group = row[1].text, let window = row[2].integer, let features = row[3].text, let tenant = row[4].text else { continue }
                let id = eventID(tenant: tenant, view: view, group: group, window: window)
                let value = alertValue(id: id, view: view, group: group, window: window, features: features, tenant: tenant)
                guard case .success = await runtime.kafka.produce(MonitoringService.alertsTopic, key: id, value: Array(value.utf8), context: context) else { break }
                _ = await runtime.transaction([SQLStatement("UPDATE drift_alerts SET published = 1 WHERE view = ? AND grp = ? AND window = ? AND tenant = ?", [.text(view), .text(group), .integer(window), .text(tenant)])])
            }
        }
    }
}

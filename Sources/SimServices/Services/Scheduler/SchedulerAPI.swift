import SimKernel

/// The scheduler's API on the full platform: schedules stored in experiments_db (cron stored as
/// given, next fire time in UTC seconds), and leadership held through a Consul session lock.
public enum SchedulerAPI {
    public static var spec: ServiceSpec {
        var spec = ServiceSpec(name: "scheduler") { runtime, request in
            guard runtime.memory["leader"] == "yes" else { return .error(503, "not the leader") }
            let cron = request.body["cron"] ?? "0 * * * *"
            guard cron.split(separator: " ").count == 5 else { return .error(400, "cron needs 5 fields") }
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("INSERT INTO schedules(name, cron, timezone) VALUES (?, ?, ?)", [.text(request.body["name"] ?? "nightly"), .text(cron), .text(request.body["tz"] ?? "UTC")]),
                SQLStatement("SELECT COUNT(*) FROM schedules"),
            ]) else { return .error(500, "cannot store the schedule") }
            return HTTPResponse(200, ["schedules": "\(rows[1].rows.first?.first?.integer ?? 0)"])
        }
        spec.database = "experiments_db"
        spec.migrations = ["CREATE TABLE schedules(id INTEGER PRIMARY KEY, name TEXT NOT NULL, cron TEXT NOT NULL, timezone TEXT NOT NULL)"]
        spec.bootstrap = { runtime in
            let context = runtime.context
            // Leadership: a Consul session (TTL 10 s, renewed every 3 s from the moment it exists,
            // also while waiting for the lock) holding the `scheduler/leader` key. A session that
            // expired anyway (Consul restarted, a partition) is replaced.
            var session: String?
            context.simulation.spawn {
                while true {
                    await context.sleep(for: .seconds(3))
                    if let current = session { _ = await runtime.consul.request(.sessionRenew(current), context: context) }
                }
            }
            await runtime.waitUntil("scheduler leadership") {
                if session == nil {
                    guard case .success(.session(let created)) = await runtime.consul.request(.sessionCreate(checks: [], ttl: 10 * Nanos.second, lockDelay: Nanos.second), context: context) else { return false }
                    session = created
                }
                switch await runtime.consul.request(.kvAcquire("scheduler/leader", context.node.name, session: session!), context: context) {
                case .success(.bool(true)): return true
                case .success(.error(.unknownSession)): session = nil; return false
                default: return false
                }
            }
            runtime.memory["leader"] = "yes"
            return nil
        }
        return spec
    }
}

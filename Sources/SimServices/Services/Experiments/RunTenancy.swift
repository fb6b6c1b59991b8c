import SimKernel

/// Tenant scope for the experiments routes that name a run (`run` in the body): attempts, metric
/// points and series, summaries, parameters, tags, artifacts (`runRoutes`, an explicit
/// list: a route is guarded for what it is, not for a field a caller adds). A caller acting in a
/// tenant reaches only its tenant's runs; another tenant's run is answered 404 as a missing one is
/// (so ids cannot be probed: a missing run is 404 for such a caller on every route, even one that
/// would answer an empty result), and the route's handler never runs. Callers without a tenant
/// (a platform service acting as itself, `svc:<name>`) reach every run, as before tenants. The routes that scope
/// in their own SQL (`scopedByHandler`: create, view, finish, fork, deletion, filter, and the routes keyed by
/// experiment name: compare, list, search) are left to it, so the check costs no second read there.
enum RunTenancy {
    /// Routes whose handler scopes by tenant itself.
    static let scopedByHandler = ["POST experiments/runs", "GET experiments/runs", "POST experiments/runs/finish", "POST experiments/runs/fork",
                                  "DELETE experiments/runs", "GET experiments/runs/filter", "GET experiments/compare", "GET experiments/runs/list",
                                  "GET experiments/runs/search"]
    /// Routes whose body names a run and whose handler does not scope: the guard goes in front.
    static let runRoutes = ["POST experiments/runs/attempt", "POST experiments/metrics", "GET experiments/metrics", "GET experiments/metrics/summary",
                            "POST experiments/params", "GET experiments/params", "POST experiments/tags",
                            "POST experiments/artifacts/part", "POST experiments/artifacts/commit", "GET experiments/artifacts"]
    /// Routes of no run and no tenant: dataset versions are content-addressed and shared.
    static let shared = ["PUT experiments/datasets", "GET experiments/datasets"]

    /// `routes` with the check in front of each of `runRoutes`.
    static func guarding(_ routes: [Route]) -> [Route] {
        routes.map { route in runRoutes.contains("\(route.method) \(route.path)") ? route.guarded(by: check) : route }
    }

    /// Nil when the caller may reach the run its body names (or names none, or acts in no tenant).
    static func check(_ runtime: ServiceRuntime, _ http: HTTPRequest, _ info: RequestInfo) async -> HTTPResponse? {
        guard let tenant = info.tenant, let text = http.body["run"], let run = Int64(text) else { return nil }
        guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT tenant FROM runs WHERE id = ?", [.integer(run)])]) else {
            return .error(503, "cannot read run \(run)")
        }
        guard let owner = rows[0].rows.first?.first?.text else { return .error(404, "no run \(run)") }  // as another tenant's: no probing
        guard owner != tenant else { return nil }
        let refusal = await SecurityEvents.refuseOtherTenants(runtime, info, "run", detail: "\(http.method) \(http.path) run \(run)", missing: "no run \(run)",
                                                              unavailable: "cannot read run \(run)")
        return .error(refusal.status, refusal.message)
    }
}

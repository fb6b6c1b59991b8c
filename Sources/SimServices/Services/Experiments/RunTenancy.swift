import SimKernel

/// Tenant scope for the experiments routes that name a run (`run` in the body): attempts, metric
/// points and series, summaries, parameters, tags, artifacts, deletion. A caller acting in a
/// tenant reaches only its tenant's runs; another tenant's run is answered 404 as a missing one is
/// (so ids cannot be probed: a missing run is 404 for such a caller on every route, even one that
/// would answer an empty result), and the route's handler never runs. Callers without a tenant (the
/// platform's own jobs, anonymous) reach every run, as before tenants. The routes that scope in
/// their own SQL (create, view, finish, fork, filter) are left to it, so the check costs no second
/// read there; the routes keyed by experiment name (compare, list, search) are not scoped yet.
enum RunTenancy {
    /// Routes whose handler scopes by tenant itself.
    static let scopedByHandler = ["POST experiments/runs", "GET experiments/runs", "POST experiments/runs/finish",
                                  "POST experiments/runs/fork", "GET experiments/runs/filter"]

    /// `routes` with the check in front of each that names a run and does not scope itself.
    static func guarding(_ routes: [Route]) -> [Route] {
        routes.map { route in scopedByHandler.contains("\(route.method) \(route.path)") ? route : route.guarded(by: check) }
    }

    /// Nil when the caller may reach the run its body names (or names none, or acts in no tenant).
    static func check(_ runtime: ServiceRuntime, _ http: HTTPRequest, _ info: RequestInfo) async -> HTTPResponse? {
        guard let tenant = info.tenant, let text = http.body["run"], let run = Int64(text) else { return nil }
        guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT tenant FROM runs WHERE id = ?", [.integer(run)])]) else {
            return .error(503, "cannot read run \(run)")
        }
        guard let owner = rows[0].rows.first?.first?.text else { return .error(404, "no run \(run)") }  // as another tenant's: no probing
        guard owner != tenant else { return nil }
        let refusal = await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "run of another tenant",
                                                  detail: "\(http.method) \(http.path) run \(run)", status: 404)
        // The same words as for a missing run, unless the refusal could not be logged (503).
        return refusal.status == 404 ? .error(404, "no run \(run)") : .error(refusal.status, refusal.message)
    }
}

import SimKernel

/// A pipeline run's life: its tasks' states in experiments_db (`pending`, `dispatched`,
/// `succeeded`), dispatch of every task whose upstream tasks all succeeded, idempotent reports,
/// and the sweep that resumes runs after a crash (everything it needs is in the database).
enum PipelineRuns {
    /// Starts a run of `tenant`'s DAG `dag` (another tenant's DAG of that name is not looked at).
    static func start(_ runtime: ServiceRuntime, dag: String, tenant: String) async throws(ServiceError) -> PipelineService.RunStatus {
        guard case .success(let found) = await runtime.transaction([SQLStatement("SELECT edges FROM dags WHERE tenant = ? AND name = ?", [.text(tenant), .text(dag)])]) else {
            throw .unavailable("cannot read the DAG")
        }
        guard let edges = found[0].rows.first?[0].text else { throw ServiceError(404, "no DAG named \(dag)") }
        let list = edges.splitBytes(",").map(String.init)
        guard case .success(let graph) = DependencyGraph.parse(list) else { throw .internalError("stored DAG \(dag) is unreadable") }
        let now = runtime.context.localTime
        let insertTasks = graph.nodes.map { SQLStatement("INSERT INTO pipeline_tasks(run, task, state, attempts) VALUES ((SELECT MAX(id) FROM pipeline_runs), ?, 'pending', 0)", [.text($0)]) }
        guard case .success(let created) = await runtime.transaction([
            SQLStatement("INSERT INTO pipeline_runs(dag, edges, status, started_at, tenant) VALUES (?, ?, 'running', ?, ?) RETURNING id", [.text(dag), .text(edges), .integer(now), .text(tenant)]),
        ] + insertTasks), let run = created[0].rows.first?[0].integer else {
            throw .unavailable("cannot store the run")
        }
        let observations = runtime.context.simulation.features
        observations.runs[run] = (graph.edgeList, runtime.context.simulation.now, nil)
        observations.revision &+= 1
        return await advance(runtime, run: run, graph: graph)
    }

    /// A caller of another tenant than the run's is answered as for a missing run (404) and
    /// logged; a platform service acting as itself (the workers' reports) reaches every run.
    static func requireTenant(_ runtime: ServiceRuntime, _ info: RequestInfo, run: Int64, owner: String?, action: String) async throws(ServiceError) {
        guard let owner else { throw ServiceError(404, "no run \(run)") }
        guard let tenant = info.tenant, tenant != owner else { return }
        throw await SecurityEvents.refuseOtherTenants(runtime, info, "pipeline run", detail: "\(action) run \(run)", missing: "no run \(run)", unavailable: "cannot read the run")
    }

    static func status(_ runtime: ServiceRuntime, run: Int64, caller info: RequestInfo) async throws(ServiceError) -> PipelineService.RunStatus {
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT status, tenant FROM pipeline_runs WHERE id = ?", [.integer(run)]),
            SQLStatement("SELECT task FROM pipeline_tasks WHERE run = ? AND state = 'succeeded' ORDER BY task", [.integer(run)]),
        ]) else { throw .unavailable("cannot read the run") }
        try await requireTenant(runtime, info, run: run, owner: rows[0].rows.first?[1].text, action: "status of")
        guard let status = rows[0].rows.first?[0].text else { throw ServiceError(404, "no run \(run)") }
        return PipelineService.RunStatus(run: run, status: status, succeeded: rows[1].rows.compactMap { $0[0].text })
    }

    /// A worker was refused `task`'s work for good (the feature store has no such view for the
    /// run's tenant): the task and its run fail, once, with the reason; the sweep leaves a failed
    /// run alone (it used to send the task again every few seconds for as long as it ran).
    static func failed(_ runtime: ServiceRuntime, run: Int64, task: String, reason: String, caller info: RequestInfo) async throws(ServiceError) -> PipelineService.RunStatus {
        let context = runtime.context
        guard case .success(let owner) = await runtime.transaction([SQLStatement("SELECT tenant FROM pipeline_runs WHERE id = ?", [.integer(run)])]) else {
            throw .unavailable("cannot read the run")
        }
        try await requireTenant(runtime, info, run: run, owner: owner[0].rows.first?[0].text, action: "report \(task) failed of")
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("UPDATE pipeline_tasks SET state = 'failed' WHERE run = ? AND task = ? AND state = 'dispatched'", [.integer(run), .text(task)]),
            SQLStatement("UPDATE pipeline_runs SET status = 'failed', finished_at = ?, failure = ? WHERE id = ? AND status = 'running' AND changes() = 1",
                         [.integer(context.localTime), .text("\(task): \(reason)"), .integer(run)]),
        ]) else { throw .unavailable("cannot record the failure") }
        let answer = try await status(runtime, run: run, caller: info)
        // Read as failed, whether this report failed it or an earlier one whose answer was lost
        // (the worker's retry finds the task no longer dispatched and changes nothing).
        if answer.status == "failed" {
            let observations = context.simulation.features
            if observations.runs[run]?.finishedAt == nil { observations.runs[run]?.finishedAt = context.simulation.now; observations.revision &+= 1 }
        }
        return answer
    }

    /// A worker finished `task`: marked succeeded once (a repeated report changes nothing), then
    /// the tasks it freed are dispatched.
    static func done(_ runtime: ServiceRuntime, run: Int64, task: String, caller info: RequestInfo) async throws(ServiceError) -> PipelineService.RunStatus {
        if info.tenant != nil {
            // A tenant's caller reports only its own runs' tasks (read first: nothing is marked
            // for a caller of another tenant).
            guard case .success(let owner) = await runtime.transaction([SQLStatement("SELECT tenant FROM pipeline_runs WHERE id = ?", [.integer(run)])]) else {
                throw .unavailable("cannot read the run")
            }
            try await requireTenant(runtime, info, run: run, owner: owner[0].rows.first?[0].text, action: "report \(task) of")
        }
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("UPDATE pipeline_tasks SET state = 'succeeded' WHERE run = ? AND task = ? AND state = 'dispatched'", [.integer(run), .text(task)]),
            SQLStatement("SELECT edges FROM pipeline_runs WHERE id = ?", [.integer(run)]),
        ]) else { throw .unavailable("cannot record the task") }
        guard let edges = rows[1].rows.first?[0].text, case .success(let graph) = DependencyGraph.parse(edges.splitBytes(",").map(String.init)) else {
            throw ServiceError(404, "no run \(run)")
        }
        if rows[0].changes == 1 {
            let observations = runtime.context.simulation.features
            observations.taskSucceeded["\(run)/\(task)"] = runtime.context.simulation.now
            observations.revision &+= 1
        }
        return await advance(runtime, run: run, graph: graph)
    }

    /// Dispatches every ready task of `run` (its upstream all succeeded, itself still pending) and
    /// re-sends those dispatched longer ago than `redispatchAfter`; marks the run succeeded when
    /// every task is.
    @discardableResult
    static func advance(_ runtime: ServiceRuntime, run: Int64, graph: DependencyGraph) async -> PipelineService.RunStatus {
        let context = runtime.context
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT task, state, dispatched_at, attempts FROM pipeline_tasks WHERE run = ? ORDER BY task", [.integer(run)]),
            SQLStatement("SELECT tenant, status FROM pipeline_runs WHERE id = ?", [.integer(run)]),
        ]) else {
            return PipelineService.RunStatus(run: run, status: "running", succeeded: [])
        }
        // A failed run dispatches nothing more (a late report of another task changes nothing).
        if rows[1].rows.first?[1].text == "failed" {
            return PipelineService.RunStatus(run: run, status: "failed", succeeded: rows[0].rows.filter { $0[1].text == "succeeded" }.compactMap { $0[0].text })
        }
        // The tenant the run's tasks act for (its DAG's), carried to the workers with each task.
        let tenant = rows[1].rows.first?[0].text ?? "t1"
        var succeeded: Set<String> = [], dispatched: Set<String> = [], overdue: [String] = []
        for row in rows[0].rows {
            guard let task = row[0].text else { continue }
            switch row[1].text {
            case "succeeded":
                succeeded.insert(task)
                // A success committed while its report's answer was lost (or before a crash) is
                // seen here first: the checks learn of it before anything downstream is sent.
                let observations = context.simulation.features
                if observations.taskSucceeded["\(run)/\(task)"] == nil {
                    observations.taskSucceeded["\(run)/\(task)"] = context.simulation.now
                    observations.revision &+= 1
                }
            case "dispatched":
                dispatched.insert(task)
                // Overdue after 3 s, doubling with each send (capped at 30 s): a slow worker is not
                // buried under copies of the tasks it is still working on.
                let wait = Swift.min(30 * Nanos.second, PipelineService.redispatchAfter << Swift.min(4, Swift.max(0, (row[3].integer ?? 1) - 1)))
                if let at = row[2].integer, context.localTime - at >= wait { overdue.append(task) }
            default: break
            }
        }
        if succeeded.count == graph.nodes.count {
            _ = await runtime.transaction([SQLStatement("UPDATE pipeline_runs SET status = 'succeeded', finished_at = ? WHERE id = ? AND status = 'running'", [.integer(context.localTime), .integer(run)])])
            let observations = context.simulation.features
            if observations.runs[run]?.finishedAt == nil { observations.runs[run]?.finishedAt = context.simulation.now; observations.revision &+= 1 }
            return PipelineService.RunStatus(run: run, status: "succeeded", succeeded: succeeded.sorted())
        }
        for task in graph.ready(succeeded: succeeded, started: dispatched) + overdue {
            let from = overdue.contains(task) ? "dispatched" : "pending"
            guard case .success(let marked) = await runtime.transaction([SQLStatement(
                "UPDATE pipeline_tasks SET state = 'dispatched', attempts = attempts + 1, dispatched_at = ? WHERE run = ? AND task = ? AND state = ?",
                [.integer(context.localTime), .integer(run), .text(task), .text(from)])]), marked[0].changes == 1 else { continue }
            // Marked before it is sent: a crash in between leaves it overdue, and the sweep sends it.
            _ = await runtime.kafka.produce(PipelineService.tasksTopic, key: "\(run)/\(task)", value: Array(tenant.utf8), context: context)
        }
        return PipelineService.RunStatus(run: run, status: "running", succeeded: succeeded.sorted())
    }

    /// At start-up: the runs the database holds succeeded. A run whose success committed just
    /// before a crash (the answer never heard) is finished, and the checks learn it here, as the
    /// sweep only looks at runs still running.
    static func learnFinished(_ runtime: ServiceRuntime) async {
        while true {
            if case .success(let rows) = await runtime.transaction([SQLStatement("SELECT id FROM pipeline_runs WHERE status = 'succeeded' ORDER BY id")]) {
                let observations = runtime.context.simulation.features
                for row in rows[0].rows {
                    guard let run = row[0].integer, observations.runs[run] != nil, observations.runs[run]?.finishedAt == nil else { continue }
                    observations.runs[run]?.finishedAt = runtime.context.simulation.now
                    observations.revision &+= 1
                }
                return
            }
            await runtime.context.sleep(nanoseconds: Nanos.second)
        }
    }

    /// Every second: advances each running run (what a crash interrupted is taken up again).
    static func sweep(_ runtime: ServiceRuntime) async {
        while true {
            await runtime.context.sleep(nanoseconds: Nanos.second)
            guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT id, edges FROM pipeline_runs WHERE status = 'running' ORDER BY id")]) else { continue }
            for row in rows[0].rows {
                guard let run = row[0].integer, let edges = row[1].text,
                      case .success(let graph) = DependencyGraph.parse(edges.splitBytes(",").map(String.init)) else { continue }
                await advance(runtime, run: run, graph: graph)
            }
        }
    }
}

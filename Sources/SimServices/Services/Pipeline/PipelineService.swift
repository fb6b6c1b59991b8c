import SimKernel

/// Data pipelines: DAG orchestration. A DAG is accepted only if acyclic (three-colour DFS; D8's
/// path has no cycle check at all) and stored in experiments_db. A run stores one row per task;
/// a task is dispatched to the workers (Kafka `pipeline-tasks`) once every upstream task has
/// succeeded; a worker reports back (`pipeline/tasks/done`), which is idempotent; a sweep re-sends
/// tasks dispatched but not done (retries: the workers' effects are keyed by run and task), so a
/// crash of the pipeline service, a worker or a lost message delays a run and loses nothing.
///
/// At start-up it validates its own request schema, which refers to itself (a step's `next` is a
/// step); L13's validator has no visited set and walks that reference forever.
///
/// It also runs a streaming job (`StreamJob`): click events from Kafka aggregated per user and
/// event-time window, exactly once, with a watermark, allowed lateness and a dead-letter topic.
///
/// Routes: `POST pipeline/dags` (SubmitDAG -> AcceptedDAG), `POST pipeline/runs` (StartRun ->
/// RunStatus), `POST pipeline/runs/status` (RunQuery -> RunStatus), `POST pipeline/tasks/done`
/// (TaskReport -> RunStatus), `POST pipeline/tasks/failed` (TaskFailure -> RunStatus: a task
/// whose work was refused for good fails its run, which the sweep then leaves alone), and the stream's `pipeline/schemas`, `pipeline/events`,
/// `pipeline/backfill` (`StreamRoutes`). DAGs, runs, task states, schemas and the stream's counts
/// live in experiments_db.
public enum PipelineService {
    public struct SubmitDAG: Codable, Sendable, Equatable {
        public var name: String?
        /// Edges `from>to`.
        public var edges: [String]
    }
    public struct AcceptedDAG: Codable, Sendable, Equatable {
        /// The number of distinct tasks.
        public var tasks: Int
    }
    public struct StartRun: Codable, Sendable, Equatable {
        public var dag: String
    }
    public struct RunQuery: Codable, Sendable, Equatable {
        public var run: Int64
    }
    public struct TaskReport: Codable, Sendable, Equatable {
        public var run: Int64
        public var task: String
    }
    public struct TaskFailure: Codable, Sendable, Equatable {
        public var run: Int64
        public var task: String
        /// Why the task can never succeed (the answer that refused its work).
        public var reason: String
    }
    public struct RunStatus: Codable, Sendable, Equatable {
        public var run: Int64
        /// `running`, `succeeded` or `failed` (a task's work was refused for good).
        public var status: String
        /// Tasks that succeeded, sorted.
        public var succeeded: [String]
    }

    /// What the pipeline service keeps in memory: how many steps its start-up schema validation took.
    public actor State {
        public var schemaSteps: Int?
        func recordSchemaSteps(_ steps: Int) { schemaSteps = steps }
    }

    /// The topic tasks travel on to the workers.
    public static let tasksTopic = "pipeline-tasks"
    /// How long a dispatched task may stay unreported before the sweep sends it again.
    public static let redispatchAfter = 3 * Nanos.second

    /// Why `graph` must be refused, or nil. D8 runs no check.
    static func refusal(_ graph: DependencyGraph, defects: DefectSet) -> String? {
        if defects.contains(.D8) { return nil }
        return graph.cycle().map { "the DAG has a cycle: \($0.joined(separator: " -> "))" }
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "pipeline", routes: [
            // DAGs and runs belong to the submitter's tenant (a platform service's: t1): a tenant
            // replaces, starts and follows its own only; another tenant's run is 404, logged.
            Route("POST", "pipeline/dags", SubmitDAG.self, AcceptedDAG.self) { runtime, request, info throws(ServiceError) in
                let name = request.name ?? "dag"
                let graph: DependencyGraph
                switch DependencyGraph.parse(request.edges) {
                case .success(let parsed): graph = parsed
                case .failure(let error): throw .badRequest("edges: \(error.message)")
                }
                let refusal = refusal(graph, defects: runtime.defects)
                let observations = runtime.context.simulation.features
                observations.graphVerdicts.append(.init(at: runtime.context.simulation.now, service: "pipeline", name: name, edges: graph.edgeList, accepted: refusal == nil))
                observations.revision &+= 1
                if let refusal { throw ServiceError(422, refusal) }
                guard case .success = await runtime.transaction([SQLStatement("INSERT OR REPLACE INTO dags(tenant, name, edges) VALUES (?, ?, ?)",
                                                                              [.text(info.tenant ?? "t1"), .text(name), .text(graph.edgeList.joined(separator: ","))])]) else {
                    throw .internalError("cannot store the DAG")
                }
                return AcceptedDAG(tasks: graph.nodes.count)
            },
            Route("POST", "pipeline/runs", StartRun.self, RunStatus.self) { runtime, request, info throws(ServiceError) in
                try await PipelineRuns.start(runtime, dag: request.dag, tenant: info.tenant ?? "t1")
            },
            Route("POST", "pipeline/runs/status", RunQuery.self, RunStatus.self) { runtime, request, info throws(ServiceError) in
                try await PipelineRuns.status(runtime, run: request.run, caller: info)
            },
            Route("POST", "pipeline/tasks/done", TaskReport.self, RunStatus.self) { runtime, request, info throws(ServiceError) in
                try await PipelineRuns.done(runtime, run: request.run, task: request.task, caller: info)
            },
            Route("POST", "pipeline/tasks/failed", TaskFailure.self, RunStatus.self) { runtime, request, info throws(ServiceError) in
                try await PipelineRuns.failed(runtime, run: request.run, task: request.task, reason: request.reason, caller: info)
            },
        ] + StreamRoutes.routes)
        spec.database = "experiments_db"
        spec.migrations = [
            // A DAG's name is its tenant's: two tenants' DAGs of one name are two DAGs.
            "CREATE TABLE dags(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, edges TEXT NOT NULL)",
            "CREATE UNIQUE INDEX dags_name ON dags(tenant, name)",
            "CREATE TABLE pipeline_runs(id INTEGER PRIMARY KEY, dag TEXT NOT NULL, edges TEXT NOT NULL, status TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER, tenant TEXT NOT NULL, failure TEXT)",
            "CREATE TABLE pipeline_tasks(run INTEGER NOT NULL, task TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, dispatched_at INTEGER, PRIMARY KEY(run, task))",
        ] + StreamSchemas.migrations + StreamJob.migrations
        spec.topics = [tasksTopic, StreamJob.topic, StreamJob.deadLetterTopic]
        spec.makeState = { State() }
        spec.bootstrap = { runtime in
            await validateRequestSchema(runtime)
            return nil
        }
        spec.afterReady = { runtime in
            runtime.context.simulation.spawn { await StreamJob.run(runtime) }
            await PipelineRuns.learnFinished(runtime)
            await PipelineRuns.sweep(runtime)
        }
        return spec
    }

    /// The request schema: step -> next -> step (a self-reference). L13 walks it without a visited set.
    static func validateRequestSchema(_ runtime: ServiceRuntime) async {
        let schema = ["step": ["next": "step", "name": "string"]]
        var visited: Set<String> = []
        var stack = ["step"]
        var steps = 0
        while let type = stack.popLast() {
            steps += 1
            if !runtime.defects.contains(.L13) {
                guard visited.insert(type).inserted else { continue }
            } else {
                await runtime.context.sleep(nanoseconds: Nanos.millisecond)  // each step costs time, forever
                if steps % 1000 == 0 {
                    runtime.observations.update("pipeline") { $0.waitingFor = ["request schema validation (\(steps) steps into a self-referencing schema)"] }
                }
            }
            for (_, fieldType) in (schema[type] ?? [:]).sorted(by: { $0.key < $1.key }) where schema[fieldType] != nil { stack.append(fieldType) }
        }
        await runtime.state(State.self).recordSchemaSteps(steps)
    }
}

import SimKernel

/// Task workers on the full platform: at start-up they register with the scheduler (waiting for
/// it; L15 asks once and fails), join the `tasks` consumer group and process tasks at least once,
/// recording each task id once in metrics_db (idempotent effects). They also run pipeline tasks
/// (`pipeline-tasks`): a task named `materialize.<view>` asks the features service to materialize
/// that view; each task's effect is recorded once, keyed by run and task, and reported done to the
/// pipeline service (a task handed out again after a crash is run again, harmlessly). And they
/// train reproducible runs handed out on `training.runs` (`ReproducibleTrainer`).
///
/// Route: `POST workers/tasks` (EnqueueTask -> TaskDone). Stateless: tasks travel on Kafka, their
/// effects live in metrics_db.
public enum WorkersService {
    public struct EnqueueTask: Codable, Sendable, Equatable {
        public var task: String?
    }
    public struct TaskDone: Codable, Sendable, Equatable {
        public var task: String
        /// The task's offset on the `tasks` topic.
        public var offset: Int64
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "workers", routes: [
            Route("POST", "workers/tasks", EnqueueTask.self, TaskDone.self) { runtime, request, _ throws(ServiceError) in
                let context = runtime.context
                let task = request.task ?? "t"
                guard case .success(let produced) = await runtime.kafka.produce("tasks", key: task, value: Array(task.utf8), context: context) else {
                    throw .internalError("cannot enqueue")
                }
                // Wait (bounded) for the consumer loop to have processed it.
                for _ in 0 ..< 50 {
                    if case .success(let rows) = await runtime.transaction([SQLStatement("SELECT COUNT(*) FROM task_effects WHERE task = ?", [.text(task)])]),
                       rows[0].rows.first?.first?.integer == 1 {
                        return TaskDone(task: task, offset: Int64(produced.offset))
                    }
                    await context.sleep(nanoseconds: 50 * Nanos.millisecond)
                }
                throw ServiceError(504, "task \(task) not processed in time")
            },
        ])
        spec.database = "metrics_db"
        spec.configuration.brokerURL = defects.contains(.L10) ? "amqp://kafka:9092" : "kafka://kafka:9092"  // L10: the wrong protocol
        spec.migrations = ["CREATE TABLE task_effects(task TEXT PRIMARY KEY, processed_at INTEGER NOT NULL)"]
        spec.topics = ["tasks"]
        spec.bootstrap = { runtime in
            let context = runtime.context
            if runtime.defects.contains(.L15) {
                // L15 asks once; without the scheduler it never registers, and never consumes.
                guard case .success(let list) = await runtime.consul.healthy("scheduler", context: context), !list.isEmpty else {
                    context.record(.serviceStartupFailed, payload: 15, "workers: registration skipped: the scheduler is not up")
                    return nil
                }
            } else {
                await runtime.waitUntil("scheduler") { ((try? await runtime.consul.healthy("scheduler", context: context).get()) ?? []).isEmpty == false }
            }
            context.simulation.spawn { await consume(runtime) }
            context.simulation.spawn { await consumePipelineTasks(runtime) }
            context.simulation.spawn { await ReproducibleTrainer.consume(runtime) }
            return nil
        }
        spec.createsTopics = !defects.contains(.L4)  // L4: left to auto-creation, which is off
        return spec
    }

    /// The consumer loop: each task applied once (its id is the key of its effect row).
    static func consume(_ runtime: ServiceRuntime) async {
        await runtime.consume(group: "workers", topic: "tasks") { record in
            _ = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO task_effects VALUES (?, ?)", [.text(record.key), .integer(runtime.context.trueTime)])])
        }
    }

    /// Pipeline tasks: run the task's action, record its effect once, report it done. Up to
    /// `poolSize` tasks run at once (a worker pool); a copy of a task already running is skipped.
    /// A task cut off by a crash is sent again by the pipeline's sweep.
    static func consumePipelineTasks(_ runtime: ServiceRuntime) async {
        let pool = TaskPool()
        await runtime.consume(group: "pipeline-workers", topic: PipelineService.tasksTopic) { record in
            let parts = record.key.splitBytes("/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let run = Int64(parts[0]) else { return }
            // The record's value: the tenant the run's tasks act for.
            let task = parts[1], tenant = String(decoding: record.value, as: UTF8.self), context = runtime.context
            while pool.running.count >= poolSize { await context.sleep(nanoseconds: 5 * Nanos.millisecond) }
            guard pool.running.insert(record.key).inserted else { return }
            context.simulation.spawn {
                await runPipelineTask(runtime, key: record.key, run: run, task: task, tenant: tenant)
                pool.running.remove(record.key)
            }
        }
    }

    static let poolSize = 4

    /// The keys of the pipeline tasks running in this process.
    final class TaskPool: @unchecked Sendable {  // confined to its simulation's thread
        var running: Set<String> = []
    }

    static func runPipelineTask(_ runtime: ServiceRuntime, key: String, run: Int64, task: String, tenant: String) async {
        let context = runtime.context
        let observations = context.simulation.features
        observations.taskStarts.append((context.simulation.now, run, task))
        observations.revision &+= 1
        // A task sent again whose effect is already recorded is only reported again.
        if case .success(let done) = await runtime.transaction([SQLStatement("SELECT COUNT(*) FROM task_effects WHERE task = ?", [.text("pipeline:\(key)")])]),
           done[0].rows.first?.first?.integer == 1 {
            _ = await runtime.callThroughGateway(HTTPRequest("POST", "pipeline/tasks/done", body: ["run": "\(run)", "task": task]), attempts: 3)
            return
        }
        if task.hasPrefix("materialize.") {
            let view = String(task.dropFirst("materialize.".count))
            // One try: a failed task is sent again by the pipeline's sweep (retrying here too
            // would pile materializations onto a slow feature store).
            // For the run's tenant: the feature store materializes only that tenant's views.
            guard let answer = await runtime.askThroughGateway(HTTPRequest("POST", "features/materialize", body: ["view": view, "tenant": tenant]), attempts: 1, accept: { _ in true }) else { return }
            if [400, 403, 404, 422].contains(answer.status) {
                // No such view for the tenant (or the run may not use it): sending the task again
                // cannot change that. The run fails, with the reason, and is not swept again.
                _ = await runtime.callThroughGateway(HTTPRequest("POST", "pipeline/tasks/failed", body: ["run": "\(run)", "task": task, "reason": "\(answer.status) \(answer.body["error"] ?? "")"]), attempts: 3)
                return
            }
            guard (200 ..< 300).contains(answer.status) else { return }
        }
        guard case .success = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO task_effects VALUES (?, ?)", [.text("pipeline:\(key)"), .integer(context.trueTime)])]) else { return }
        _ = await runtime.callThroughGateway(HTTPRequest("POST", "pipeline/tasks/done", body: ["run": "\(run)", "task": task]), attempts: 3)
    }
}

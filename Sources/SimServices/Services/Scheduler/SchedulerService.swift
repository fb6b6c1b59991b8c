import SimKernel

/// Places jobs on workers under the job lock, and sweeps worker health once a second: job lock
/// first, then each worker's lock while it pings that worker. Lock order everywhere: job, then
/// worker (defect F10 breaks it on the worker's side).
public enum SchedulerService {
    public static func run(configuration: TrainingPlatformConfiguration, workers: [Address], context: ProcessContext) async {
        let inbox = context.mailbox("scheduler")
        var placed = false
        context.simulation.spawn {
            while true {
                await context.sleep(nanoseconds: Nanos.second)
                if placed { await sweep(configuration: configuration, workers: workers, context: context) }
            }
        }
        while true {
            let envelope = await inbox.receive()
            guard case .place(let job) = envelope.payload as? TrainingMessage else { continue }
            let owner = "\(context.node.name)/placer"
            let jobGrant = await context.acquireUntilGranted("job/\(job.name)", owner: owner)
            for (index, worker) in workers.enumerated() {
                let grant = await context.acquireUntilGranted("worker/\(index)", owner: owner)
                _ = await context.callUntilAnswered(worker, .start(job))
                context.simulation.locks.release(grant)
            }
            context.simulation.locks.release(jobGrant)
            placed = true
            context.reply(to: envelope, TrainingMessage.ok)
        }
    }

    static func sweep(configuration: TrainingPlatformConfiguration, workers: [Address], context: ProcessContext) async {
        let owner = "\(context.node.name)/sweep"
        let jobGrant = await context.acquireUntilGranted("job/\(configuration.job.name)", owner: owner)
        for index in workers.indices {
            let grant = await context.acquireUntilGranted("worker/\(index)", owner: owner)
            let control = Address(node: workers[index].node, service: "control")
            let alive = await context.call(control, TrainingMessage.ping, timeout: 200 * Nanos.millisecond)
            if case .failure = alive { context.record(.schedulerMissedPing, payload: UInt64(index), "worker-\(index)") }
            context.simulation.locks.release(grant)
        }
        context.simulation.locks.release(jobGrant)
    }
}

extension TraceKind {
    public static let schedulerMissedPing = TraceKind("scheduler.missed_ping")
}

import SimKernel

/// Replica autoscaling of inference on request metrics, run by the scheduler's leader. Every
/// inference replica publishes, each second, the predictions it answered in the last second to
/// Redis (`metrics:inference:<instance>` = `<sequence> <count> <time ns>`). Every two seconds the
/// autoscaler reads each passing instance's latest sample, drops those older than the window
/// (three seconds: a replica that stopped publishing is not "idle"), and sets the replicas the
/// gateway routes inference traffic to (`autoscale:inference`) to ceil(total rate / target),
/// between 1 and the passing instances; with no fresh sample it holds the last decision.
///
/// B10 keeps the samples it read the first time for ten seconds ("to spare Redis") and decides on
/// them regardless of their age: it scales on metrics older than their window.
enum Autoscaler {
    static let window = 3 * Nanos.second
    static let metricsKey = "autoscale:inference"

    /// A replica's published sample.
    struct Sample: Sendable {
        var instance: String
        var sequence: Int
        var count: Int
        var time: Int64
        init?(instance: String, text: String) {
            let parts = text.splitBytes(" ")
            guard parts.count == 3, let sequence = Int(parts[0]), let count = Int(parts[1]), let time = Int64(parts[2]) else { return nil }
            self.instance = instance
            self.sequence = sequence
            self.count = count
            self.time = time
        }
    }

    /// The desired replicas for samples summing to `total` predictions a second.
    static func desired(total: Int, target: Int, instances: Int) -> Int {
        Swift.min(Swift.max(1, (total + target - 1) / Swift.max(1, target)), Swift.max(1, instances))
    }

    /// The leader's loop (started once per process).
    static func run(_ runtime: ServiceRuntime, isLeader: @escaping @Sendable () async -> Bool) async {
        let context = runtime.context, target = runtime.directory.serving.autoscaleTargetPerReplica
        guard target > 0 else { return }
        var cached: (at: Int64, samples: [Sample])?
        while true {
            await context.sleep(nanoseconds: 2 * Nanos.second)
            guard await isLeader(), case .success(let instances) = await runtime.consul.healthy("inference", context: context), !instances.isEmpty else { continue }
            let now = context.simulation.now
            var samples: [Sample]
            if runtime.defects.contains(.B10), let kept = cached, now - kept.at < 10 * Nanos.second {
                samples = kept.samples  // B10: the copy read earlier, however old
            } else {
                samples = []
                for instance in instances.sorted(by: { $0.id < $1.id }) {
                    if case .success(.string(let text)) = await runtime.redis.run(.get("metrics:inference:\(instance.id)"), context: context),
                       let sample = Sample(instance: instance.id, text: text) {
                        samples.append(sample)
                    }
                }
                cached = (now, samples)
                if !runtime.defects.contains(.B10) { samples = samples.filter { now - $0.time <= window } }
            }
            guard !samples.isEmpty else { continue }  // nothing fresh to decide on: hold
            let replicas = desired(total: samples.reduce(0) { $0 + $1.count }, target: target, instances: instances.count)
            guard case .success = await runtime.redis.run(.set(metricsKey, "\(replicas)", onlyIfAbsent: false, expireMs: nil), context: context) else { continue }
            let serving = context.simulation.serving
            // Recorded at the time the samples were judged fresh (the Redis write comes after).
            serving.scalingDecisions.append((now, replicas, samples.map { ($0.instance, $0.sequence) }))
            serving.revision &+= 1
            context.record(.autoscaled, payload: UInt64(replicas), "inference scaled to \(replicas) on \(samples.count) sample(s)")
        }
    }

    /// An inference replica's publisher: its answered predictions each second.
    static func publish(_ runtime: ServiceRuntime, instance: String, answered: @escaping @Sendable () async -> Int) async {
        let context = runtime.context
        // Sequences run on across restarts (the epoch in the high digits): a sample names one publication.
        var sequence = Int(context.epoch) * 1_000_000, last = await answered()
        while true {
            await context.sleep(nanoseconds: Nanos.second)
            let now = context.simulation.now, total = await answered()
            sequence += 1
            if case .success = await runtime.redis.run(.set("metrics:inference:\(instance)", "\(sequence) \(total - last) \(now)", onlyIfAbsent: false, expireMs: nil), context: context) {
                context.simulation.serving.metricSamples[instance, default: []].append((sequence, now))
            }
            last = total
        }
    }
}

extension TraceKind {
    public static let autoscaled = TraceKind("scheduler.autoscale")
}

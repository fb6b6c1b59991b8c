import SimKernel

/// A small distributed-training platform on the kernel, used by the built-in demonstration until
/// the full scenario 05 lands: parameter-server shards on their own nodes, workers that lock the
/// shards they update, push real gradient updates over the network and wait for the replies.
///
/// With `invertLockOrder` (the brief's A2), odd-numbered workers take the shard locks in reverse
/// order, which deadlocks as soon as two workers interleave.
public struct ShardedTrainingDemo {
    public var shardCount = 2
    public var workerCount = 3
    public var stepsPerWorker = 20
    public var invertLockOrder = false

    public init() {}

    /// A push of one gradient value to a shard.
    struct Push: SimMessage {
        var worker: Int
        var step: Int
        var gradient: Int64
        var wireSize: Int { 24 }
        var traceDigest: UInt64 { mix64(UInt64(worker) << 32 | UInt64(step), UInt64(bitPattern: gradient)) }
        var traceSummary: String { "push w\(worker) s\(step) g\(gradient)" }
    }

    /// Builds the demonstration on `simulation` and returns a function that reports, after the
    /// run, the number of updates each shard applied.
    public func build(on simulation: Simulation) -> () -> [Int] {
        var applied = Array(repeating: 0, count: shardCount)
        var shardAddresses: [Address] = []
        for shard in 0 ..< shardCount {
            let node = simulation.addNode("ps-\(shard)")
            shardAddresses.append(Address(node: node.id, service: "shard"))
            node.addProcess("shard") { context in
                let inbox = context.mailbox("shard")
                var parameter: Int64 = 0
                while true {
                    let envelope = await inbox.receive()
                    guard let push = envelope.payload as? Push else { continue }
                    parameter &+= push.gradient
                    applied[shard] += 1
                    context.reply(to: envelope, Int(truncatingIfNeeded: parameter))
                }
            }
        }
        let steps = stepsPerWorker, invert = invertLockOrder
        for worker in 0 ..< workerCount {
            let node = simulation.addNode("worker-\(worker)")
            node.addProcess("trainer") { context in
                for step in 0 ..< steps {
                    await context.sleep(nanoseconds: context.withRandom { $0.uniform(0 ... 2 * Nanos.millisecond) })
                    var order = Array(0 ..< shardAddresses.count)
                    if invert && worker % 2 == 1 { order.reverse() }
                    var grants: [LockManager.Grant] = []
                    for shard in order {
                        guard case .success(let grant) = await context.acquire("shard-\(shard)", owner: "worker-\(worker)") else { return }
                        grants.append(grant)
                    }
                    for shard in order {
                        let gradient = context.withRandom { $0.uniform(-100 ... 100) }
                        _ = await context.call(shardAddresses[shard], Push(worker: worker, step: step, gradient: gradient), timeout: Nanos.second)
                    }
                    for grant in grants.reversed() { simulation.locks.release(grant) }
                }
            }
        }
        return { applied }
    }
}

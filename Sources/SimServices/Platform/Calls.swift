import SimKernel

extension ProcessContext {
    /// Calls `to` until it answers: each try waits `timeout`, then backs off exponentially (from
    /// 10 ms to at most 1 s) with seeded jitter. Never a fixed sleep, never gives up: faults heal
    /// in the liveness phase, and a dead process simply stops here.
    func callUntilAnswered(_ to: Address, _ message: TrainingMessage, timeout: Int64 = 2 * Nanos.second) async -> TrainingMessage {
        var backoff = 10 * Nanos.millisecond
        while true {
            if case .success(let envelope) = await call(to, message, timeout: timeout),
               let reply = envelope.payload as? TrainingMessage {
                return reply
            }
            let jitter = withRandom { $0.uniform(0 ... backoff / 2) }
            await sleep(nanoseconds: backoff + jitter)
            backoff = Swift.min(Nanos.second, backoff * 2)
        }
    }

    /// Acquires a lock, retrying after timeouts, until granted. The lock service is a remote
    /// service (Consul, Redis): each request first pays a network round trip, drawn from the
    /// network's latency, which is what lets two lockers interleave.
    func acquireUntilGranted(_ resource: String, owner: String, lease: Int64 = 5 * Nanos.second) async -> LockManager.Grant {
        while true {
            let latency = simulation.network.options.latency
            let ordering = simulation.pct?.delay(for: node.id) ?? 0
            await sleep(nanoseconds: withRandom { latency.sample(&$0) } + ordering)
            switch await acquire(resource, mode: .exclusive, owner: owner, timeout: 10 * Nanos.second, lease: lease) {
            case .success(let grant): return grant
            case .failure: await sleep(nanoseconds: withRandom { $0.uniform(Nanos.millisecond ... 50 * Nanos.millisecond) })
            }
        }
    }
}

/// The parameter indices shard `shard` of `shards` owns: a contiguous split.
public func shardRange(shard: Int, shards: Int, parameterCount: Int) -> Range<Int> {
    let base = parameterCount / shards, extra = parameterCount % shards
    let start = shard * base + Swift.min(shard, extra)
    return start ..< start + base + (shard < extra ? 1 : 0)
}

/// A one-shot latch for tasks of one process: `wait` suspends until `open` (at once if open).
final class Signal {
    private var isOpen = false
    private var waiters: [UnsafeContinuation<Void, Never>] = []

    func open() {
        guard !isOpen else { return }
        isOpen = true
        let resumed = waiters
        waiters.removeAll()
        for waiter in resumed { waiter.resume() }
    }

    func wait() async {
        if isOpen { return }
        await withUnsafeContinuation { waiters.append($0) }
    }
}

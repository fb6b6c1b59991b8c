import SimKernel

// "Your first simulation" (docs/library.md): a key-value server that logs every write to its
// disk, a client that writes and reads back, a crash of the server in the middle, dropped
// messages, and a checker that no acknowledged write is ever lost. Everything runs on SimKernel
// alone; the same seed gives the same run, bit for bit.

/// The messages. Their fingerprint digest covers their content by default (reflection).
public enum KV: SimMessage {
    case put(key: String, value: Int)
    case get(key: String)
    case ok
    case value(Int?)
}

/// What the client saw, shared with the checker (a simulation runs on one thread).
public final class Ledger: @unchecked Sendable {
    public var acknowledged: [String: Int] = [:]
    public var reads: [(key: String, value: Int?)] = []
    public init() {}
}

/// Safety: a read of a key whose write was acknowledged returns that write.
public final class LostWriteChecker: SafetyChecker {
    public let name = "lost-write"
    let ledger: Ledger
    var checked = 0
    public init(ledger: Ledger) { self.ledger = ledger }
    public func check(_ simulation: Simulation) -> String? {
        while checked < ledger.reads.count {
            let read = ledger.reads[checked]
            checked += 1
            if let written = ledger.acknowledged[read.key], read.value != written {
                return "\(read.key) was acknowledged as \(written) but reads \(read.value.map(String.init) ?? "nothing")"
            }
        }
        return nil
    }
}

/// The server: applies a write, appends it to `kv.log`, and acknowledges it once a flush made it
/// durable (the flusher fsyncs every 20 ms: group commit). `ackBeforeSync` is the bug: it
/// acknowledges at once, so a crash before the next flush loses acknowledged writes.
func server(ackBeforeSync: Bool) -> (ProcessContext) async -> Void {
    { context in
        let disk = context.node.disk
        var store: [String: Int] = [:]
        if disk.exists("kv.log"), let bytes = try? disk.readAll("kv.log") {  // recovery: replay the log
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: "=")
                if parts.count == 2, let value = Int(parts[1]) { store[String(parts[0])] = value }
            }
        } else {
            disk.create("kv.log")
            disk.syncDirectory()  // the new file's name survives a crash only once synced (as with fsync of a directory)
        }
        var waiting: [Envelope] = []  // writes appended, not yet durable
        context.simulation.spawn {
            while context.isAlive {
                await context.sleep(nanoseconds: 20 * Nanos.millisecond)
                try? disk.fsync("kv.log")
                for envelope in waiting { context.reply(to: envelope, KV.ok) }
                waiting.removeAll()
            }
        }
        let inbox = context.mailbox("kv")
        while true {
            let envelope = await inbox.receive()
            switch envelope.payload as? KV {
            case .put(let key, let value)?:
                store[key] = value
                try? disk.append("kv.log", Array("\(key)=\(value)\n".utf8))
                if ackBeforeSync { context.reply(to: envelope, KV.ok) } else { waiting.append(envelope) }
            case .get(let key)?:
                context.reply(to: envelope, KV.value(store[key]))
            default:
                continue
            }
        }
    }
}

/// Runs the store for `seed`: 40 writes (each retried until acknowledged), the server crashed at
/// 150 ms and restarted 50 ms later, 1 message in 50 dropped, then every key read back.
public func runKeyValueStore(seed: UInt64, ackBeforeSync: Bool) -> (outcome: Outcome, fingerprint: UInt64) {
    let simulation = Simulation(seed: seed, options: keyValueStoreOptions)
    installKeyValueStore(simulation, ackBeforeSync: ackBeforeSync)
    let outcome = simulation.run()
    return (outcome, simulation.trace.fingerprint)
}

/// The run's options: a 60 s horizon.
public let keyValueStoreOptions: SimulationOptions = {
    var options = SimulationOptions()
    options.maxTime = 60 * Nanos.second
    return options
}()

/// Adds the store, its client, its faults and its checker to `simulation`: `writes` writes, `drops`
/// messages in 50 dropped, and `crashes` crashes of the server (the first at 150 ms, each followed
/// by a restart 50 ms later, then one every 100 ms).
public func installKeyValueStore(_ simulation: Simulation, ackBeforeSync: Bool, writes: Int = 40, drops: Int = 1, crashes: Int = 1) {
    simulation.network.options.dropProbability = Ratio(UInt64(drops), 50)
    let ledger = Ledger()
    simulation.add(checker: LostWriteChecker(ledger: ledger))
    let kvNode = simulation.addNode("kv"), clientNode = simulation.addNode("client")
    kvNode.addProcess("kv", server(ackBeforeSync: ackBeforeSync))
    let kv = Address(node: kvNode.id, service: "kv")
    clientNode.addProcess("client") { context in
        func ask(_ request: KV) async -> KV {
            while true {  // a lost request or answer is asked again
                if case .success(let envelope) = await context.call(kv, request, timeout: 100 * Nanos.millisecond), let answer = envelope.payload as? KV { return answer }
            }
        }
        for index in 0 ..< writes {
            let key = "k\(index)", value = Int(context.withRandom { $0.uniform(Int64(1) ... 1_000_000) })
            if case .ok = await ask(.put(key: key, value: value)) { ledger.acknowledged[key] = value }
            await context.sleep(nanoseconds: 5 * Nanos.millisecond)
        }
        for index in 0 ..< writes {
            if case .value(let value) = await ask(.get(key: "k\(index)")) { ledger.reads.append(("k\(index)", value)) }
        }
        context.simulation.finish()
    }
    for crash in 0 ..< crashes {
        let at = Int64(150 + 100 * crash) * Nanos.millisecond
        simulation.schedule(at: at) { kvNode.crash() }
        simulation.schedule(at: at + 50 * Nanos.millisecond) { kvNode.restart() }
    }
}

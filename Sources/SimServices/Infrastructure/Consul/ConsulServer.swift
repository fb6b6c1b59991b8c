import SimKernel

/// A Consul agent and server in one: the service catalog with TTL and probe health checks,
/// sessions with lock-delay, and a KV store; its state is persisted before every answer that
/// changed it.
public final class ConsulServer {
    let context: ProcessContext
    var instances: [String: ServiceInstance] = [:]
    var critical: Set<String> = []
    var lastPass: [String: Int64] = [:]
    struct Session { var checks: [String]; var ttl: Int64?; var lockDelay: Int64; var renewedAt: Int64 }
    var sessions: [String: Session] = [:]
    var nextSession = 0
    var kv: [String: (value: String, index: UInt64, session: String?)] = [:]
    var lockDelayUntil: [String: Int64] = [:]
    var modifyIndex: UInt64 = 0
    /// Set by every change of the durable state; the change is persisted before the answer.
    var changed = false

    /// Where each health transition is recorded for the routing check.
    let observations: PlatformObservations

    init(context: ProcessContext) {
        self.context = context
        observations = context.simulation.platformObservations
    }

    /// Writes the durable state as checksummed records (`RecordLog`, fields joined by `Fields`) to
    /// a temp file, fsyncs it and renames it into place. Written by hand: JSON encoding of the
    /// snapshot was a tenth of a platform run's time.
    func persist() {
        func text(_ value: String) -> [UInt8] { Array(value.utf8) }
        func number(_ value: Int64) -> [UInt8] { Array(String(value).utf8) }
        var bytes: [UInt8] = []
        for (id, instance) in instances.sorted(by: { $0.key < $1.key }) {
            var check: [[UInt8]] = [text("none"), number(0), number(0)]
            switch instance.check {
            case .ttl(let ttl): check = [text("ttl"), number(ttl), number(0)]
            case .probe(let interval, let timeout): check = [text("probe"), number(interval), number(timeout)]
            case nil: break
            }
            bytes += RecordLog.encode(Fields.join([text("I"), text(id), text(instance.service), number(Int64(instance.address.node.index)), text(instance.address.service)] + check))
        }
        for id in critical.sorted() { bytes += RecordLog.encode(Fields.join([text("C"), text(id)])) }
        for (id, session) in sessions.sorted(by: { $0.key < $1.key }) {
            bytes += RecordLog.encode(Fields.join([text("S"), text(id), number(session.ttl ?? -1), number(session.lockDelay)] + session.checks.map(text)))
        }
        for (key, entry) in kv.sorted(by: { $0.key < $1.key }) {
            bytes += RecordLog.encode(Fields.join([text("K"), text(key), text(entry.value), number(Int64(bitPattern: entry.index)), text(entry.session ?? "")]))
        }
        bytes += RecordLog.encode(Fields.join([text("N"), number(Int64(nextSession)), number(Int64(bitPattern: modifyIndex))]))
        try? context.disk.writeAll("consul.state.tmp", bytes)
        try? context.disk.fsync("consul.state.tmp")
        try? context.disk.rename("consul.state.tmp", to: "consul.state")
        context.disk.syncDirectory()
    }

    func restore() {
        guard let bytes = try? context.disk.readAll("consul.state") else { return }
        let now = context.simulation.now
        for record in RecordLog.decodeAll(bytes) {
            let fields = Fields.split(record).map { String(decoding: $0, as: UTF8.self) }
            func number(_ index: Int) -> Int64 { index < fields.count ? Int64(fields[index]) ?? 0 : 0 }
            switch fields.first {
            case "I" where fields.count == 8:
                let check: ConsulCheck? = fields[5] == "ttl" ? .ttl(number(6)) : fields[5] == "probe" ? .probe(interval: number(6), timeout: number(7)) : nil
                instances[fields[1]] = ServiceInstance(id: fields[1], service: fields[2], address: Address(node: NodeID(Int(number(3))), service: fields[4]), check: check)
                lastPass[fields[1]] = now
            case "C" where fields.count == 2:
                critical.insert(fields[1])
            case "S" where fields.count >= 4:
                sessions[fields[1]] = Session(checks: Array(fields.dropFirst(4)), ttl: number(2) < 0 ? nil : number(2), lockDelay: number(3), renewedAt: now)
            case "K" where fields.count == 5:
                kv[fields[1]] = (fields[2], UInt64(bitPattern: number(3)), fields[4].isEmpty ? nil : fields[4])
            case "N" where fields.count == 3:
                nextSession = Int(number(1))
                modifyIndex = UInt64(bitPattern: number(2))
            default:
                continue
            }
        }
        for (id, instance) in instances.sorted(by: { $0.key < $1.key }) {
            if case .probe(let interval, let timeout) = instance.check { startProbe(id, interval: interval, timeout: timeout) }
        }
        // What the restarted server holds is the truth now (a change it had not persisted is gone).
        for id in observations.consulHealth.keys.sorted() { observations.consul(id, critical: critical.contains(id), at: now) }
    }

    public static func run(context: ProcessContext) async {
        let server = ConsulServer(context: context)
        server.restore()
        let inbox = context.mailbox("consul")
        context.simulation.spawn {
            while true {  // TTL checks and session TTLs, every 100 ms
                await context.sleep(nanoseconds: 100 * Nanos.millisecond)
                server.sweep()
            }
        }
        while true {
            let envelope = await inbox.receive()
            guard case .request(let request) = envelope.payload as? ConsulMessage else { continue }
            let reply = server.handle(request)
            if server.changed {
                server.persist()
                server.changed = false
            }
            context.reply(to: envelope, ConsulMessage.reply(reply))
        }
    }

    func handle(_ request: ConsulRequest) -> ConsulReply {
        let now = context.simulation.now
        switch request {
        case .register(let instance):
            guard !instance.id.isEmpty, !instance.service.isEmpty else { return .error(.invalidRegistration("empty id or service name")) }
            instances[instance.id] = instance
            changed = true
            lastPass[instance.id] = now
            critical.remove(instance.id)
            observations.consul(instance.id, critical: false, at: now)
            if case .probe(let interval, let timeout) = instance.check { startProbe(instance.id, interval: interval, timeout: timeout) }
            context.record(.consulRegister, payload: stableHash(instance.id), "\(instance.service)/\(instance.id) at \(instance.address)")
            return .ok
        case .deregister(let id):
            instances[id] = nil
            changed = true
            markCritical(id, reason: "deregistered")
            return .ok
        case .pass(let id):
            guard instances[id] != nil else { return .error(.unknownCheck(id)) }
            lastPass[id] = now
            if critical.remove(id) != nil {
                changed = true
                observations.consul(id, critical: false, at: now)
                context.record(.consulCheck, payload: stableHash(id), "\(id) passing")
            }
            return .ok
        case .health(let service):
            return .instances(instances.values.filter { $0.service == service && !critical.contains($0.id) }.sorted { $0.id < $1.id })
        case .sessionCreate(let checks, let ttl, let lockDelay):
            for check in checks where instances[check] == nil || critical.contains(check) { return .error(.unknownCheck(check)) }
            nextSession += 1
            let id = "session-\(nextSession)"
            sessions[id] = Session(checks: checks, ttl: ttl, lockDelay: lockDelay, renewedAt: now)
            changed = true
            return .session(id)
        case .sessionRenew(let id):
            guard sessions[id] != nil else { return .error(.unknownSession(id)) }
            sessions[id]!.renewedAt = now
            return .ok
        case .sessionDestroy(let id):
            invalidate(id, reason: "destroyed")
            return .ok
        case .kvGet(let key):
            let entry = kv[key]
            return .value(entry?.value, modifyIndex: entry?.index ?? 0, session: entry?.session)
        case .kvPut(let key, let value, let cas):
            if let cas, (kv[key]?.index ?? 0) != cas { return .bool(false) }
            changed = true
            modifyIndex += 1
            kv[key] = (value, modifyIndex, kv[key]?.session)
            return .bool(true)
        case .kvAcquire(let key, let value, let session):
            guard sessions[session] != nil else { return .error(.unknownSession(session)) }
            if let holder = kv[key]?.session, holder != session { return .bool(false) }
            if let until = lockDelayUntil[key], now < until { return .bool(false) }
            changed = true
            modifyIndex += 1
            kv[key] = (value, modifyIndex, session)
            return .bool(true)
        case .kvRelease(let key, let session):
            guard let entry = kv[key], entry.session == session else { return .bool(false) }
            changed = true
            modifyIndex += 1
            kv[key] = (entry.value, modifyIndex, nil)
            return .bool(true)
        }
    }

    func markCritical(_ id: String, reason: String) {
        guard critical.insert(id).inserted else { return }
        changed = true
        observations.consul(id, critical: true, at: context.simulation.now)
        context.record(.consulCheck, payload: stableHash(id), "\(id) critical: \(reason)")
        for (session, state) in sessions.sorted(by: { $0.key < $1.key }) where state.checks.contains(id) {
            invalidate(session, reason: "check \(id) critical")
        }
    }

    func invalidate(_ session: String, reason: String) {
        guard let state = sessions.removeValue(forKey: session) else { return }
        changed = true
        let now = context.simulation.now
        for key in kv.keys.sorted() where kv[key]?.session == session {
            modifyIndex += 1
            kv[key] = (kv[key]!.value, modifyIndex, nil)
            lockDelayUntil[key] = now + state.lockDelay
        }
        context.record(.consulSession, payload: stableHash(session), "\(session) invalidated: \(reason)")
    }

    func sweep() {
        let now = context.simulation.now
        for (id, instance) in instances.sorted(by: { $0.key < $1.key }) {
            if case .ttl(let ttl) = instance.check, now - (lastPass[id] ?? 0) > ttl { markCritical(id, reason: "TTL of \(formatNanoseconds(ttl)) missed") }
        }
        for (id, session) in sessions.sorted(by: { $0.key < $1.key }) {
            if let ttl = session.ttl, now - session.renewedAt > ttl { invalidate(id, reason: "TTL expired") }
        }
        if changed {
            persist()
            changed = false
        }
    }

    /// Probe checks: Consul pings the instance's `control` mailbox on its node.
    func startProbe(_ id: String, interval: Int64, timeout: Int64) {
        let context = self.context
        context.simulation.spawn { [weak self] in
            while let self, let instance = self.instances[id], case .probe = instance.check {
                let control = Address(node: instance.address.node, service: "control")
                if case .success = await context.call(control, ProbePing(), timeout: timeout) {
                    self.lastPass[id] = context.simulation.now
                    if self.critical.remove(id) != nil {
                        self.observations.consul(id, critical: false, at: context.simulation.now)
                        context.record(.consulCheck, payload: stableHash(id), "\(id) passing (probe)")
                    }
                } else {
                    self.markCritical(id, reason: "probe got no answer within \(formatNanoseconds(timeout))")
                }
                await context.sleep(nanoseconds: interval)
            }
        }
    }
}

/// The probe Consul sends to an instance's `control` mailbox; any reply passes.
public struct ProbePing: SimMessage {
    /// It has no content: its type is all there is to digest (and a probe is frequent).
    public var traceDigest: UInt64 { typeNameDigest(Self.self) }
}

extension TraceKind {
    public static let consulRegister = TraceKind("consul.register")
    public static let consulCheck = TraceKind("consul.check")
    public static let consulSession = TraceKind("consul.session")
}

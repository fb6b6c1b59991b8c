import SimKernel
import SimServices

/// The processes of `FeatureDriftWorkload` on the client node, and what they share.
final class FeatureDriftClient: @unchecked Sendable {  // confined to its simulation's thread
    let workload: FeatureDriftWorkload
    let simulation: Simulation
    /// The data scientist of t1 the client acts as (every request carries its token).
    let api: PlatformClient
    /// The first window's start on the client's clock, once set-up is done.
    var start: Int64?
    var secret: String?
    /// Entities of the rows sent in the last batch, per view (the joins ask for them).
    var recent: [String: [String]] = [:]
    var receiver: WebhookReceiver?
    var nextSource = 0
    /// The newest schema version of `user_profile` the client knows registered.
    var profileVersion = 1

    init(workload: FeatureDriftWorkload, simulation: Simulation, gateway: Address) {
        self.workload = workload
        self.simulation = simulation
        api = PlatformClient(gateway: gateway, user: "ml-engineer")
    }

    var window: Int64 { Int64(workload.windowMillis) * Nanos.millisecond }

    /// Sends `request` until it gets a definitive answer (2xx or 4xx other than 429), or
    /// `deadline` ns pass (nil then).
    func ask(_ context: ProcessContext, _ request: HTTPRequest, deadline: Int64 = .max) async -> HTTPResponse? {
        let giveUpAt = deadline == .max ? Int64.max : simulation.now + deadline
        var backoff = 50 * Nanos.millisecond
        while simulation.now < giveUpAt {
            if let response = await api.response(context, request), PlatformClient.isDefinitive(response) { return response }
            await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
            backoff = Swift.min(Nanos.second, backoff * 2)
        }
        return nil
    }

    /// Sleeps until the client's clock reads `instant`.
    func sleep(_ context: ProcessContext, until instant: Int64) async {
        let wait = instant - context.localTime
        if wait > 0 { await context.sleep(nanoseconds: wait) }
    }

    static func register(_ view: FeatureView) -> HTTPRequest {
        var body = ["name": view.name, "features": view.features.joined(separator: ","), "ttl_ms": "\(view.ttl / Nanos.millisecond)", "sla_ms": "\(view.sla / Nanos.millisecond)"]
        if !view.categorical.isEmpty { body["categorical"] = view.categorical.joined(separator: ",") }
        if !view.transforms.isEmpty { body["transforms"] = view.transforms.map(\.text).joined(separator: ",") }
        return HTTPRequest("POST", "features/views", body: body)
    }

    func install(on client: Node) {
        let views = [FeatureDriftWorkload.demographics, FeatureDriftWorkload.behavior]
        client.addProcess("feature-admin") { [self] context in
            for view in views { _ = await ask(context, Self.register(view)) }
            let ring = await ask(context, Self.register(FeatureDriftWorkload.ring))
            let loop = await ask(context, HTTPRequest("POST", "pipeline/dags", body: ["name": "loop", "edges": FeatureDriftWorkload.loopDAG.joined(separator: ",")]))
            let dag = FeatureDriftWorkload.materializationDAG(withRing: ring?.status == 200)
            _ = await ask(context, HTTPRequest("POST", "pipeline/dags", body: ["name": "materialize", "edges": dag.joined(separator: ",")]))
            if loop?.status == 200 { _ = await ask(context, HTTPRequest("POST", "pipeline/runs", body: ["dag": "loop"])) }
            // The click-event stream's schemas: v1, then v2 with an optional device; v3 would add a
            // required field (old events could not be read by it) and must be refused.
            _ = await ask(context, HTTPRequest("POST", "pipeline/schemas", body: ["version": "1", "fields": "value:required"]))
            _ = await ask(context, HTTPRequest("POST", "pipeline/schemas", body: ["version": "2", "fields": "value:required,device:optional"]))
            _ = await ask(context, HTTPRequest("POST", "pipeline/schemas", body: ["version": "3", "fields": "value:required,device:optional,region:required"]))
            let subscribed = await ask(context, HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://\(context.node.name)/alerts"]))
            secret = subscribed?.body["secret"]
            start = (context.localTime / window + 1) * window
            context.record(.featureWorkloadStarted, payload: UInt64(start!), "feature workload: windows of \(workload.windowMillis) ms from \(formatNanoseconds(start!))")
        }
        client.addProcess("feature-producer") { [self] context in
            while start == nil { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            let quarter = window / 4
            for k in 0 ..< workload.windows {
                let shift = workload.isShifted(k) ? Double(workload.shiftTenthsOfSD) / 10 : 0
                for view in views { simulation.features.shiftedWindows[view.name, default: [:]][Int64(k)] = view.name == FeatureDriftWorkload.demographics.name && shift > 0 }
                for batch in 0 ..< 4 {
                    let batchEnd = start! + Int64(k) * window + Int64(batch + 1) * quarter
                    await sleep(context, until: batchEnd)
                    await produce(context, rows: workload.rowsPerWindow / 4, from: batchEnd - quarter, to: batchEnd, shift: shift)
                    sendEvents(context, window: k, from: batchEnd - quarter, to: batchEnd)
                }
            }
        }
        client.addProcess("drift-scheduler") { [self] context in
            while start == nil { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            let reference = (start!, start! + Int64(workload.referenceWindows) * window)
            for k in workload.referenceWindows ..< workload.windows {
                let from = start! + Int64(k) * window
                await sleep(context, until: from + window + 400 * Nanos.millisecond)  // closed, and its last rows in
                for view in views {
                    simulation.spawn { [self] in
                        // Until done: a window is never skipped. 409 means its rows have not
                        // arrived yet (ingestion held up by a fault): ask again a second later.
                        while await ask(context, HTTPRequest("POST", "monitoring/drift/check", body: [
                            "view": view.name, "window": "\(k)", "from_ns": "\(from)", "to_ns": "\(from + window)",
                            "reference_from_ns": "\(reference.0)", "reference_to_ns": "\(reference.1)"]))?.status == 409 {
                            await context.sleep(nanoseconds: Nanos.second)
                        }
                    }
                }
            }
        }
        client.addProcess("materializer") { [self] context in
            while start == nil { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            for k in 0 ..< workload.windows {
                // A pipeline run mid-window, and an on-demand materialization of the demographics
                // a quarter later: two writers of the online store, racing while rows arrive.
                await sleep(context, until: start! + Int64(k) * window + window / 2)
                simulation.spawn { [self] in _ = await ask(context, HTTPRequest("POST", "pipeline/runs", body: ["dag": "materialize"]), deadline: 10 * Nanos.second) }
                await sleep(context, until: start! + Int64(k) * window + 3 * window / 4)
                simulation.spawn { [self] in  // one try: the next window brings another
                    _ = await api.call(context, HTTPRequest("POST", "features/materialize", body: ["view": FeatureDriftWorkload.demographics.name]), timeout: 5 * Nanos.second)
                }
                // One backfill of the stream, mid-run (after a fix, say): it must change nothing.
                if k == workload.windows / 2 { simulation.spawn { [self] in _ = await ask(context, HTTPRequest("POST", "pipeline/backfill")) } }
            }
        }
        client.addProcess("feature-reader") { [self] context in
            while start == nil { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            let end = start! + Int64(workload.windows) * window
            var tick = 0
            while context.localTime < end {
                await context.sleep(nanoseconds: window / 4)
                tick += 1
                for view in views {
                    let entities = context.withRandom { random in (0 ..< 4).map { _ in "u\(random.uniform(1 ..< workload.users + 1))" } }
                    simulation.spawn { [self] in _ = await ask(context, HTTPRequest("POST", "features/online", body: ["view": view.name, "entities": entities.joined(separator: ",")]), deadline: 2 * Nanos.second) }
                }
                // A popular user: three readers ask for the most recently active user at once.
                if let hot = recent[FeatureDriftWorkload.demographics.name]?.last {
                    for _ in 0 ..< 3 {
                        simulation.spawn { [self] in _ = await ask(context, HTTPRequest("POST", "features/online", body: ["view": FeatureDriftWorkload.behavior.name, "entities": hot]), deadline: 2 * Nanos.second) }
                    }
                }
                // Point-in-time joins of recently active users at instants up to a window back.
                guard tick % 2 == 0, let entities = recent[FeatureDriftWorkload.demographics.name], !entities.isEmpty else { continue }
                let now = context.localTime
                let asOf = context.withRandom { random in entities.prefix(4).map { _ in now - random.uniform(0 ... window) } }
                let chosen = Array(entities.prefix(4))
                simulation.spawn { [self] in
                    _ = await ask(context, HTTPRequest("POST", "features/historical", body: [
                        "view": FeatureDriftWorkload.demographics.name, "entities": chosen.joined(separator: ","), "as_of": asOf.map(String.init).joined(separator: ",")]), deadline: 2 * Nanos.second)
                }
            }
        }
        installProfile(on: client)
        client.addProcess("alerts-receiver") { [self] context in
            let mailbox = context.mailbox("alerts")
            while true {
                let envelope = await mailbox.receive()
                guard case .request(let request) = envelope.payload as? HTTPMessage else { continue }
                context.reply(to: envelope, HTTPMessage.response(receive(request, now: context.localTime)))
            }
        }
    }

    /// The click events of a quarter window: `eventsPerBatch` events with times in [from, to),
    /// schema v1 for the first quarter of the run and v2 (with a device) after; one in twenty has
    /// a value that is not a number (to be dead-lettered); some are held back and sent with the
    /// next batches: a quarter window late (within the 2 s allowed lateness) or 4 s late (beyond
    /// it: to be dead-lettered as late).
    func sendEvents(_ context: ProcessContext, window k: Int, from: Int64, to: Int64) {
        var events: [String] = []
        let version = k < workload.windows / 4 ? 1 : 2
        for _ in 0 ..< Self.eventsPerBatch {
            let (user, time, value, hold, device) = context.withRandom { random in
                ("u\(random.uniform(1 ..< workload.users + 1))", random.uniform(from ... to - 1),
                 random.uniform(0 ..< 20) == 0 ? "oops" : "\(random.uniform(1 ..< 100))", random.uniform(0 ..< 10), "d\(random.uniform(0 ..< 3))")
            }
            nextEvent += 1
            let event = StreamEvent(id: "e\(nextEvent)", user: user, eventTime: time, schemaVersion: version, fields: version == 1 ? [value] : [value, device]).text
            switch hold {
            case 0: heldEvents.append((to + window / 4, event))       // late, within the allowed lateness
            case 1 where k % 4 == 0: heldEvents.append((to + 4 * Nanos.second, event))  // beyond it
            default: events.append(event)
            }
        }
        let now = context.localTime
        events += heldEvents.filter { $0.dueAt <= now }.map(\.event)
        heldEvents.removeAll { $0.dueAt <= now }
        guard !events.isEmpty else { return }
        let body = ["events": events.joined(separator: ",")]
        simulation.spawn { [self] in _ = await ask(context, HTTPRequest("POST", "pipeline/events", body: body)) }
    }
    static let eventsPerBatch = 5
    var heldEvents: [(dueAt: Int64, event: String)] = []
    var nextEvent = 0

    /// Sends `rows` rows of each view with event times in [from, to): a share from the UTC-5
    /// producer, stamped with its local time and its offset.
    func produce(_ context: ProcessContext, rows: Int, from: Int64, to: Int64, shift: Double) async {
        var batches: [String: [String]] = [:]
        let observations = simulation.features
        for _ in 0 ..< rows {
            let (user, eventTime, remote, drawn) = context.withRandom { random in
                ("u\(random.uniform(1 ..< workload.users + 1))", random.uniform(from ... to - 1), random.uniform(0 ..< 100) < workload.remoteSharePercent,
                 FeatureDriftWorkload.draw(&random, shift: shift))
            }
            let offset: Int64 = remote ? -300 : 0
            let local = eventTime + offset * 60 * Nanos.second
            for (view, values) in [(FeatureDriftWorkload.demographics.name, drawn.demographics), (FeatureDriftWorkload.behavior.name, drawn.behavior)] {
                nextSource += 1
                let source = "r\(nextSource)"
                observations.producedRows[source] = (eventTime, user, view)
                observations.producedValues["\(view)/\(user)/\(eventTime)", default: []].append(values)
                batches[view, default: []].append(OfflineStore.IncomingRow(source: source, entity: user, localTime: local, offsetMinutes: offset, values: values).text)
            }
            recent[FeatureDriftWorkload.demographics.name, default: []].append(user)
        }
        recent[FeatureDriftWorkload.demographics.name] = Array(recent[FeatureDriftWorkload.demographics.name, default: []].suffix(8))
        for view in batches.keys.sorted() {
            let body = ["view": view, "rows": batches[view]!.joined(separator: ",")]
            // Until stored: the producer keeps its batch (the source ids make a retry harmless).
            simulation.spawn { [self] in _ = await ask(context, HTTPRequest("POST", "features/ingest", body: body)) }
        }
    }

    /// The webhook receiver (`WebhookReceiver`: the signature of "t.body", at most 300 s old),
    /// counting each event id once.
    func receive(_ request: HTTPRequest, now: Int64) -> HTTPResponse {
        guard let secret else { return .error(503, "not subscribed yet") }
        if receiver == nil { receiver = WebhookReceiver(secrets: [secret]) }
        let body = request.body["event"]
        switch receiver!.receive(id: request.headers["webhook-id"], signature: request.headers["webhook-signature"], body: body, nowSeconds: now / Nanos.second) {
        case .refused(let why): return .error(why == "unsigned or malformed" ? 400 : 401, why)
        case .duplicate: return HTTPResponse(200, ["duplicate": "1"])
        case .accepted: break
        }
        let parts = (body ?? "").splitBytes("|", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 6, let window = Int64(parts[3]), let id = request.headers["webhook-id"] {
            simulation.features.alerts.append(.init(at: simulation.now, eventID: id, view: parts[1], group: parts[2], window: window,
                                                    features: parts[4].splitBytes(";").map(String.init)))
            simulation.features.revision &+= 1
        }
        return HTTPResponse(200)
    }
}

extension TraceKind {
    public static let featureWorkloadStarted = TraceKind("client.features")
}

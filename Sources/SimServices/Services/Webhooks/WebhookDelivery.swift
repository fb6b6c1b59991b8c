import SimKernel

/// Delivery of the `alerts` topic to every endpoint of the alert's tenant: each record is POSTed with a
/// `webhook-id` (the event id) and a `webhook-signature` (`t=<unix s>,v1=<hex HMAC>`, a second v1
/// during a secret rotation's grace period), retried on a non-2xx answer or no answer with
/// exponential backoff and full jitter (100 ms doubling, capped at 5 s) until a 30 s deadline. The
/// target is resolved again before every attempt, and refused (logged, the event given up for
/// that endpoint) when it resolves to an internal address (`WebhookTargets`).
enum WebhookDelivery {
    static let deadline = 30 * Nanos.second

    struct Endpoint: Sendable {
        var id: Int64
        var url: String
        var secret: String
        var previousSecret: String?
        var rotatedAt: Int64?
        var tenant: String
    }

    static let columns = "id, url, secret, previous_secret, rotated_at, tenant"
    static func endpoint(_ row: [SQLValue]) -> Endpoint? {
        guard let id = row[0].integer, let url = row[1].text, let secret = row[2].text else { return nil }
        return Endpoint(id: id, url: url, secret: secret, previousSecret: row[3].text, rotatedAt: row[4].integer, tenant: row[5].text ?? "t1")
    }

    /// Endpoint `id` of `tenant`, or nil.
    static func endpoint(_ runtime: ServiceRuntime, id: Int64, tenant: String) async -> Endpoint? {
        guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT \(columns) FROM endpoints WHERE id = ? AND tenant = ?", [.integer(id), .text(tenant)])]) else { return nil }
        return rows[0].rows.first.flatMap(endpoint)
    }

    static func deliverAlerts(_ runtime: ServiceRuntime) async {
        await runtime.consume(group: "webhooks", topic: MonitoringService.alertsTopic) { record in
            // Only the endpoints of the alert's tenant (its last field, `DriftChecks.alertValue`); an
            // alert naming none, or not of that shape, goes nowhere.
            let body = String(decoding: record.value, as: UTF8.self)
            let fields = body.splitBytes("|", omittingEmptySubsequences: false)
            guard fields.count == 6, let tenant = fields.last.map(String.init), !tenant.isEmpty,
                  case .success(let rows) = await runtime.transaction([SQLStatement("SELECT \(columns) FROM endpoints WHERE tenant = ? ORDER BY id", [.text(tenant)])]) else { return }
            for endpoint in rows[0].rows.compactMap(endpoint) {
                _ = await deliver(runtime, to: endpoint, id: record.key, body: body, caller: "alerts")
            }
        }
    }

    /// The signature header for `body` at `timestamp`: the current secret's v1, and the previous
    /// secret's while the rotation's grace period lasts.
    static func signatureHeader(_ endpoint: Endpoint, timestamp: Int64, body: String) -> String {
        var header = "t=\(timestamp),v1=\(WebhooksService.signature(secret: endpoint.secret, timestamp: timestamp, body: body))"
        if let previous = endpoint.previousSecret, let rotatedAt = endpoint.rotatedAt, timestamp - rotatedAt < WebhooksService.rotationGraceSeconds {
            header += ",v1=\(WebhooksService.signature(secret: previous, timestamp: timestamp, body: body))"
        }
        return header
    }

    enum Result {
        /// The last answer's status (nil: none before the deadline, or nobody at the address).
        case answered(Int?)
        /// The target resolved to an internal address: logged, not delivered.
        case refused(ServiceError)
    }

    /// One event to one endpoint, retried until a 2xx or the deadline (or sent once, without `retrying`).
    static func deliver(_ runtime: ServiceRuntime, to endpoint: Endpoint, id: String, body: String, caller: String, retrying: Bool = true) async -> Result {
        let context = runtime.context
        let giveUpAt = context.simulation.now + deadline
        var backoff = 100 * Nanos.millisecond, status: Int?
        while context.simulation.now < giveUpAt {
            switch WebhookTargets.resolve(endpoint.url, defects: runtime.defects, context: context) {
            case .unreachable:
                return .answered(status)
            case .refused(let address):
                return .refused(await SecurityEvents.refuse(runtime, caller: caller, reason: "webhook target resolves to the internal address \(address)", detail: "endpoint \(endpoint.id): \(endpoint.url)"))
            case .deliver(let target, let address):
                let security = context.simulation.security
                security.webhookAttempts.append((context.simulation.now, endpoint.id, endpoint.url, address.description, context.simulation.node(target.node).name, id))
                security.revision &+= 1
                let timestamp = context.localTime / Nanos.second
                let request = HTTPRequest("POST", target.service, body: ["event": body], headers: ["webhook-id": id, "webhook-signature": signatureHeader(endpoint, timestamp: timestamp, body: body)])
                if case .success(let envelope) = await context.call(target, HTTPMessage.request(request), timeout: 2 * Nanos.second),
                   case .response(let response) = envelope.payload as? HTTPMessage {
                    status = response.status
                    if (200 ..< 300).contains(response.status) { return .answered(status) }
                }
                if !retrying { return .answered(status) }
            }
            await context.sleep(nanoseconds: context.withRandom { $0.uniform(0 ... backoff) })  // full jitter
            backoff = Swift.min(5 * Nanos.second, backoff * 2)
        }
        return .answered(status)
    }
}

import SimKernel

/// Delivery of the `alerts` topic to every subscribed endpoint: each record is POSTed with a
/// `webhook-id` (the event id) and a `webhook-signature` (`t=<unix s>,v1=<hex HMAC>`), retried on a
/// non-2xx answer or no answer with exponential backoff and full jitter (100 ms doubling, capped at
/// 5 s) until a 30 s deadline. Endpoints are `https://<node>/<mailbox>` (the simulated DNS: a node
/// name and a process's mailbox on it).
enum WebhookDelivery {
    static let deadline = 30 * Nanos.second

    /// The address an endpoint URL names, or nil when no such node exists.
    static func resolve(_ url: String, in simulation: Simulation) -> Address? {
        guard url.hasPrefix("https://") else { return nil }
        let rest = url.dropFirst("https://".count).split(separator: "/", maxSplits: 1).map(String.init)
        guard rest.count == 2, let node = simulation.node(named: rest[0]) else { return nil }
        return Address(node: node.id, service: rest[1])
    }

    static func deliverAlerts(_ runtime: ServiceRuntime) async {
        await runtime.consume(group: "webhooks", topic: MonitoringService.alertsTopic) { record in
            guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT url, secret FROM endpoints ORDER BY id")]) else { return }
            let body = String(decoding: record.value, as: UTF8.self)
            for row in rows[0].rows {
                guard let url = row[0].text, let secret = row[1].text, let address = resolve(url, in: runtime.context.simulation) else { continue }
                await deliver(runtime, to: address, id: record.key, body: body, secret: secret)
            }
        }
    }

    /// One event to one endpoint, retried until a 2xx or the deadline.
    static func deliver(_ runtime: ServiceRuntime, to address: Address, id: String, body: String, secret: String) async {
        let context = runtime.context
        let giveUpAt = context.simulation.now + deadline
        var backoff = 100 * Nanos.millisecond
        while context.simulation.now < giveUpAt {
            let timestamp = context.localTime / Nanos.second
            let request = HTTPRequest("POST", address.service, body: ["event": body], headers: [
                "webhook-id": id, "webhook-signature": "t=\(timestamp),v1=\(WebhooksService.signature(secret: secret, timestamp: timestamp, body: body))"])
            if case .success(let envelope) = await context.call(address, HTTPMessage.request(request), timeout: 2 * Nanos.second),
               case .response(let response) = envelope.payload as? HTTPMessage, (200 ..< 300).contains(response.status) {
                return
            }
            await context.sleep(nanoseconds: context.withRandom { $0.uniform(0 ... backoff) })  // full jitter
            backoff = Swift.min(5 * Nanos.second, backoff * 2)
        }
    }
}

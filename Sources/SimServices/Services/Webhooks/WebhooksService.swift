import SimKernel

/// Webhooks: endpoints stored in users_db; payloads signed `t=<ts>,v1=HMAC-SHA256(secret, "t.body")`
/// and verified with a constant-time compare and a 300 s tolerance; private and loopback targets
/// refused (SSRF). It delivers every record of Kafka's `alerts` topic to every endpoint
/// (`WebhookDelivery`), at least once: receivers dedupe by the `webhook-id` header.
///
/// Route: `POST webhooks/endpoints` (Subscribe -> Subscribed). Stateless: endpoints live in users_db.
public enum WebhooksService {
    public struct Subscribe: Codable, Sendable, Equatable {
        public var url: String
    }
    public struct Subscribed: Codable, Sendable, Equatable {
        /// The signature header of a test delivery (`t=...,v1=...`).
        public var signature: String
        /// The endpoint's signing secret (shown once, at subscription, for the receiver to verify with).
        public var secret: String
    }

    public static func signature(secret: String, timestamp: Int64, body: String) -> String {
        SHA256.hex(SHA256.hmac(key: Array(secret.utf8), message: Array("\(timestamp).\(body)".utf8)))
    }

    static func isPrivate(_ url: String) -> Bool {
        let host = url.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        return host.hasPrefix("localhost") || host.hasPrefix("127.") || host.hasPrefix("10.") || host.hasPrefix("192.168.")
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "webhooks", routes: [
            Route("POST", "webhooks/endpoints", Subscribe.self, Subscribed.self) { runtime, request, _ throws(ServiceError) in
                guard request.url.hasPrefix("https://") else { throw .badRequest("https URL required") }
                guard !isPrivate(request.url) else { throw .badRequest("private or loopback targets are refused") }
                let secret = "whsec-\(runtime.context.withRandom { $0.next() % 1_000_000 })"
                guard case .success = await runtime.transaction([SQLStatement("INSERT INTO endpoints(url, secret) VALUES (?, ?)", [.text(request.url), .text(secret)])]) else {
                    throw .internalError("cannot store the endpoint")
                }
                let timestamp = runtime.context.localTime / Nanos.second
                return Subscribed(signature: "t=\(timestamp),v1=\(signature(secret: secret, timestamp: timestamp, body: "{\"event\":\"ping\"}"))", secret: secret)
            },
        ])
        spec.database = "users_db"
        spec.migrations = ["CREATE TABLE endpoints(id INTEGER PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL)"]
        spec.afterReady = { runtime in await WebhookDelivery.deliverAlerts(runtime) }
        return spec
    }
}

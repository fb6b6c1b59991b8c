import SimKernel

/// Webhooks: endpoints stored in users_db, each in its subscriber's tenant, with a signing secret;
/// payloads signed `t=<ts>,v1=HMAC-SHA256(secret, "t.body")` (during a rotation's grace period
/// with the new and the old secret: two v1 values), for receivers to verify (`WebhookReceiver`).
/// Targets on internal addresses are refused at subscription and at every delivery (SSRF,
/// `WebhookTargets`), each refusal logged. Every record of Kafka's `alerts` topic is delivered to
/// every endpoint of the alert's tenant (`WebhookDelivery`), at least once: receivers dedupe by the `webhook-id` header.
///
/// Routes: `POST webhooks/endpoints` (Subscribe -> Subscribed); `POST webhooks/test` (EndpointID
/// -> Delivered: one ping to the caller's endpoint, one attempt, as a dashboard's "send test event");
/// `POST webhooks/rotate` (Rotate -> Rotated: a new secret; the old one still signs for
/// `rotationGraceSeconds`; a request id sent again answers its rotation's secret without rotating
/// again). Every route needs an identity (401 otherwise). Stateless: endpoints and rotations live
/// in users_db.
public enum WebhooksService {
    public struct Subscribe: Codable, Sendable, Equatable {
        public var url: String
    }
    public struct Subscribed: Codable, Sendable, Equatable {
        public var id: Int64
        /// The signature header of a test payload (`t=...,v1=...`).
        public var signature: String
        /// The endpoint's signing secret (shown once, at subscription, for the receiver to verify with).
        public var secret: String
    }
    public struct EndpointID: Codable, Sendable, Equatable {
        public var id: Int64
    }
    /// A rotation of endpoint `id`'s secret; `requestId`, when given, makes it idempotent: the
    /// same id sent again (a retry whose answer was lost) answers the secret the first made,
    /// instead of rotating again (which would drop the original secret the receiver still holds).
    public struct Rotate: Codable, Sendable, Equatable {
        public var id: Int64
        public var requestId: String?
    }
    public struct Delivered: Codable, Sendable, Equatable {
        /// The receiver's answer (nil: none before the deadline).
        public var status: Int?
        public var event: String
    }
    public struct Rotated: Codable, Sendable, Equatable {
        public var secret: String
    }

    /// How long after a rotation deliveries are still signed with the old secret too.
    public static let rotationGraceSeconds: Int64 = 60

    public static func signature(secret: String, timestamp: Int64, body: String) -> String {
        SHA256.hex(SHA256.hmac(key: Array(secret.utf8), message: Array("\(timestamp).\(body)".utf8)))
    }

    /// Rotates the secret of `tenant`'s endpoint `request.id` in one transaction: the rotation
    /// and its request id are written together, and a request id already used for this endpoint
    /// answers the secret it made without rotating again.
    static func rotate(_ runtime: ServiceRuntime, _ request: Rotate, tenant: String) async throws(ServiceError) -> Rotated {
        let secret = newSecret(runtime), now = runtime.context.localTime / Nanos.second
        let rotation = SQLStatement("UPDATE endpoints SET previous_secret = secret, secret = ?, rotated_at = ? WHERE id = ? AND tenant = ?",
                                    [.text(secret), .integer(now), .integer(request.id), .text(tenant)])
        guard let requestId = request.requestId else {
            guard case .success(let rows) = await runtime.transaction([rotation]) else { throw .unavailable("cannot rotate the secret") }
            guard rows[0].changes == 1 else { throw ServiceError(404, "no endpoint \(request.id)") }
            return Rotated(secret: secret)
        }
        guard !requestId.isEmpty, requestId.count <= 128 else { throw .badRequest("request_id: 1 to 128 characters") }
        // The earlier answer for this request id, else the id recorded and the rotation made, the
        // UPDATE only when the id's row was just inserted (`changes()` of the INSERT before it).
        var conditional = rotation
        conditional.sql += " AND changes() = 1"
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT r.secret FROM endpoint_rotations r JOIN endpoints e ON e.id = r.endpoint WHERE r.endpoint = ? AND r.request_id = ? AND e.tenant = ?",
                         [.integer(request.id), .text(requestId), .text(tenant)]),
            SQLStatement("INSERT OR IGNORE INTO endpoint_rotations(endpoint, request_id, secret) SELECT id, ?, ? FROM endpoints WHERE id = ? AND tenant = ?",
                         [.text(requestId), .text(secret), .integer(request.id), .text(tenant)]),
            conditional,
        ]) else { throw .unavailable("cannot rotate the secret") }
        if let earlier = rows[0].rows.first?.first?.text { return Rotated(secret: earlier) }
        guard rows[2].changes == 1 else { throw ServiceError(404, "no endpoint \(request.id)") }
        return Rotated(secret: secret)
    }

    /// The caller's tenant, for every route: anonymous callers get 401 (they could otherwise take
    /// t1's new signing secret, send deliveries in its name, or subscribe in it).
    static func identifiedTenant(_ info: RequestInfo) throws(ServiceError) -> String {
        guard let tenant = info.tenant, info.user != nil else { throw ServiceError(401, "acting on an endpoint needs an authenticated caller") }
        return tenant
    }

    /// A signing secret of 128 random bits (32 hex digits): one an attacker cannot guess by
    /// signing candidates offline (the 30 bits of a nine-digit number fell in about 10^9 tries).
    static func newSecret(_ runtime: ServiceRuntime) -> String {
        let (high, low) = runtime.context.withRandom { ($0.next(), $0.next()) }
        return "whsec-" + hexBytes(withUnsafeBytes(of: high.bigEndian, Array.init) + withUnsafeBytes(of: low.bigEndian, Array.init))
    }

    static func subscribe(_ runtime: ServiceRuntime, _ request: Subscribe, _ info: RequestInfo) async throws(ServiceError) -> Subscribed {
        let tenant = try identifiedTenant(info)
        guard let target = WebhookTargets.parse(request.url) else { throw .badRequest("url: an https URL with a host and a path is required") }
        if runtime.defects.contains(.I2) {
            guard !WebhookTargets.looksPrivate(request.url) else { throw .badRequest("private or loopback targets are refused") }
        } else if let address = runtime.context.simulation.names.resolve(target.host), address.isInternal {
            throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "webhook target resolves to the internal address \(address)", detail: request.url)
        }
        let secret = newSecret(runtime)
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("INSERT INTO endpoints(url, secret, tenant) VALUES (?, ?, ?)", [.text(request.url), .text(secret), .text(tenant)]),
            SQLStatement("SELECT last_insert_rowid()"),
        ]), let id = rows[1].rows.first?.first?.integer else {
            throw .internalError("cannot store the endpoint")
        }
        let timestamp = runtime.context.localTime / Nanos.second
        return Subscribed(id: id, signature: "t=\(timestamp),v1=\(signature(secret: secret, timestamp: timestamp, body: "{\"event\":\"ping\"}"))", secret: secret)
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "webhooks", routes: [
            Route("POST", "webhooks/endpoints", Subscribe.self, Subscribed.self) { runtime, request, info throws(ServiceError) in
                try await subscribe(runtime, request, info)
            },
            Route("POST", "webhooks/test", EndpointID.self, Delivered.self) { runtime, request, info throws(ServiceError) in
                let tenant = try identifiedTenant(info)
                guard let endpoint = await WebhookDelivery.endpoint(runtime, id: request.id, tenant: tenant) else { throw ServiceError(404, "no endpoint \(request.id)") }
                runtime.context.simulation.security.nextEvent += 1
                let event = "ping-\(runtime.context.node.name)-\(runtime.context.epoch)-\(runtime.context.simulation.security.nextEvent)"
                switch await WebhookDelivery.deliver(runtime, to: endpoint, id: event, body: "ping", caller: SecurityEvents.caller(info), retrying: false) {
                case .refused(let error): throw error
                case .answered(let status): return Delivered(status: status, event: event)
                }
            },
            Route("POST", "webhooks/rotate", Rotate.self, Rotated.self) { runtime, request, info throws(ServiceError) in
                try await rotate(runtime, request, tenant: try identifiedTenant(info))
            },
        ])
        spec.database = "users_db"
        spec.migrations = [
            "CREATE TABLE endpoints(id INTEGER PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL)",
            "ALTER TABLE endpoints ADD COLUMN tenant TEXT NOT NULL DEFAULT 't1'",
            "ALTER TABLE endpoints ADD COLUMN previous_secret TEXT",
            "ALTER TABLE endpoints ADD COLUMN rotated_at INTEGER",
            "CREATE TABLE endpoint_rotations(endpoint INTEGER NOT NULL, request_id TEXT NOT NULL, secret TEXT NOT NULL, PRIMARY KEY(endpoint, request_id))",
        ]
        spec.afterReady = { runtime in await WebhookDelivery.deliverAlerts(runtime) }
        return spec
    }
}

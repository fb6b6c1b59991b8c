import SimKernel

/// Tenants and quotas: usage is checked and reserved in one transaction (integer units), so
/// usage never exceeds the quota. Its dashboard calls through the gateway from the admin origin.
///
/// Routes: `POST admin/tenants` (ReserveRequest -> Usage); `POST admin/ops/quota` (QuotaOverride ->
/// Usage: an operator's override over mutual TLS, `OperatorQuota.swift`; never below the usage);
/// `POST admin/quotas` and `POST admin/reservations` (per-resource quotas in exact thousandths,
/// several resources reserved all or nothing: `Reservations.swift`).
/// Stateless: tenants live in users_db.
public enum AdminService {
    public struct ReserveRequest: Codable, Sendable, Equatable {
        public var tenant: String?
        /// The tenant's quota when it is created (integer units; default 100).
        public var quota: Int64?
        /// Units to reserve (default 10).
        public var reserve: Int64?
    }
    public struct Usage: Codable, Sendable, Equatable {
        public var used: Int64
        public var quota: Int64
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "admin", routes: [
            Route("POST", "admin/tenants", ReserveRequest.self, Usage.self) { runtime, request, _ throws(ServiceError) in
                let tenant = request.tenant ?? "t1", quota = request.quota ?? 100, reserve = request.reserve ?? 10
                guard quota >= 0, reserve >= 0 else { throw .badRequest("quota and reserve are never negative") }
                let result = await runtime.transaction([
                    SQLStatement("INSERT OR IGNORE INTO tenants(name, quota, used) VALUES (?, ?, 0)", [.text(tenant), .integer(quota)]),
                    SQLStatement("UPDATE tenants SET used = used + ? WHERE name = ? AND used + ? <= quota", [.integer(reserve), .text(tenant), .integer(reserve)]),
                    SQLStatement("SELECT used, quota FROM tenants WHERE name = ?", [.text(tenant)]),
                ])
                guard case .success(let rows) = result, let row = rows[2].rows.first, let used = row[0].integer, let limit = row[1].integer else {
                    throw .internalError("cannot reserve")
                }
                guard rows[1].changes == 1 else { throw ServiceError(429, "quota exceeded") }
                return Usage(used: used, quota: limit)
            },
            Route("POST", "admin/ops/quota", QuotaOverride.self, Usage.self) { runtime, request, info throws(ServiceError) in
                try await overrideQuota(runtime, request, info)
            },
            Route("POST", "admin/quotas", SetQuota.self, Reserved.self) { runtime, request, info throws(ServiceError) in
                // Quotas are an administrator's to set.
                guard info.role == "admin" else {
                    throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "quota change by a non-admin", detail: "\(request.tenant)/\(request.resource)", status: 403)
                }
                return try await setQuota(runtime, request)
            },
            Route("POST", "admin/reservations", Reserve.self, Reserved.self) { runtime, request, info throws(ServiceError) in
                // A caller reserves within its own tenant (an administrator for any).
                guard let tenant = info.tenant, info.user != nil else { throw ServiceError(401, "reserving needs an authenticated caller") }
                guard tenant == request.tenant || info.role == "admin" else {
                    throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "reservation for another tenant", detail: request.tenant, status: 403)
                }
                return try await reserve(runtime, request)
            },
        ])
        // The operator route authenticates its caller by its certificate and proof of possession.
        spec.routesWithOwnProof = ["POST admin/ops/quota"]
        spec.database = "users_db"
        spec.migrations = ["CREATE TABLE tenants(name TEXT PRIMARY KEY, quota INTEGER NOT NULL, used INTEGER NOT NULL CHECK(used >= 0))"] + quotaMigrations
            + ["CREATE TABLE peer_proofs(subject TEXT NOT NULL, nonce TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(subject, nonce))"]
        spec.dependsOn = ["auth"]
        return spec
    }
}

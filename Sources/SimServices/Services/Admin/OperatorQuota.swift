import SimKernel

/// `POST admin/ops/quota {tenant, quota}`: an operator tool sets a tenant's quota, over mutual TLS
/// straight to the admin service (not through the gateway): the request carries the peer's
/// certificate chain (`x-client-certificates`), which must end at the platform's root by key
/// (`PlatformPKI.refusal`); otherwise 401, logged. G6 accepts a chain whose top merely names the
/// root: a look-alike CA of the attacker's own passes.
extension AdminService {
    public struct QuotaOverride: Codable, Sendable, Equatable {
        public var tenant: String
        public var quota: Int64
    }

    static func overrideQuota(_ runtime: ServiceRuntime, _ request: QuotaOverride, _ info: RequestInfo) async throws(ServiceError) -> Usage {
        let context = runtime.context, now = context.localTime / Nanos.second
        guard let header = info.headers[PlatformPKI.header], let chain = PeerCertificate.chain(fromHeader: header) else {
            throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "no client certificate", detail: "ops/quota \(request.tenant)", status: 401)
        }
        if let refusal = PlatformPKI.refusal(of: chain, now: now, nameOnly: runtime.defects.contains(.G6)) {
            throw await SecurityEvents.refuse(runtime, caller: chain.first?.subject ?? "?", reason: "untrusted peer: \(refusal)", detail: "ops/quota \(request.tenant)", status: 401)
        }
        guard request.quota >= 0 else { throw .badRequest("quota is never negative") }
        let security = context.simulation.security
        security.peersAccepted.append((context.simulation.now, chain))
        security.revision &+= 1
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("INSERT INTO tenants(name, quota, used) VALUES (?, ?, 0) ON CONFLICT(name) DO UPDATE SET quota = MAX(excluded.quota, used)", [.text(request.tenant), .integer(request.quota)]),
            SQLStatement("SELECT used, quota FROM tenants WHERE name = ?", [.text(request.tenant)]),
        ]), let row = rows[1].rows.first, let used = row[0].integer, let quota = row[1].integer else { throw .unavailable("users_db did not answer") }
        return Usage(used: used, quota: quota)
    }
}

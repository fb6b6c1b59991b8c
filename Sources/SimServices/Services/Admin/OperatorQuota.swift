import SimKernel

/// `POST admin/ops/quota {tenant, quota}`: an operator tool sets a tenant's quota, over mutual TLS
/// straight to the admin service (not through the gateway): the request carries the peer's
/// certificate chain (`x-client-certificates`), which must end at the platform's root by key
/// (`PlatformPKI.refusal`), and a proof that the peer holds its leaf's key (`x-client-proof`: a
/// signature over the request, a time within 300 s and a nonce never used before); otherwise 401,
/// logged. Only an operator's certificate (`PlatformPKI.operators`) may set quotas (403, logged).
/// G6 accepts a chain whose top merely names the root: a look-alike CA of the attacker's own passes.
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
        // The body as the client sent it and signed it (a quota spelled `0500` is proved as `0500`).
        let leaf = chain[0], subject = leaf.subject, body = info.body
        let nonce: String
        switch PlatformPKI.proofRefusal(info.headers[PlatformPKI.proofHeader], leaf: leaf, method: info.method, path: info.path, body: body, now: now) {
        case .failure(let refusal):
            throw await SecurityEvents.refuse(runtime, caller: subject, reason: "untrusted peer: \(refusal.reason)", detail: "ops/quota \(request.tenant)", status: 401)
        case .success(let proved): nonce = proved
        }
        guard PlatformPKI.operators.contains(subject) else {
            throw await SecurityEvents.refuse(runtime, caller: subject, reason: "\(subject) is not an operator", detail: "ops/quota \(request.tenant)", status: 403)
        }
        guard request.quota >= 0 else { throw .badRequest("quota is never negative") }
        // The nonce is kept with the change, in one transaction: a proof sent again (a replay, or a
        // client's retry, which must sign anew) changes nothing and is refused.
        // Proofs older than twice the window can no longer be presented: they are dropped first.
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("DELETE FROM peer_proofs WHERE at < ?", [.integer(now - 2 * PlatformPKI.proofWindowSeconds)]),
            SQLStatement("INSERT OR IGNORE INTO peer_proofs(subject, nonce, at) VALUES (?, ?, ?)", [.text(subject), .text(nonce), .integer(now)]),
            SQLStatement("INSERT INTO tenants(name, quota, used) SELECT ?, ?, 0 WHERE changes() = 1 ON CONFLICT(name) DO UPDATE SET quota = MAX(excluded.quota, used)",
                         [.text(request.tenant), .integer(request.quota)]),
            SQLStatement("SELECT used, quota FROM tenants WHERE name = ?", [.text(request.tenant)]),
        ]) else { throw .unavailable("users_db did not answer") }
        guard rows[1].changes == 1 else {
            throw await SecurityEvents.refuse(runtime, caller: subject, reason: "untrusted peer: proof \(nonce) was used before", detail: "ops/quota \(request.tenant)", status: 401)
        }
        guard let row = rows[3].rows.first, let used = row[0].integer, let quota = row[1].integer else { throw .unavailable("users_db did not answer") }
        let security = context.simulation.security
        security.peersAccepted.append(.init(at: context.simulation.now, chain: chain, method: info.method, path: info.path,
                                            body: body, proof: info.headers[PlatformPKI.proofHeader] ?? ""))
        security.revision &+= 1
        return Usage(used: used, quota: quota)
    }
}

import SimKernel

/// `POST admin/quotas {tenant, resource, quota}` sets a tenant's quota of a resource (decimal text,
/// never below what is in use); `POST admin/reservations {tenant, amounts}` reserves several
/// resources at once (`gpu_hours:1.5,storage_gb:20`): all or nothing, checked and reserved in one
/// transaction that takes the rows in one order (resource name), so two reservations never wait on
/// each other in opposite orders. Amounts are exact thousandths (`MilliUnits`); the table's CHECK
/// keeps usage within the quota even against a wrong statement; every reservation is written to a
/// ledger whose sums equal the usage.
extension AdminService {
    public struct SetQuota: Codable, Sendable, Equatable {
        public var tenant: String
        public var resource: String
        public var quota: String
    }
    public struct Reserve: Codable, Sendable, Equatable {
        public var tenant: String
        /// `resource:amount` pairs, comma-separated.
        public var amounts: String
    }
    public struct Reserved: Codable, Sendable, Equatable {
        /// `resource:used/quota` after the reservation, in resource order.
        public var usage: String
    }

    static let quotaMigrations = [
        "CREATE TABLE quotas(tenant TEXT NOT NULL, resource TEXT NOT NULL, quota_milli INTEGER NOT NULL, used_milli INTEGER NOT NULL DEFAULT 0, "
            + "PRIMARY KEY(tenant, resource), CHECK(used_milli >= 0 AND used_milli <= quota_milli))",
        "CREATE TABLE reservations(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, resource TEXT NOT NULL, amount_milli INTEGER NOT NULL)",
    ]

    static func amount(_ text: String, field: String) throws(ServiceError) -> Int64 {
        do { return try MilliUnits.parse(text) } catch { throw .badRequest("\(field): \(error)") }
    }

    static func setQuota(_ runtime: ServiceRuntime, _ request: SetQuota) async throws(ServiceError) -> Reserved {
        let quota = try amount(request.quota, field: "quota")
        guard !request.resource.isEmpty, !request.tenant.isEmpty else { throw .badRequest("tenant and resource are required") }
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("INSERT INTO quotas(tenant, resource, quota_milli) VALUES (?, ?, ?) ON CONFLICT(tenant, resource) DO UPDATE SET quota_milli = MAX(excluded.quota_milli, used_milli)",
                         [.text(request.tenant), .text(request.resource), .integer(quota)]),
            SQLStatement("SELECT resource, used_milli, quota_milli FROM quotas WHERE tenant = ? ORDER BY resource", [.text(request.tenant)]),
        ]) else { throw .unavailable("users_db did not answer") }
        return Reserved(usage: usage(rows[1].rows))
    }

    static func usage(_ rows: [[SQLValue]]) -> String {
        rows.map { "\($0[0].plain):\(MilliUnits.text($0[1].integer ?? 0))/\(MilliUnits.text($0[2].integer ?? 0))" }.joined(separator: ",")
    }

    static func reserve(_ runtime: ServiceRuntime, _ request: Reserve) async throws(ServiceError) -> Reserved {
        var wanted: [(resource: String, milli: Int64)] = []
        for pair in request.amounts.splitBytes(",") {
            let sides = pair.splitBytes(":", omittingEmptySubsequences: false).map(String.init)
            guard sides.count == 2, !sides[0].isEmpty else { throw .badRequest("amounts: '\(pair)' is not resource:amount") }
            guard !wanted.contains(where: { $0.resource == sides[0] }) else { throw .badRequest("amounts: \(sides[0]) is named twice") }
            wanted.append((sides[0], try amount(sides[1], field: "amounts.\(sides[0])")))
        }
        guard !wanted.isEmpty else { throw .badRequest("amounts: nothing to reserve") }
        wanted.sort { $0.resource < $1.resource }  // one lock order for every reservation
        let tenant = request.tenant
        // A resource short of quota fails the body, which rolls the whole transaction back.
        let refusal = "quota exceeded: "
        let result = await runtime.interactive("reserve-\(tenant)") { session -> Result<[[SQLValue]], SQLClientError> in
            for (resource, milli) in wanted {
                // Check and reserve in one statement, inside the transaction: no read-then-write gap.
                switch await session.execute("UPDATE quotas SET used_milli = used_milli + ? WHERE tenant = ? AND resource = ? AND used_milli + ? <= quota_milli",
                                             [.integer(milli), .text(tenant), .text(resource), .integer(milli)]) {
                case .failure(let error): return .failure(error)
                case .success(let done) where done.changes == 0: return .failure(.sql(SQLError(kind: .other, message: refusal + resource)))
                case .success: break
                }
                if case .failure(let error) = await session.execute("INSERT INTO reservations(tenant, resource, amount_milli) VALUES (?, ?, ?)", [.text(tenant), .text(resource), .integer(milli)]) {
                    return .failure(error)
                }
            }
            return await session.execute("SELECT resource, used_milli, quota_milli FROM quotas WHERE tenant = ? ORDER BY resource", [.text(tenant)]).map(\.rows)
        }
        switch result {
        case .success(let rows): return Reserved(usage: usage(rows))
        case .failure(.sql(let error)) where error.message.hasPrefix(refusal): throw ServiceError(429, "\(error.message) of \(tenant)")
        case .failure(let error): throw .unavailable("cannot reserve: \(error)")
        }
    }
}

import SimKernel

/// Tenants and quotas: usage is checked and reserved in one transaction (integer units), so
/// usage never exceeds the quota. Its dashboard calls through the gateway from the admin origin.
public enum AdminService {
    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "admin") { runtime, request in
            let tenant = request.body["tenant"] ?? "t1"
            let quota = Int64(request.body["quota"] ?? "100") ?? 100, reserve = Int64(request.body["reserve"] ?? "10") ?? 10
            let result = await runtime.transaction([
                SQLStatement("INSERT OR IGNORE INTO tenants(name, quota, used) VALUES (?, ?, 0)", [.text(tenant), .integer(quota)]),
                SQLStatement("UPDATE tenants SET used = used + ? WHERE name = ? AND used + ? <= quota", [.integer(reserve), .text(tenant), .integer(reserve)]),
                SQLStatement("SELECT used, quota FROM tenants WHERE name = ?", [.text(tenant)]),
            ])
            guard case .success(let rows) = result, let row = rows[2].rows.first else { return .error(500, "cannot reserve") }
            guard rows[1].changes == 1 else { return .error(429, "quota exceeded") }
            return HTTPResponse(200, ["used": "\(row[0])", "quota": "\(row[1])"])
        }
        spec.database = "users_db"
        spec.migrations = ["CREATE TABLE tenants(name TEXT PRIMARY KEY, quota INTEGER NOT NULL, used INTEGER NOT NULL CHECK(used >= 0))"]
        spec.dependsOn = ["auth"]
        return spec
    }
}

import SimKernel

/// Write-once run parameters: `POST experiments/params` stores a parameter of a run if it has none
/// of that name; the same value again is an idempotent retry (200), another value a conflict (409),
/// so a parameter never changes once written. `GET experiments/params` reads a run's parameters.
public enum RunParameters {
    public struct Write: Codable, Sendable, Equatable {
        public var run: Int64
        public var key: String
        public var value: String
    }
    public struct Written: Codable, Sendable, Equatable {
        public var run: Int64
        public var key: String
        public var value: String
    }
    public struct Read: Codable, Sendable, Equatable {
        public var run: Int64
    }
    public struct Parameters: Codable, Sendable, Equatable {
        public var run: Int64
        public var param: [String: String]
    }

    static let routes: [Route] = [
        Route("POST", "experiments/params", Write.self, Written.self) { runtime, request, _ throws(ServiceError) in
            guard !request.key.isEmpty, request.key.utf8.count <= 250 else { throw .badRequest("key: a parameter name is 1 to 250 bytes") }
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("SELECT COUNT(*) FROM runs WHERE id = ?", [.integer(request.run)]),
                SQLStatement("INSERT OR IGNORE INTO params(run, key, value) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)",
                             [.integer(request.run), .text(request.key), .text(request.value), .integer(request.run)]),
                SQLStatement("SELECT value FROM params WHERE run = ? AND key = ?", [.integer(request.run), .text(request.key)]),
            ]) else { throw .unavailable("cannot write parameter \(request.key) of run \(request.run)") }
            guard rows[0].rows.first?.first?.integer == 1 else { throw ServiceError(404, "no run \(request.run)") }
            let stored = rows[2].rows.first?.first?.text ?? ""
            guard stored == request.value else {
                throw ServiceError(409, "parameter \(request.key) of run \(request.run) is '\(stored)': parameters are write-once")
            }
            try await RunSearch.reindex(runtime, run: request.run)
            return Written(run: request.run, key: request.key, value: stored)
        },
        Route("GET", "experiments/params", Read.self, Parameters.self) { runtime, request, _ throws(ServiceError) in
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("SELECT key, value FROM params WHERE run = ? ORDER BY key", [.integer(request.run)]),
            ]) else { throw .unavailable("cannot read the parameters of run \(request.run)") }
            var param: [String: String] = [:]
            for row in rows[0].rows { if let key = row[0].text, let value = row[1].text { param[key] = value } }
            return Parameters(run: request.run, param: param)
        },
    ]
}

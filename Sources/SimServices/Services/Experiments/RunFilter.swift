import SimKernel

/// The experiment filter: `GET experiments/runs/filter {experiment?, filter}` answers the runs of
/// the caller's tenant (of one experiment when it is named) whose metrics satisfy every clause of
/// `filter`: `metrics.KEY OP NUMBER` (OP one of `<`, `<=`, `>`, `>=`, `=`, `!=`) joined by `AND`, as
/// MLflow's run search takes them. A metric is judged at any logged step. The filter is parsed in
/// full, and each clause becomes bound parameters of one SQL statement: the text a caller writes
/// never becomes SQL. A filter outside the grammar is refused with 400 naming where it went wrong.
///
/// The tenant is the one the gateway forwarded for the caller; a caller without one (a platform
/// service acting as itself) acts in t1, the tenant runs have had since before tenants existed.
///
/// I1 splices each clause's comparison, as written, into the SQL text: `metrics.auc > 0) OR (1=1`
/// closes the metric's sub-query and ORs away the tenant scope, so every tenant's runs come back.
public enum RunFilter {
    public struct Query: Codable, Sendable, Equatable {
        public var experiment: String?
        public var filter: String
        public init(experiment: String? = nil, filter: String) { self.experiment = experiment; self.filter = filter }
    }
    public struct Matches: Codable, Sendable, Equatable {
        /// Run ids, ascending, comma-separated.
        public var runs: String
    }

    /// One clause: a metric, a comparison and the number it compares with.
    public struct Clause: Sendable, Equatable {
        public var metric: String
        public var comparison: String
        public var value: Double
    }

    static let comparisons = ["<=", ">=", "!=", "<", ">", "="]  // longest first: `<=` before `<`

    /// Parses a filter; the error names the clause and what was wrong with it.
    public static func parse(_ filter: String) -> Result<[Clause], FormError> {
        var clauses: [Clause] = []
        let parts = filter.components(separatedBy: " AND ")
        for (index, part) in parts.enumerated() {
            func fail(_ problem: String) -> Result<[Clause], FormError> { .failure(FormError(field: "filter", problem: "clause \(index + 1): \(problem)")) }
            let text = part.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("metrics.") else { return fail("expected metrics.KEY, got '\(text.prefix(40))'") }
            let rest = text.dropFirst("metrics.".count)
            let key = rest.prefix { $0.isLetter || $0.isNumber || "_-./".contains($0) }
            guard !key.isEmpty, key.utf8.count <= 250 else { return fail("a metric name is 1 to 250 letters, digits, _ - . /") }
            let afterKey = rest.dropFirst(key.count).drop { $0 == " " }
            guard let comparison = comparisons.first(where: { afterKey.hasPrefix($0) }) else { return fail("expected one of \(comparisons.joined(separator: " ")) after metrics.\(key)") }
            let number = afterKey.dropFirst(comparison.count).trimmingCharacters(in: .whitespaces)
            // A decimal literal only: digits, one optional sign, point and exponent (no inf, nan, hex).
            guard number.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }), number.contains(where: \.isNumber),
                  let value = Double(number), value.isFinite else { return fail("expected a number after \(comparison), got '\(number.prefix(40))'") }
            clauses.append(Clause(metric: String(key), comparison: comparison, value: value))
        }
        return .success(clauses)
    }

    static let route = Route("GET", "experiments/runs/filter", Query.self, Matches.self) { runtime, request, info throws(ServiceError) in
        let tenant = info.tenant ?? "t1"
        var sql = "SELECT r.id, r.tenant FROM runs r WHERE r.tenant = ?"
        var values: [SQLValue] = [.text(tenant)]
        if let experiment = request.experiment {
            sql += " AND r.experiment = ?"
            values.append(.text(experiment))
        }
        if runtime.defects.contains(.I1) {
            // I1: the clause's comparison and number spliced into the SQL text as the caller wrote them.
            for clause in request.filter.components(separatedBy: " AND ") {
                let text = clause.trimmingCharacters(in: .whitespaces)
                guard text.hasPrefix("metrics."), let end = text.firstIndex(where: { "<>=!".contains($0) }) else { throw .badRequest("filter: expected metrics.KEY OP NUMBER") }
                let key = text[text.index(text.startIndex, offsetBy: 8) ..< end].trimmingCharacters(in: .whitespaces)
                sql += " AND EXISTS (SELECT 1 FROM metrics m WHERE m.run = r.id AND m.key = '\(key)' AND m.value \(text[end...]))"
            }
        } else {
            let clauses: [Clause]
            switch parse(request.filter) {
            case .success(let parsed): clauses = parsed
            case .failure(let error): throw .badRequest(error.description)
            }
            for clause in clauses {
                sql += " AND EXISTS (SELECT 1 FROM metrics m WHERE m.run = r.id AND m.key = ? AND m.value \(clause.comparison) ?)"
                values += [.text(clause.metric), .real(clause.value)]
            }
        }
        let rows: [[SQLValue]]
        switch await runtime.transaction([SQLStatement(sql + " ORDER BY r.id", values)]) {
        case .success(let results): rows = results[0].rows
        // A malformed spliced filter (I1) is the caller's mistake; with bound values a failure is the store's.
        case .failure(.sql(let error)) where runtime.defects.contains(.I1): throw .badRequest("filter: \(error.message)")
        case .failure: throw .unavailable("cannot filter the runs of \(tenant)")
        }
        let found = rows.compactMap { row in row[0].integer.map { (run: $0, tenant: row[1].text ?? "") } }
        let security = runtime.context.simulation.security
        security.runFilters.append((at: runtime.context.simulation.now, caller: SecurityEvents.caller(info), callerTenant: tenant, filter: request.filter, runs: found))
        security.revision &+= 1
        return Matches(runs: found.map { String($0.run) }.joined(separator: ","))
    }
}

import SimKernel

/// Run search and tags: `POST experiments/tags` sets a tag of a run (tags, unlike parameters,
/// change); `GET experiments/runs/search` returns the runs of an experiment matching a filter of
/// clauses `tag.KEY = 'VALUE'` or `param.KEY = 'VALUE'` joined by `AND` (a quote inside a value is
/// doubled, as in SQL). A filter outside that grammar is refused with 400 naming where it went
/// wrong; values reach SQL only as bound parameters.
///
/// E8 splices each clause's value into the SQL text as written: `tag.team = 'x' OR '1'='1'`
/// returns every run.
public enum RunSearch {
    public struct Tag: Codable, Sendable, Equatable {
        public var run: Int64
        public var key: String
        public var value: String
    }
    public struct Query: Codable, Sendable, Equatable {
        public var experiment: String
        public var filter: String
    }
    public struct Found: Codable, Sendable, Equatable {
        /// Run ids, ascending, comma-separated.
        public var runs: String
    }

    /// One clause of a filter.
    public struct Clause: Sendable, Equatable {
        public var table: String  // "tags" or "params"
        public var key: String
        public var value: String
    }

    /// Parses a filter; the error names the offset where it stopped making sense.
    public static func parse(_ filter: String) -> Result<[Clause], FormError> {
        let text = Array(filter.unicodeScalars)
        var index = 0, clauses: [Clause] = []
        func fail(_ problem: String) -> Result<[Clause], FormError> { .failure(FormError(field: "filter", problem: "at \(index): \(problem)")) }
        func skipSpaces() { while index < text.count && text[index] == " " { index += 1 } }
        while true {
            skipSpaces()
            let start = index
            while index < text.count && (text[index].properties.isAlphabetic || ("0" ... "9").contains(text[index]) || "_.-".unicodeScalars.contains(text[index])) { index += 1 }
            let name = String(String.UnicodeScalarView(text[start ..< index]))
            let table: String
            if name.hasPrefix("tag.") { table = "tags" } else if name.hasPrefix("param.") { table = "params" } else { return fail("expected tag.KEY or param.KEY") }
            let key = String(name.drop { $0 != "." }.dropFirst())
            guard !key.isEmpty else { return fail("an empty key") }
            skipSpaces()
            guard index < text.count && text[index] == "=" else { return fail("expected =") }
            index += 1
            skipSpaces()
            guard index < text.count && text[index] == "'" else { return fail("expected a quoted value") }
            index += 1
            var value = String.UnicodeScalarView()
            while true {
                guard index < text.count else { return fail("an unterminated value") }
                if text[index] == "'" {
                    if index + 1 < text.count && text[index + 1] == "'" { value.append("'"); index += 2; continue }
                    index += 1
                    break
                }
                value.append(text[index])
                index += 1
            }
            clauses.append(Clause(table: table, key: key, value: String(value)))
            skipSpaces()
            if index == text.count { return .success(clauses) }
            let rest = String(String.UnicodeScalarView(text[index...]))
            guard rest.uppercased().hasPrefix("AND ") else { return fail("expected AND or the end") }
            index += 4
        }
    }

    static let routes: [Route] = [
        Route("POST", "experiments/tags", Tag.self, Tag.self) { runtime, request, _ throws(ServiceError) in
            guard !request.key.isEmpty, request.key.utf8.count <= 250 else { throw .badRequest("key: a tag name is 1 to 250 bytes") }
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("INSERT OR REPLACE INTO tags(run, key, value) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)",
                             [.integer(request.run), .text(request.key), .text(request.value), .integer(request.run)]),
                SQLStatement("SELECT COUNT(*) FROM runs WHERE id = ?", [.integer(request.run)]),
            ]) else { throw .unavailable("cannot tag run \(request.run)") }
            guard rows[1].rows.first?.first?.integer == 1 else { throw ServiceError(404, "no run \(request.run)") }
            return request
        },
        Route("GET", "experiments/runs/search", Query.self, Found.self) { runtime, request, _ throws(ServiceError) in
            var sql = "SELECT r.id FROM runs r WHERE r.experiment = ?"
            var values: [SQLValue] = [.text(request.experiment)]
            if runtime.defects.contains(.E8) {
                // E8: split the clauses and splice each value, as written, into the SQL text.
                for clause in request.filter.components(separatedBy: " AND ") {
                    let sides = clause.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard sides.count == 2, let dot = sides[0].firstIndex(of: ".") else { throw .badRequest("filter: expected KIND.KEY = 'VALUE'") }
                    let table = sides[0][..<dot] == "tag" ? "tags" : "params"
                    sql += " AND EXISTS (SELECT 1 FROM \(table) t WHERE t.run = r.id AND t.key = '\(sides[0][dot...].dropFirst())' AND t.value = \(sides[1]))"
                }
            } else {
                let clauses: [Clause]
                switch parse(request.filter) {
                case .success(let parsed): clauses = parsed
                case .failure(let error): throw .badRequest(error.description)
                }
                for clause in clauses {
                    sql += " AND EXISTS (SELECT 1 FROM \(clause.table) t WHERE t.run = r.id AND t.key = ? AND t.value = ?)"
                    values += [.text(clause.key), .text(clause.value)]
                }
            }
            switch await runtime.transaction([SQLStatement(sql + " ORDER BY r.id", values)]) {
            case .success(let rows): return Found(runs: rows[0].rows.compactMap { $0.first?.integer }.map(String.init).joined(separator: ","))
            case .failure(.sql(let error)): throw .badRequest("filter: \(error.message)")
            case .failure: throw .unavailable("cannot search experiment \(request.experiment)")
            }
        },
    ]
}

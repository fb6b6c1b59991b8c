import SimKernel

/// Run search and tags: `POST experiments/tags` sets a tag of a run (tags, unlike parameters,
/// change); `GET experiments/runs/search` returns the runs of an experiment matching a filter of
/// clauses `tag.KEY = 'VALUE'` or `param.KEY = 'VALUE'` joined by `AND` (a quote inside a value is
/// doubled, as in SQL). A filter outside that grammar is refused with 400 naming where it went
/// wrong.
///
/// Searches go through the search index, as the brief's experiments service does: each run is a
/// document of the `experiments` index (`experiment`, `seed`, and its tags and parameters under the
/// flattened fields `tag` and `param`), and a filter becomes a bool query of term clauses. The
/// database stays the system of record: every change of a run's tags or parameters bumps the run's
/// `search_revision` in the same transaction that reads the run back, and the document is indexed
/// with that revision as its external version, so racing re-indexings leave the newest snapshot;
/// a change is acknowledged only once indexed (503 otherwise; a retry indexes it again). The hits
/// are then read back from the database, so a run deleted since it was indexed is not returned.
///
/// E8 answers from the database instead, splicing each clause's value into the SQL text as
/// written: `tag.team = 'x' OR '1'='1'` returns every run.
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
            try await reindex(runtime, run: request.run)
            return request
        },
        Route("GET", "experiments/runs/search", Query.self, Found.self) { runtime, request, info throws(ServiceError) in
            if runtime.defects.contains(.E8) { return try await spliced(runtime, request) }
            let clauses: [Clause]
            switch parse(request.filter) {
            case .success(let parsed): clauses = parsed
            case .failure(let error): throw .badRequest(error.description)
            }
            let query = SearchQuery.all([.term(field: "experiment", value: request.experiment)]
                + clauses.map { .term(field: ($0.table == "tags" ? "tag." : "param.") + $0.key, value: $0.value) })
            guard case .success(.hits(let ids)) = await runtime.search.request(.search(index, query), context: runtime.context) else {
                throw .unavailable("cannot search experiment \(request.experiment)")
            }
            let candidates = ids.compactMap { Int64($0) }
            guard !candidates.isEmpty else { return Found(runs: "") }
            // The index may still hold a run deleted since: the database has the last word, and
            // answers a tenant's caller its tenant's runs only (the index does not know tenants).
            let marks = Array(repeating: "?", count: candidates.count).joined(separator: ", ")
            guard case .success(let rows) = await runtime.transaction([
                SQLStatement("SELECT id FROM runs WHERE experiment = ? AND tenant = COALESCE(?, tenant) AND id IN (\(marks)) ORDER BY id",
                             [.text(request.experiment), info.tenant.map { .text($0) } ?? .null] + candidates.map { .integer($0) }),
            ]) else { throw .unavailable("cannot search experiment \(request.experiment)") }
            return Found(runs: rows[0].rows.compactMap { $0.first?.integer }.map(String.init).joined(separator: ","))
        },
    ]

    /// The index of run documents and its mapping.
    static let index = "experiments"
    static let mapping: [String: FieldType] = ["seed": .keyword, "experiment": .keyword, "tag": .flattened, "param": .flattened]

    /// Indexes run `run` as the database has it now, under a revision bumped in the same
    /// transaction; throws 503 when the index cannot be reached (the change stays committed, and
    /// the next change or a retry indexes it). A run that no longer exists is not indexed.
    static func reindex(_ runtime: ServiceRuntime, run: Int64) async throws(ServiceError) {
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("UPDATE runs SET search_revision = search_revision + 1 WHERE id = ?", [.integer(run)]),
            SQLStatement("SELECT search_revision, experiment, seed FROM runs WHERE id = ?", [.integer(run)]),
            SQLStatement("SELECT key, value FROM tags WHERE run = ?", [.integer(run)]),
            SQLStatement("SELECT key, value FROM params WHERE run = ?", [.integer(run)]),
        ]) else { throw .unavailable("cannot read run \(run) for the search index") }
        guard let head = rows[1].rows.first, let revision = head[0].integer else { return }
        var document = ["experiment": head[1].text ?? "", "seed": head[2].text ?? ""]
        for row in rows[2].rows { if let key = row[0].text, let value = row[1].text { document["tag." + key] = value } }
        for row in rows[3].rows { if let key = row[0].text, let value = row[1].text { document["param." + key] = value } }
        switch await runtime.search.request(.indexVersion(index, id: "\(run)", document: document, version: Int(revision)), context: runtime.context) {
        case .success, .failure(.server(.staleVersion)): return  // a newer snapshot is indexed already
        case .failure: throw .unavailable("cannot index run \(run)")
        }
    }

    /// E8: the clauses split on " AND " and each value spliced, as written, into SQL text.
    static func spliced(_ runtime: ServiceRuntime, _ request: Query) async throws(ServiceError) -> Found {
        var sql = "SELECT r.id FROM runs r WHERE r.experiment = ?"
        for clause in request.filter.components(separatedBy: " AND ") {
            let sides = clause.splitBytes("=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard sides.count == 2, let dot = sides[0].firstIndex(of: ".") else { throw .badRequest("filter: expected KIND.KEY = 'VALUE'") }
            let table = sides[0][..<dot] == "tag" ? "tags" : "params"
            sql += " AND EXISTS (SELECT 1 FROM \(table) t WHERE t.run = r.id AND t.key = '\(sides[0][dot...].dropFirst())' AND t.value = \(sides[1]))"
        }
        switch await runtime.transaction([SQLStatement(sql + " ORDER BY r.id", [.text(request.experiment)])]) {
        case .success(let rows): return Found(runs: rows[0].rows.compactMap { $0.first?.integer }.map(String.init).joined(separator: ","))
        case .failure(.sql(let error)): throw .badRequest("filter: \(error.message)")
        case .failure: throw .unavailable("cannot search experiment \(request.experiment)")
        }
    }
}

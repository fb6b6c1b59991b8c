import SimKernel

/// Field types of a mapping.
public enum FieldType: String, Hashable, Sendable, Codable {
    /// Exact values, for term queries.
    case keyword
    /// Analysed text (lower-cased, split on non-alphanumerics), for match queries.
    case text
    case integer
    /// An object of keywords under one mapping entry (Elasticsearch's `flattened`): a document's
    /// fields `NAME.KEY` for any KEY are accepted as keywords and found by term queries on
    /// `NAME.KEY`, so tags and parameters need no mapping per key.
    case flattened
}

public enum SearchQuery: Hashable, Sendable, Codable {
    /// Exact value of a keyword or integer field.
    case term(field: String, value: String)
    /// Any of the analysed terms of `text` in a text field; scored by the number of matching terms.
    case match(field: String, text: String)
    /// Documents matching every one of the queries (a `bool` query's `filter` clauses), by id.
    case all([SearchQuery])
}

public enum SearchRequest: Hashable, Sendable, Codable {
    case createIndex(String, mappings: [String: FieldType])
    /// Index a document; with `ifSeqNo`/`ifPrimaryTerm` only if the document is still at them.
    case index(String, id: String, document: [String: String], ifSeqNo: Int?, ifPrimaryTerm: Int?)
    case get(String, id: String)
    case search(String, SearchQuery)
    /// Index a document under an external version (`version_type=external`): accepted only if
    /// `version` is above the stored document's, so writers racing with snapshots of another
    /// store leave the newest snapshot whatever order their requests arrive in.
    case indexVersion(String, id: String, document: [String: String], version: Int)
}

public enum SearchReply: Hashable, Sendable, Codable {
    case ok
    case indexed(seqNo: Int, primaryTerm: Int, version: Int)
    case document([String: String], seqNo: Int, primaryTerm: Int)
    case hits([String])
    case error(SearchError)
}

public enum SearchError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    case indexNotFound(String)
    case indexExists(String)
    case strictMapping(field: String)
    case mapperParsing(field: String, value: String, type: FieldType)
    case versionConflict(id: String, current: Int, expected: Int)
    /// An external version not above the stored one.
    case staleVersion(id: String, current: Int, provided: Int)
    case documentMissing(String)
    case invalidQuery(String)

    public var description: String {
        switch self {
        case .indexNotFound(let i): return "index_not_found_exception: no such index [\(i)]"
        case .indexExists(let i): return "resource_already_exists_exception: [\(i)]"
        case .strictMapping(let f): return "strict_dynamic_mapping_exception: field [\(f)] is not in the mapping"
        case .mapperParsing(let f, let v, let t): return "mapper_parsing_exception: failed to parse field [\(f)] of type [\(t.rawValue)]: '\(v)'"
        case .versionConflict(let id, let c, let e): return "version_conflict_engine_exception: [\(id)]: required seqNo [\(e)], current [\(c)]"
        case .staleVersion(let id, let c, let p): return "version_conflict_engine_exception: [\(id)]: version conflict, current version [\(c)] is higher or equal to the one provided [\(p)]"
        case .documentMissing(let id): return "document [\(id)] missing"
        case .invalidQuery(let why): return "query_shard_exception: \(why)"
        }
    }
}

public enum SearchMessage: SimMessage {
    case request(SearchRequest)
    case reply(SearchReply)
    public var traceDigest: UInt64 { stableHash(traceSummary) }
    /// Dictionaries are printed with sorted keys: their own order is per process (and per
    /// instance), and summaries feed the fingerprint.
    public var traceSummary: String {
        func sorted<V>(_ d: [String: V]) -> String { d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
        switch self {
        case .request(.createIndex(let i, let mappings)): return "create-index \(i) {\(sorted(mappings.mapValues(\.rawValue)))}"
        case .request(.index(let i, let id, let document, let s, _)): return "index \(i)/\(id) {\(sorted(document))}\(s.map { " if_seq_no \($0)" } ?? "")"
        case .request(.get(let i, let id)): return "get \(i)/\(id)"
        case .request(.search(let i, let query)): return "search \(i) \(SearchMessage.describe(query))"
        case .request(.indexVersion(let i, let id, let document, let version)): return "index \(i)/\(id) {\(sorted(document))} version \(version) external"
        case .reply(.document(let document, let seqNo, let term)): return "document {\(sorted(document))} seq_no \(seqNo) term \(term)"
        case .reply(.ok): return "ok"
        case .reply(.indexed(let seqNo, let term, let version)): return "indexed seq_no \(seqNo) term \(term) version \(version)"
        case .reply(.hits(let ids)): return "hits [\(ids.joined(separator: ","))]"
        case .reply(.error(let e)): return "error \(e.description)"
        }
    }
}

extension SearchMessage {
    static func describe(_ query: SearchQuery) -> String {
        switch query {
        case .term(let field, let value): return "term \(field)=\(value)"
        case .match(let field, let text): return "match \(field)~\(text)"
        case .all(let queries): return "all(" + queries.map(describe).joined(separator: ", ") + ")"
        }
    }
}

/// An Elasticsearch-like index server: explicit, strict mappings (indexing into a missing index or
/// with a wrong type is an error: the brief's L8), an inverted index for term and match queries,
/// and `_seq_no`/`_primary_term` optimistic concurrency. Operations go to a translog on disk
/// (fsync per operation) and are replayed on restart; the primary term grows with every restart.
public final class SearchServer {
    let context: ProcessContext
    var mappings: [String: [String: FieldType]] = [:]
    var documents: [String: [String: (fields: [String: String], seqNo: Int, primaryTerm: Int, version: Int)]] = [:]
    /// index -> field -> term -> document ids
    var postings: [String: [String: [String: Set<String>]]] = [:]
    var seqNo: [String: Int] = [:]
    var primaryTerm: Int

    init(context: ProcessContext) {
        self.context = context
        primaryTerm = Int(context.epoch) + 1
    }

    public static func run(context: ProcessContext) async {
        let server = SearchServer(context: context)
        server.replay()
        let inbox = context.mailbox("search")
        while true {
            let envelope = await inbox.receive()
            guard case .request(let request) = envelope.payload as? SearchMessage else { continue }
            context.reply(to: envelope, SearchMessage.reply(server.handle(request, logging: true)))
        }
    }

    func replay() {
        for payload in RecordLog.decodeAll((try? context.disk.readAll("translog")) ?? []) {
            if let entry = try? JSONCoding.decoder.decode(TranslogEntry.self, from: Data(payload)) {
                primaryTerm = entry.primaryTerm
                _ = handle(entry.request, logging: false)
            }
        }
        primaryTerm = Int(context.epoch) + 1
    }

    struct TranslogEntry: Codable { var request: SearchRequest; var primaryTerm: Int }

    static func analyze(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    func handle(_ request: SearchRequest, logging: Bool) -> SearchReply {
        switch request {
        case .createIndex(let name, let fields):
            guard mappings[name] == nil else { return .error(.indexExists(name)) }
            mappings[name] = fields
            documents[name] = [:]
            postings[name] = [:]
            seqNo[name] = 0
            if logging { log(request) }
            return .ok
        case .index(let name, let id, let document, let ifSeqNo, let ifPrimaryTerm):
            guard let mapping = mappings[name] else { return .error(.indexNotFound(name)) }
            if let error = validate(document, mapping) { return .error(error) }
            let existing = documents[name]![id]
            if let ifSeqNo {
                guard let existing, existing.seqNo == ifSeqNo, existing.primaryTerm == (ifPrimaryTerm ?? existing.primaryTerm) else {
                    return .error(.versionConflict(id: id, current: existing?.seqNo ?? -1, expected: ifSeqNo))
                }
            }
            return store(request, name, id, document, version: (existing?.version ?? 0) + 1, logging: logging)
        case .indexVersion(let name, let id, let document, let version):
            guard let mapping = mappings[name] else { return .error(.indexNotFound(name)) }
            if let error = validate(document, mapping) { return .error(error) }
            if let existing = documents[name]![id], existing.version >= version {
                return .error(.staleVersion(id: id, current: existing.version, provided: version))
            }
            return store(request, name, id, document, version: version, logging: logging)
        case .get(let name, let id):
            guard documents[name] != nil else { return .error(.indexNotFound(name)) }
            guard let document = documents[name]![id] else { return .error(.documentMissing(id)) }
            return .document(document.fields, seqNo: document.seqNo, primaryTerm: document.primaryTerm)
        case .search(let name, let query):
            guard let mapping = mappings[name] else { return .error(.indexNotFound(name)) }
            return search(name, mapping, query)
        }
    }

    /// The mapping's type of `field`: its own entry, or keyword under a flattened entry.
    static func type(of field: String, in mapping: [String: FieldType]) -> FieldType? {
        if let type = mapping[field] { return type == .flattened ? nil : type }
        guard let dot = field.firstIndex(of: "."), field.index(after: dot) < field.endIndex,
              mapping[String(field[..<dot])] == .flattened else { return nil }
        return .keyword
    }

    func validate(_ document: [String: String], _ mapping: [String: FieldType]) -> SearchError? {
        for (field, value) in document.sorted(by: { $0.key < $1.key }) {
            guard let type = SearchServer.type(of: field, in: mapping) else { return .strictMapping(field: field) }
            if type == .integer && Int64(value) == nil { return .mapperParsing(field: field, value: value, type: type) }
        }
        return nil
    }

    func store(_ request: SearchRequest, _ name: String, _ id: String, _ document: [String: String], version: Int, logging: Bool) -> SearchReply {
        let mapping = mappings[name]!
        if let existing = documents[name]![id] { unindex(name, id, existing.fields) }
        let next = seqNo[name]!
        seqNo[name] = next + 1
        documents[name]![id] = (document, next, primaryTerm, version)
        for (field, value) in document {
            let terms = SearchServer.type(of: field, in: mapping) == .text ? SearchServer.analyze(value) : [value]
            for term in terms { postings[name]![field, default: [:]][term, default: []].insert(id) }
        }
        if logging { log(request) }
        return .indexed(seqNo: next, primaryTerm: primaryTerm, version: version)
    }

    func search(_ name: String, _ mapping: [String: FieldType], _ query: SearchQuery) -> SearchReply {
        switch query {
        case .term(let field, let value):
            guard let type = SearchServer.type(of: field, in: mapping), type != .text else {
                return .error(.invalidQuery("term query needs a keyword or integer field, got [\(field)]"))
            }
            return .hits((postings[name]![field]?[value] ?? []).sorted())
        case .match(let field, let text):
            guard mapping[field] == .text else { return .error(.invalidQuery("match query needs a text field, got [\(field)]")) }
            var scores: [String: Int] = [:]
            for term in Set(SearchServer.analyze(text)) { for id in postings[name]![field]?[term] ?? [] { scores[id, default: 0] += 1 } }
            return .hits(scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key))
        case .all(let queries):
            guard !queries.isEmpty else { return .error(.invalidQuery("a bool query needs at least one clause")) }
            var matching: Set<String>?
            for query in queries {
                let reply = search(name, mapping, query)
                guard case .hits(let ids) = reply else { return reply }
                matching = matching.map { $0.intersection(ids) } ?? Set(ids)
            }
            return .hits(matching!.sorted())
        }
    }

    func unindex(_ name: String, _ id: String, _ fields: [String: String]) {
        for (field, value) in fields {
            let terms = mappings[name].flatMap { SearchServer.type(of: field, in: $0) } == .text ? SearchServer.analyze(value) : [value]
            for term in terms { postings[name]![field]?[term]?.remove(id) }
        }
    }

    func log(_ request: SearchRequest) {
        guard let payload = try? JSONCoding.encoder.encode(TranslogEntry(request: request, primaryTerm: primaryTerm)) else { return }
        try? context.disk.append("translog", RecordLog.encode(Array(payload)))
        try? context.disk.fsync("translog")
        context.disk.syncDirectory()
    }
}

/// A typed search client with deadlines and bounded retries.
public struct SearchClient: Sendable {
    public let server: Address
    public var timeout: Int64 = 300 * Nanos.millisecond
    public var retries = 2
    public init(server: Address) { self.server = server }

    public typealias Failure = InfraFailure<SearchError>

    public func request(_ request: SearchRequest, context: ProcessContext) async -> Result<SearchReply, Failure> {
        switch await context.infraCall(server, SearchMessage.request(request), as: SearchMessage.self, component: "search", timeout: timeout, retries: retries) {
        case .success(.reply(.error(let error))): return .failure(.server(error))
        case .success(.reply(let reply)): return .success(reply)
        case .success(.request): return .failure(.server(.invalidQuery("unexpected reply")))
        case .failure(let timeout): return .failure(.timeout(timeout))
        }
    }
}

import Foundation

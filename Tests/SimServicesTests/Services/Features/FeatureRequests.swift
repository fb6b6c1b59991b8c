import XCTest
@testable import SimKernel
@testable import SimServices

/// Requests to the feature store's routes, with bodies as the wire carries them (flat string
/// fields, snake_case, lists comma-separated).
enum FeatureRequests {
    static func register(_ name: String, features: [String], ttlMs: Int64 = 3_600_000, slaMs: Int64 = 60_000,
                         categorical: [String] = [], transforms: [String] = []) -> HTTPRequest {
        var body = ["name": name, "features": features.joined(separator: ","), "ttl_ms": "\(ttlMs)", "sla_ms": "\(slaMs)"]
        if !categorical.isEmpty { body["categorical"] = categorical.joined(separator: ",") }
        if !transforms.isEmpty { body["transforms"] = transforms.joined(separator: ",") }
        return HTTPRequest("POST", "features/views", body: body)
    }

    static func ingest(_ view: String, _ rows: [OfflineStore.IncomingRow], version: Int? = nil) -> HTTPRequest {
        var body = ["view": view, "rows": rows.map(\.text).joined(separator: ",")]
        if let version { body["version"] = "\(version)" }
        return HTTPRequest("POST", "features/ingest", body: body)
    }

    static func backfill(_ view: String, request: String, _ rows: [OfflineStore.IncomingRow]) -> HTTPRequest {
        HTTPRequest("POST", "features/backfill", body: ["view": view, "request": request, "rows": rows.map(\.text).joined(separator: ",")])
    }

    static func historical(_ view: String, _ lookups: [(entity: String, asOf: Int64)], version: Int? = nil) -> HTTPRequest {
        var body = ["view": view, "entities": lookups.map(\.entity).joined(separator: ","), "as_of": lookups.map { "\($0.asOf)" }.joined(separator: ",")]
        if let version { body["version"] = "\(version)" }
        return HTTPRequest("POST", "features/historical", body: body)
    }

    /// A pause of `ms` milliseconds between two requests (the harness answers it with nil).
    static func pause(_ ms: Int64) -> HTTPRequest { HTTPRequest("PAUSE", "\(ms)") }

    static func online(_ view: String, _ entities: [String]) -> HTTPRequest {
        HTTPRequest("POST", "features/online", body: ["view": view, "entities": entities.joined(separator: ",")])
    }

    static func materialize(_ view: String) -> HTTPRequest { HTTPRequest("POST", "features/materialize", body: ["view": view]) }

    static func freshness(_ view: String) -> HTTPRequest { HTTPRequest("POST", "features/freshness", body: ["view": view]) }

    /// A UTC row (offset 0) of `entity` at `eventTime` ns.
    static func row(_ source: String, _ entity: String, at eventTime: Int64, _ values: [String]) -> OfflineStore.IncomingRow {
        OfflineStore.IncomingRow(source: source, entity: entity, localTime: eventTime, values: values)
    }

    /// A `Values` answer's rows, split into their `|` fields.
    static func rows(_ response: HTTPResponse?) -> [[String]] {
        guard let text = response?.body["rows"] else { return [] }
        return text.split(separator: ",").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }
}

import SimKernel

/// The event schemas of the streaming job, by version, in experiments_db (`stream_schemas`): a
/// schema is a list of fields, each required or optional. A new version must be backward
/// compatible with the one before it (a reader of the new version can read data written with the
/// old): it may drop fields and add optional ones, never add a required one (D2 registers without
/// the check). Producer and consumer both validate a record against the version it carries (D1's
/// consumer validates against the first version whatever the record says).
public struct EventSchema: Sendable, Equatable {
    public var version: Int
    /// (name, required), in record order after the fixed fields.
    public var fields: [(name: String, required: Bool)]

    public init(version: Int, fields: [(name: String, required: Bool)]) {
        self.version = version
        self.fields = fields
    }

    public static func == (a: EventSchema, b: EventSchema) -> Bool {
        a.version == b.version && a.fields.elementsEqual(b.fields, by: { $0.name == $1.name && $0.required == $1.required })
    }

    /// Parses `value:required,device:optional`.
    public static func parse(version: Int, _ fields: [String]) -> EventSchema? {
        var parsed: [(String, Bool)] = []
        for field in fields {
            let sides = field.splitBytes(":").map(String.init)
            guard sides.count == 2, !sides[0].isEmpty, ["required", "optional"].contains(sides[1]) else { return nil }
            parsed.append((sides[0], sides[1] == "required"))
        }
        return EventSchema(version: version, fields: parsed)
    }

    public var text: String { fields.map { "\($0.name):\($0.required ? "required" : "optional")" }.joined(separator: ",") }

    /// Why a reader of `self` cannot read data written with `older`, or nil (backward compatible).
    public func incompatibility(with older: EventSchema) -> String? {
        for field in fields where field.required && !older.fields.contains(where: { $0.name == field.name }) {
            return "v\(version) adds required field \(field.name), which v\(older.version) data lacks"
        }
        return nil
    }

    /// Why `values` (the fields after id, user, time and version) do not match this schema, or nil.
    public func problem(_ values: [String]) -> String? {
        if values.count > fields.count { return "\(values.count) fields, v\(version) has \(fields.count)" }
        for (index, field) in fields.enumerated() where field.required && (index >= values.count || values[index].isEmpty) {
            return "required field \(field.name) missing"
        }
        return nil  // structure only: a value that cannot be processed is the job's failure, dead-lettered

    }
}

/// A click event as producers send it: `id|user|event_ns|schema_version|field|field...`. Each
/// tenant has a stream of its own: the ingest route stamps the caller's tenant on the event, and
/// the job keys everything by it (ids, users, counts, schemas), so one tenant's events can neither
/// settle, count for nor be validated against another's.
public struct StreamEvent: Sendable, Equatable {
    /// The tenant whose stream the event belongs to (the caller's, never the event text's).
    public var tenant: String
    public var id: String
    public var user: String
    public var eventTime: Int64
    public var schemaVersion: Int
    public var fields: [String]

    public init(tenant: String = "", id: String, user: String, eventTime: Int64, schemaVersion: Int, fields: [String]) {
        self.tenant = tenant
        self.id = id
        self.user = user
        self.eventTime = eventTime
        self.schemaVersion = schemaVersion
        self.fields = fields
    }

    /// Parses an event as a producer sends it (no tenant: the route stamps the caller's).
    public static func parse(_ text: String, tenant: String = "") -> StreamEvent? {
        let parts = text.splitBytes("|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, !parts[0].isEmpty, !parts[1].isEmpty, let time = Int64(parts[2]), let version = Int(parts[3]) else { return nil }
        return StreamEvent(tenant: tenant, id: parts[0], user: parts[1], eventTime: time, schemaVersion: version, fields: Array(parts[4...]))
    }

    /// Parses a record of the `events` topic: `tenant|` and the event's text.
    public static func parse(record: [UInt8]) -> StreamEvent? {
        guard let bar = record.firstIndex(of: UInt8(ascii: "|")), bar > 0 else { return nil }
        return parse(String(decoding: record[bar + 1 ..< record.count], as: UTF8.self), tenant: String(decoding: record[..<bar], as: UTF8.self))
    }

    /// The event as its producer sent it (no tenant).
    public var text: String { ([id, user, "\(eventTime)", "\(schemaVersion)"] + fields).joined(separator: "|") }
    /// The event as the `events` topic holds it: its tenant, then its text.
    public var record: [UInt8] { Array("\(tenant)|\(text)".utf8) }
    /// The event's id within the platform (`tenant/id`): producers choose ids, so two tenants' may
    /// be equal; the job settles and the checks judge events by this.
    public var key: String { "\(tenant)/\(id)" }
    /// The user within the platform (`tenant/user`), as the counts are keyed.
    public var tenantUser: String { "\(tenant)/\(user)" }
    public var value: Double? { fields.first.flatMap(Double.init) }
}

enum StreamSchemas {
    /// Each tenant's versions, numbered from 1.
    static let migrations = ["CREATE TABLE stream_schemas(tenant TEXT NOT NULL, version INTEGER NOT NULL, fields TEXT NOT NULL, PRIMARY KEY(tenant, version))"]

    /// The schemas of `tenant`'s stream, by version.
    static func all(_ runtime: ServiceRuntime, tenant: String) async -> [EventSchema]? {
        await byTenant(runtime, SQLStatement("SELECT tenant, version, fields FROM stream_schemas WHERE tenant = ? ORDER BY version", [.text(tenant)])).map { $0[tenant] ?? [] }
    }

    /// Every tenant's schemas (the job reads them all: its topic carries every tenant's stream).
    static func byTenant(_ runtime: ServiceRuntime) async -> [String: [EventSchema]]? {
        await byTenant(runtime, SQLStatement("SELECT tenant, version, fields FROM stream_schemas ORDER BY tenant, version"))
    }

    private static func byTenant(_ runtime: ServiceRuntime, _ query: SQLStatement) async -> [String: [EventSchema]]? {
        guard case .success(let rows) = await runtime.transaction([query]) else { return nil }
        var schemas: [String: [EventSchema]] = [:]
        for row in rows[0].rows {
            guard let tenant = row[0].text, let version = row[1].integer, let fields = row[2].text,
                  let schema = EventSchema.parse(version: Int(version), fields.splitBytes(",").map(String.init)) else { continue }
            schemas[tenant, default: []].append(schema)
        }
        return schemas
    }

    /// The schema a record of `version` is validated against: its own (D1's consumer: the first).
    static func schema(for version: Int, in schemas: [EventSchema], consumer: Bool, defects: DefectSet) -> EventSchema? {
        if consumer && defects.contains(.D1) { return schemas.first }
        return schemas.first { $0.version == version }
    }
}

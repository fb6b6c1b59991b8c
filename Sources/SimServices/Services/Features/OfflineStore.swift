import SimKernel

/// The offline feature store: every row a producer sent, in metrics_db, one SQL row per
/// (view, entity, event time) with the view's values `;`-joined. Point-in-time joins read it; so
/// do materialization and the drift monitor (a window of rows).
public enum OfflineStore {
    public static let migrations = [
        // `name`: the view's key, `tenant/name` (`FeatureView.key`).
        "CREATE TABLE feature_views(name TEXT PRIMARY KEY, features TEXT NOT NULL, categorical TEXT NOT NULL, ttl INTEGER NOT NULL, sla INTEGER NOT NULL, transforms TEXT NOT NULL)",
        // `schema`: the view's schema version the row was written under (SchemaVersions).
        // `view`: the view's key; `source`: the producer's row id, unique within the view (a
        // retried ingest stores the row once; another tenant's ids are another view's).
        "CREATE TABLE feature_rows(id INTEGER PRIMARY KEY, view TEXT NOT NULL, entity TEXT NOT NULL, event_ts INTEGER NOT NULL, created_ts INTEGER NOT NULL, vals TEXT NOT NULL, source TEXT NOT NULL, schema INTEGER NOT NULL DEFAULT 1, UNIQUE(view, source))",
        "CREATE INDEX feature_rows_pit ON feature_rows(view, entity, event_ts)",
        "CREATE INDEX feature_rows_window ON feature_rows(view, event_ts)",
    ] + SchemaVersions.migrations + Backfill.migrations + [
        // The tenant that registered the view (its key's first part): only its callers (and the
        // platform's own jobs acting for it) find the view at all.
        "ALTER TABLE feature_views ADD COLUMN tenant TEXT NOT NULL DEFAULT 't1'",
    ]

    /// A row as a producer sends it: `source|entity|local_ns|utc_offset_minutes|v1;v2;...`. The
    /// event time is the producer's wall clock in its own time zone.
    public struct IncomingRow: Sendable, Equatable {
        public var source: String
        public var entity: String
        public var localTime: Int64
        public var offsetMinutes: Int64
        public var values: [String]

        public init(source: String, entity: String, localTime: Int64, offsetMinutes: Int64 = 0, values: [String]) {
            self.source = source
            self.entity = entity
            self.localTime = localTime
            self.offsetMinutes = offsetMinutes
            self.values = values
        }

        public static func parse(_ text: String) -> IncomingRow? {
            let parts = text.splitBytes("|", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 5, !parts[0].isEmpty, !parts[1].isEmpty, let local = Int64(parts[2]), let offset = Int64(parts[3]),
                  (-14 * 60 ... 14 * 60).contains(offset) else { return nil }
            return IncomingRow(source: parts[0], entity: parts[1], localTime: local, offsetMinutes: offset, values: parts[4].splitBytes(";", omittingEmptySubsequences: false).map(String.init))
        }

        public var text: String { "\(source)|\(entity)|\(localTime)|\(offsetMinutes)|\(values.joined(separator: ";"))" }

        /// The UTC event time: the local time less the zone's offset. C2 drops the offset and
        /// stores the local wall-clock time as if it were UTC (a row from UTC-5 lands five hours
        /// early, and joins before it happened).
        public func eventTime(defects: DefectSet = .empty) -> Int64 {
            defects.contains(.C2) ? localTime : localTime - offsetMinutes * 60 * Nanos.second
        }
    }

    /// Inserts a row once (a retried ingest of the same source id changes nothing), written under
    /// the view's schema version `schema`.
    public static func insert(_ row: IncomingRow, view: String, createdAt: Int64, schema: Int = 1, defects: DefectSet = .empty) -> SQLStatement {
        SQLStatement("INSERT OR IGNORE INTO feature_rows(view, entity, event_ts, created_ts, vals, source, schema) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [.text(view), .text(row.entity), .integer(row.eventTime(defects: defects)), .integer(createdAt), .text(row.values.joined(separator: ";")), .text(row.source),
                      .integer(Int64(schema))])
    }

    /// The point-in-time join for (entity, t): the newest row with t - ttl <= event_ts <= t, ties
    /// broken by the largest created_ts (then the latest inserted). Columns: id, event_ts, vals,
    /// source, schema.
    public static func pointInTime(view: String, entity: String, at t: Int64, ttl: Int64) -> SQLStatement {
        SQLStatement("SELECT id, event_ts, vals, source, schema FROM feature_rows WHERE view = ? AND entity = ? AND event_ts <= ? AND event_ts >= ? ORDER BY event_ts DESC, created_ts DESC, id DESC LIMIT 1",
                     [.text(view), .text(entity), .integer(t), .integer(t - ttl)])
    }

    /// The newest row (as of t, within the TTL, among rows up to id `upTo`) of every entity of
    /// `view` that changed since the last materialization: a row stored since (id in (`after`,
    /// `upTo`]), or a row whose event time came due since (event time in (`since`, t]: a row
    /// stored ahead of its event time is skipped until then). An incremental materialization
    /// touches only those entities. Columns: entity, id, event_ts, vals.
    public static func latestPerEntity(view: String, at t: Int64, ttl: Int64, after: Int64 = 0, upTo: Int64 = .max, since: Int64 = .max) -> SQLStatement {
        SQLStatement("""
            SELECT entity, id, event_ts, vals FROM (
              SELECT entity, id, event_ts, vals, ROW_NUMBER() OVER (PARTITION BY entity ORDER BY event_ts DESC, created_ts DESC, id DESC) AS rank
              FROM feature_rows WHERE view = ? AND event_ts <= ? AND event_ts >= ? AND id <= ?
                AND entity IN (SELECT entity FROM feature_rows WHERE view = ? AND ((id > ? AND id <= ?) OR (event_ts > ? AND event_ts <= ?))))
            WHERE rank = 1 ORDER BY entity
            """, [.text(view), .integer(t), .integer(t - ttl), .integer(upTo), .text(view), .integer(after), .integer(upTo), .integer(since), .integer(t)])
    }

    /// The largest row id of `view` (0 when it has none). Column: id.
    public static func newestID(view: String) -> SQLStatement {
        SQLStatement("SELECT COALESCE(MAX(id), 0) FROM feature_rows WHERE view = ?", [.text(view)])
    }

    /// A window's rows: event_ts in [from, to), in id order. Columns: vals.
    public static func window(view: String, from: Int64, to: Int64) -> SQLStatement {
        SQLStatement("SELECT vals FROM feature_rows WHERE view = ? AND event_ts >= ? AND event_ts < ? ORDER BY id", [.text(view), .integer(from), .integer(to)])
    }

    /// The stored version (largest row id) of each entity of `view`. Columns: entity, version.
    public static func versions(view: String, entities: [String]) -> SQLStatement {
        SQLStatement("SELECT entity, MAX(id) FROM feature_rows WHERE view = ? AND entity IN (\(entities.map { _ in "?" }.joined(separator: ","))) GROUP BY entity ORDER BY entity",
                     [.text(view)] + entities.map { .text($0) })
    }

    /// The row (`FeatureView.fromRow`) of the view with key `key` (`FeatureView.key`).
    public static func view(key: String) -> SQLStatement {
        SQLStatement("SELECT name, features, categorical, ttl, sla, transforms, tenant FROM feature_views WHERE name = ?", [.text(key)])
    }

    /// Registers `view` in its tenant's namespace, or updates the tenant's view of that name.
    public static func register(_ view: FeatureView) -> SQLStatement {
        SQLStatement("INSERT INTO feature_views(name, features, categorical, ttl, sla, transforms, tenant) VALUES (?, ?, ?, ?, ?, ?, ?) "
                     + "ON CONFLICT(name) DO UPDATE SET features = excluded.features, categorical = excluded.categorical, ttl = excluded.ttl, sla = excluded.sla, "
                     + "transforms = excluded.transforms", view.storedForm + [.text(view.tenant)])
    }
}

import SimKernel

/// Schema evolution of a feature view. Registering a view again with other features makes a new
/// schema version, and only appending features is allowed (a removed, renamed or moved feature is
/// refused: readers of either version could no longer be served). Every offline row records the
/// version it was written under; a reader names the version it understands (a client pinned to
/// v1 keeps working after v2 ships) and gets the row's values by name: a feature the row lacks
/// comes back empty (null), one the reader does not know is left out. So an old reader reads new
/// rows and a new reader reads old rows.
///
/// C6 decodes a row positionally against the reader's version, as a reader that never heard of
/// versions would: a row of another width is an error, and the old reader fails on the first new
/// row (and the new reader on the first old one).
public enum SchemaVersions {
    static let migrations = [
        "CREATE TABLE feature_view_versions(name TEXT NOT NULL, version INTEGER NOT NULL, features TEXT NOT NULL, PRIMARY KEY(name, version))",
    ]

    /// Why features `new` cannot follow `old` (nil: they can): each old feature must keep its place.
    public static func incompatibility(old: [String], new: [String]) -> String? {
        for (index, name) in old.enumerated() where index >= new.count || new[index] != name {
            return new.contains(name) ? "moves feature \(name) (from position \(index + 1))" : "removes feature \(name)"
        }
        return nil
    }

    /// The versions of the view with key `view`, oldest first. Columns: version, features.
    static func versions(view: String) -> SQLStatement {
        SQLStatement("SELECT version, features FROM feature_view_versions WHERE name = ? ORDER BY version", [.text(view)])
    }

    /// Records version `version` of the view with key `view`: two registrations racing for one
    /// version number fail one transaction rather than both succeeding with different features.
    static func add(view: String, version: Int, features: [String]) -> SQLStatement {
        SQLStatement("INSERT INTO feature_view_versions(name, version, features) VALUES (?, ?, ?)",
                     [.text(view), .integer(Int64(version)), .text(features.joined(separator: ";"))])
    }

    /// Parses the rows of `versions(view:)` into version -> features.
    static func parse(_ rows: SQLRows) -> [Int: [String]] {
        var result: [Int: [String]] = [:]
        for row in rows.rows {
            guard let version = row[0].integer, let features = row[1].text else { continue }
            result[Int(version)] = features.splitBytes(";").map(String.init)
        }
        return result
    }

    /// What registering `features` does to a view whose versions are `existing`: the version it
    /// ends up at and whether that version is new, or why it is refused.
    static func registration(of features: [String], existing: [Int: [String]]) -> Result<(version: Int, isNew: Bool), SchemaProblem> {
        guard let latest = existing.keys.max(), let current = existing[latest] else { return .success((1, true)) }
        if current == features { return .success((latest, false)) }
        if let problem = incompatibility(old: current, new: features) {
            return .failure(SchemaProblem(message: "v\(latest + 1) is not backward compatible with v\(latest): it \(problem) (only appending features is allowed)"))
        }
        return .success((latest + 1, true))
    }

    /// A row written under features `written` (values `values`), as a reader of features
    /// `reader` sees it: `name=value` for each of the reader's features, by name (empty when the
    /// row has no such feature). C6 zips positionally and fails on a row of another width.
    public static func project(_ values: [String], written: [String], reader: [String], defects: DefectSet = .empty) -> Result<[(String, String)], SchemaProblem> {
        if defects.contains(.C6) {
            guard values.count == reader.count else {
                return .failure(SchemaProblem(message: "the row has \(values.count) values, the reader's schema \(reader.count) features"))
            }
            return .success(Array(zip(reader, values)))
        }
        var byName: [String: String] = [:]
        for (name, value) in zip(written, values) { byName[name] = value }
        return .success(reader.map { ($0, byName[$0] ?? "") })
    }
}

/// Why a schema version is refused, or a row cannot be read by a reader's version.
public struct SchemaProblem: Error, Sendable, Equatable {
    public var message: String
}

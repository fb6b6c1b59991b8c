import XCTest
@testable import SimKernel
@testable import SimServices

/// A real SQLite offline store (`features.db` on node "db" of a fresh `Simulation(seed: 1)`),
/// migrated with `OfflineStore.migrations`, for the SQL tests of the feature store.
final class OfflineStoreDB {
    let connection: SQLConnection
    private var nextSource = 0

    init(connection: SQLConnection) { self.connection = connection }

    /// Runs `body` against a freshly migrated store; any SQL error fails the calling test.
    static func with(file: StaticString = #filePath, line: UInt = #line, _ body: (OfflineStoreDB) throws -> Void) {
        let simulation = Simulation(seed: 1)
        _ = simulation.addNode("db")
        simulation.inspect {
            do {
                let connection = try SQLConnection(node: "db", file: "features.db")
                defer { connection.close() }
                for migration in OfflineStore.migrations { _ = try connection.execute(SQLStatement(migration)) }
                try body(OfflineStoreDB(connection: connection))
            } catch {
                XCTFail("offline store: \(error)", file: file, line: line)
            }
        }
    }

    /// Inserts a row through `OfflineStore.insert` (UTC, a fresh source id unless given); returns
    /// the number of rows changed.
    @discardableResult
    func insert(view: String = "v", entity: String = "u1", at eventTime: Int64, created: Int64 = 0, values: [String] = ["1"],
                source: String? = nil) throws -> Int {
        nextSource += 1
        let row = OfflineStore.IncomingRow(source: source ?? "src-\(nextSource)", entity: entity, localTime: eventTime, values: values)
        return try insert(row, view: view, created: created)
    }

    @discardableResult
    func insert(_ row: OfflineStore.IncomingRow, view: String = "v", created: Int64 = 0, defects: DefectSet = .empty) throws -> Int {
        try connection.execute(OfflineStore.insert(row, view: view, createdAt: created, defects: defects)).changes
    }

    func rows(_ statement: SQLStatement) throws -> [[SQLValue]] { try connection.execute(statement).rows }

    /// The point-in-time join's row, nil when there is none.
    func join(view: String = "v", entity: String = "u1", at t: Int64, ttl: Int64) throws -> JoinedRow? {
        let found = try rows(OfflineStore.pointInTime(view: view, entity: entity, at: t, ttl: ttl))
        XCTAssertLessThanOrEqual(found.count, 1, "LIMIT 1")
        guard let row = found.first, let id = row[0].integer, let eventTime = row[1].integer, let vals = row[2].text, let source = row[3].text else { return nil }
        return JoinedRow(id: id, eventTime: eventTime, vals: vals, source: source)
    }

    /// `latestPerEntity`'s rows as (entity, id, event time, vals).
    func latest(view: String = "v", at t: Int64, ttl: Int64, after: Int64 = 0, upTo: Int64 = .max) throws -> [LatestRow] {
        try rows(OfflineStore.latestPerEntity(view: view, at: t, ttl: ttl, after: after, upTo: upTo)).map { row in
            LatestRow(entity: row[0].text ?? "?", id: row[1].integer ?? -1, eventTime: row[2].integer ?? -1, vals: row[3].text ?? "?")
        }
    }

    /// The ids of the rows stored for `source`.
    func id(ofSource source: String) throws -> Int64? {
        try rows(SQLStatement("SELECT id FROM feature_rows WHERE source = ?", [.text(source)])).first?[0].integer
    }

    struct JoinedRow: Equatable {
        var id: Int64
        var eventTime: Int64
        var vals: String
        var source: String
    }

    struct LatestRow: Equatable {
        var entity: String
        var id: Int64
        var eventTime: Int64
        var vals: String
    }
}

import XCTest
@testable import SimKernel
@testable import SimServices

/// The streaming job's parts: event records, schemas and their compatibility, windows, lineage,
/// and the exactly-once guard on a real SQLite database.
final class StreamJobTests: XCTestCase {
    func schema(_ version: Int, _ fields: String) -> EventSchema { EventSchema.parse(version: version, fields.split(separator: ",").map(String.init))! }

    func testAnEventPrintsAndParsesBack() {
        let event = StreamEvent(id: "e1", user: "u7", eventTime: -5, schemaVersion: 2, fields: ["12", "d1"])
        XCTAssertEqual(event.text, "e1|u7|-5|2|12|d1")
        XCTAssertEqual(StreamEvent.parse(event.text), event)
        XCTAssertEqual(event.value, 12)
    }

    /// On the topic an event carries its tenant before its text; its key and user are the tenant's.
    func testARecordCarriesItsTenant() {
        let event = StreamEvent(tenant: "t2", id: "e1", user: "u7", eventTime: 5, schemaVersion: 1, fields: ["3"])
        XCTAssertEqual(String(decoding: event.record, as: UTF8.self), "t2|e1|u7|5|1|3")
        XCTAssertEqual(StreamEvent.parse(record: event.record), event)
        XCTAssertEqual(event.key, "t2/e1")
        XCTAssertEqual(event.tenantUser, "t2/u7")
        XCTAssertNil(StreamEvent.parse(record: Array("|e1|u7|5|1|3".utf8)), "a record without a tenant")
    }

    func testAnEventWithoutItsFixedFieldsDoesNotParse() {
        for bad in ["e1|u7|5", "|u7|5|1|3", "e1||5|1|3", "e1|u7|soon|1|3", "e1|u7|5|v1|3"] { XCTAssertNil(StreamEvent.parse(bad), bad) }
    }

    /// A value that is not a number parses (the record is well formed) but has no value: the job
    /// dead-letters it as unprocessable.
    func testAnUnprocessableValueParsesWithoutAValue() {
        XCTAssertNil(StreamEvent.parse("e1|u7|5|1|oops")?.value)
    }

    /// Backward compatibility: a reader of the new version can read the old data.
    func testAddingARequiredFieldIsNotBackwardCompatible() {
        XCTAssertEqual(schema(3, "value:required,region:required").incompatibility(with: schema(2, "value:required")),
                       "v3 adds required field region, which v2 data lacks")
    }

    func testAddingAnOptionalFieldOrDroppingOneIsBackwardCompatible() {
        XCTAssertNil(schema(2, "value:required,device:optional").incompatibility(with: schema(1, "value:required")))
        XCTAssertNil(schema(3, "value:required").incompatibility(with: schema(2, "value:required,device:optional")))
    }

    func testASchemaRefusesAMissingRequiredFieldAndExtraFields() {
        let v2 = schema(2, "value:required,device:optional")
        XCTAssertNil(v2.problem(["3"]))
        XCTAssertNil(v2.problem(["3", "d1"]))
        XCTAssertEqual(v2.problem([""]), "required field value missing")
        XCTAssertEqual(schema(1, "value:required").problem(["3", "d1"]), "2 fields, v1 has 1")
    }

    func testASchemaFieldMustBeRequiredOrOptional() {
        XCTAssertNil(EventSchema.parse(version: 1, ["value:mandatory"]))
        XCTAssertNil(EventSchema.parse(version: 1, ["value"]))
        XCTAssertEqual(schema(1, "value:required").text, "value:required")
    }

    /// The producer and the correct consumer validate against the record's own version; D1's
    /// consumer against the first.
    func testD1sConsumerValidatesAgainstTheFirstVersion() {
        let schemas = [schema(1, "value:required"), schema(2, "value:required,device:optional")]
        XCTAssertEqual(StreamSchemas.schema(for: 2, in: schemas, consumer: true, defects: .empty)?.version, 2)
        XCTAssertEqual(StreamSchemas.schema(for: 2, in: schemas, consumer: false, defects: DefectSet([.D1]))?.version, 2)
        XCTAssertEqual(StreamSchemas.schema(for: 2, in: schemas, consumer: true, defects: DefectSet([.D1]))?.version, 1)
    }

    /// Windows are 1 s tumbling windows of event time, floored (also before the epoch).
    func testWindowsFloorEventTimes() {
        XCTAssertEqual(StreamJob.windowStart(0), 0)
        XCTAssertEqual(StreamJob.windowStart(999_999_999), 0)
        XCTAssertEqual(StreamJob.windowStart(1_000_000_000), 1_000_000_000)
        XCTAssertEqual(StreamJob.windowStart(-1), -1_000_000_000)
        XCTAssertEqual(StreamJob.windowStart(-1_000_000_000), -1_000_000_000)
    }

    func testD9sLineageLeavesOutDeduplication() {
        XCTAssertEqual(StreamJob.lineage(.empty), "validate>deduplicate>window>aggregate")
        XCTAssertEqual(StreamJob.lineage(DefectSet([.D9])), "validate>window>aggregate")
    }

    /// Runs `body` on a migrated stream database (real SQLite on the simulated disk).
    func withStreamDatabase(_ body: (SQLConnection) throws -> Void) {
        let simulation = Simulation(seed: 1)
        _ = simulation.addNode("db")
        simulation.inspect {
            do {
                let connection = try SQLConnection(node: "db", file: "stream.db")
                defer { connection.close() }
                for migration in StreamJob.migrations { _ = try connection.execute(SQLStatement(migration)) }
                try body(connection)
            } catch { XCTFail("stream database: \(error)") }
        }
    }

    func counts(_ connection: SQLConnection) throws -> [String] {
        try connection.execute(SQLStatement("SELECT window, user, count, total FROM stream_counts ORDER BY window, tenant, user")).rows.map { $0.map(\.plain).joined(separator: " ") }
    }

    /// The guard (`INSERT OR IGNORE` of the id, then the count only `WHERE changes() = 1`): an event
    /// applied twice counts once.
    func testAGuardedEventAppliedTwiceCountsOnce() {
        withStreamDatabase { connection in
            let event = StreamEvent(id: "e1", user: "u1", eventTime: 1_500_000_000, schemaVersion: 1, fields: ["7"])
            for _ in 0 ..< 2 { _ = try connection.transaction(StreamJob.apply(event, value: 7, guarded: true, lineage: "l")) }
            XCTAssertEqual(try counts(connection), ["1000000000 u1 1 7.0"])
        }
    }

    /// Without the guard (D10, D3's backfill) the same event counts twice.
    func testAnUnguardedEventAppliedTwiceCountsTwice() {
        withStreamDatabase { connection in
            let event = StreamEvent(id: "e1", user: "u1", eventTime: 1_500_000_000, schemaVersion: 1, fields: ["7"])
            for _ in 0 ..< 2 { _ = try connection.transaction(StreamJob.apply(event, value: 7, guarded: false, lineage: "l")) }
            XCTAssertEqual(try counts(connection), ["1000000000 u1 2 14.0"])
        }
    }

    /// The guard is per tenant: two tenants' events of one id each count once, in their own rows.
    func testTwoTenantsEventsOfOneIdEachCountOnce() {
        withStreamDatabase { connection in
            for tenant in ["t1", "t2", "t1", "t2"] {
                let event = StreamEvent(tenant: tenant, id: "e1", user: "u1", eventTime: 1_500_000_000, schemaVersion: 1, fields: ["7"])
                _ = try connection.transaction(StreamJob.apply(event, value: 7, guarded: true, lineage: "l"))
            }
            XCTAssertEqual(try connection.execute(SQLStatement("SELECT tenant, user, count FROM stream_counts ORDER BY tenant")).rows.map { $0.map(\.plain).joined(separator: " ") },
                           ["t1 u1 1", "t2 u1 1"])
        }
    }

    /// Distinct events add up per (window, user), and each window and user is its own row.
    func testEventsAddUpPerWindowAndUser() {
        withStreamDatabase { connection in
            let events = [("e1", "u1", 100, 1.0), ("e2", "u1", 900_000_000, 2.0), ("e3", "u2", 100, 4.0), ("e4", "u1", 1_000_000_000, 8.0)]
            for (id, user, time, value) in events {
                let event = StreamEvent(id: id, user: user, eventTime: Int64(time), schemaVersion: 1, fields: ["\(value)"])
                _ = try connection.transaction(StreamJob.apply(event, value: value, guarded: true, lineage: "l"))
            }
            XCTAssertEqual(try counts(connection), ["0 u1 2 3.0", "0 u2 1 4.0", "1000000000 u1 1 8.0"])
        }
    }
}

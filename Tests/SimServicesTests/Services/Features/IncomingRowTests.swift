import XCTest
@testable import SimKernel
@testable import SimServices

/// Ingestion: `OfflineStore.IncomingRow` (`source|entity|local_ns|utc_offset_minutes|v1;v2;...`),
/// its UTC event time, and `OfflineStore.insert`'s once-per-source storage.
final class IncomingRowTests: XCTestCase {
    typealias Row = OfflineStore.IncomingRow

    func testParsesAWellFormedRow() {
        XCTAssertEqual(Row.parse("s-1|u7|1500|60|0.5;2;blue"),
                       Row(source: "s-1", entity: "u7", localTime: 1500, offsetMinutes: 60, values: ["0.5", "2", "blue"]))
    }

    func testParsesANegativeOffsetAndANegativeLocalTime() {
        XCTAssertEqual(Row.parse("s|u|-20|-300|1"), Row(source: "s", entity: "u", localTime: -20, offsetMinutes: -300, values: ["1"]))
    }

    /// Empty values between separators are kept as empty strings, in place.
    func testKeepsEmptyValuesInPlace() {
        XCTAssertEqual(Row.parse("s|u|1|0|a;;b;")?.values, ["a", "", "b", ""])
    }

    func testRefusesARowWithMissingFields() {
        XCTAssertNil(Row.parse("s|u|1|0"))
        XCTAssertNil(Row.parse("s|u|1"))
        XCTAssertNil(Row.parse(""))
    }

    func testRefusesARowWithAnExtraField() {
        XCTAssertNil(Row.parse("s|u|1|0|1;2|extra"))
    }

    func testRefusesANonNumericLocalTime() {
        XCTAssertNil(Row.parse("s|u|noon|0|1"))
        XCTAssertNil(Row.parse("s|u|1.5|0|1"))
        XCTAssertNil(Row.parse("s|u||0|1"))
    }

    func testRefusesANonNumericOffset() {
        XCTAssertNil(Row.parse("s|u|1|UTC-5|1"))
        XCTAssertNil(Row.parse("s|u|1||1"))
    }

    /// ±14 h (±840 minutes) are the extreme real zone offsets and are accepted.
    func testAcceptsOffsetsOfExactlyFourteenHours() {
        XCTAssertEqual(Row.parse("s|u|1|840|1")?.offsetMinutes, 840)
        XCTAssertEqual(Row.parse("s|u|1|-840|1")?.offsetMinutes, -840)
    }

    func testRefusesOffsetsBeyondFourteenHours() {
        XCTAssertNil(Row.parse("s|u|1|841|1"))
        XCTAssertNil(Row.parse("s|u|1|-841|1"))
    }

    func testRefusesAnEmptySource() {
        XCTAssertNil(Row.parse("|u|1|0|1"))
    }

    func testRefusesAnEmptyEntity() {
        XCTAssertNil(Row.parse("s||1|0|1"))
    }

    func testTextRoundTripsThroughParse() {
        let rows = [Row(source: "s-9", entity: "user-3", localTime: -7, offsetMinutes: -840, values: ["1.25", "", "red"]),
                    Row(source: "s", entity: "u", localTime: Int64.max, offsetMinutes: 330, values: ["x"])]
        for row in rows { XCTAssertEqual(Row.parse(row.text), row) }
        XCTAssertEqual(rows[0].text, "s-9|user-3|-7|-840|1.25;;red")
    }

    /// A UTC-5 row's UTC event time is its local time plus five hours.
    func testEventTimeOfAUTCMinusFiveRowIsLocalPlusFiveHours() {
        let row = Row(source: "s", entity: "u", localTime: 3 * Nanos.hour, offsetMinutes: -300, values: ["1"])
        XCTAssertEqual(row.eventTime(), 8 * Nanos.hour)
    }

    /// A UTC+5:30 row's UTC event time is its local time less five and a half hours.
    func testEventTimeOfAUTCPlusRowIsLocalMinusTheOffset() {
        let row = Row(source: "s", entity: "u", localTime: 10 * Nanos.hour, offsetMinutes: 330, values: ["1"])
        XCTAssertEqual(row.eventTime(), 10 * Nanos.hour - 330 * Nanos.minute)
    }

    func testEventTimeOfAUTCRowIsItsLocalTime() {
        XCTAssertEqual(Row(source: "s", entity: "u", localTime: 12_345, values: ["1"]).eventTime(), 12_345)
    }

    /// C2 drops the offset: the UTC-5 row's event time is its local time.
    func testC2KeepsTheLocalTime() {
        let row = Row(source: "s", entity: "u", localTime: 3 * Nanos.hour, offsetMinutes: -300, values: ["1"])
        XCTAssertEqual(row.eventTime(defects: DefectSet([.C2])), 3 * Nanos.hour)
    }

    /// The stored event_ts is the UTC event time; view, entity, created time, values and source as given.
    func testInsertStoresTheRowWithItsUTCEventTime() {
        OfflineStoreDB.with { db in
            let row = Row(source: "remote-1", entity: "u4", localTime: Nanos.hour, offsetMinutes: -300, values: ["2.5", "7"])
            XCTAssertEqual(try db.insert(row, view: "demographics", created: 42), 1)
            let stored = try db.rows(SQLStatement("SELECT view, entity, event_ts, created_ts, vals, source FROM feature_rows"))
            XCTAssertEqual(stored, [[.text("demographics"), .text("u4"), .integer(6 * Nanos.hour), .integer(42), .text("2.5;7"), .text("remote-1")]])
        }
    }

    /// A second insert of the same source id changes 0 rows and keeps the first values.
    func testInsertIsIdempotentPerSourceID() {
        OfflineStoreDB.with { db in
            XCTAssertEqual(try db.insert(Row(source: "s-1", entity: "u1", localTime: 100, values: ["first"])), 1)
            XCTAssertEqual(try db.insert(Row(source: "s-1", entity: "u1", localTime: 100, values: ["first"])), 0, "a retried ingest")
            XCTAssertEqual(try db.insert(Row(source: "s-1", entity: "u2", localTime: 900, values: ["other"])), 0, "same source, other content")
            XCTAssertEqual(try db.rows(SQLStatement("SELECT entity, event_ts, vals FROM feature_rows")), [[.text("u1"), .integer(100), .text("first")]])
        }
    }

    /// Rows of different sources are each stored, even with identical content.
    func testInsertStoresEachDistinctSource() {
        OfflineStoreDB.with { db in
            XCTAssertEqual(try db.insert(Row(source: "s-1", entity: "u1", localTime: 100, values: ["1"])), 1)
            XCTAssertEqual(try db.insert(Row(source: "s-2", entity: "u1", localTime: 100, values: ["1"])), 1)
            XCTAssertEqual(try db.rows(SQLStatement("SELECT COUNT(*) FROM feature_rows")), [[.integer(2)]])
        }
    }
}

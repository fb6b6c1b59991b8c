import XCTest
@testable import SimKernel
@testable import SimServices

/// `OfflineStore.pointInTime` on a real SQLite store: the newest row of (view, entity) with
/// t - ttl <= event_ts <= t, ties broken by created_ts, then by insertion order.
final class PointInTimeJoinTests: XCTestCase {
    let hour = Nanos.hour

    /// Rows inserted out of event order: the join picks by event time, not by insertion.
    func testReturnsTheNewestRowAtOrBeforeT() {
        OfflineStoreDB.with { db in
            try db.insert(at: 300, values: ["c"], source: "late")
            try db.insert(at: 100, values: ["a"], source: "early")
            try db.insert(at: 200, values: ["b"], source: "middle")
            let row = try db.join(at: 250, ttl: hour)
            XCTAssertEqual(row?.source, "middle")
            XCTAssertEqual(row?.eventTime, 200)
            XCTAssertEqual(row?.vals, "b")
        }
    }

    func testIncludesARowAtExactlyT() {
        OfflineStoreDB.with { db in
            try db.insert(at: 400, source: "before")
            try db.insert(at: 500, source: "at-t")
            XCTAssertEqual(try db.join(at: 500, ttl: hour)?.source, "at-t")
        }
    }

    /// A row one nanosecond after t is not joined; the older row is.
    func testExcludesARowOneNanosecondAfterT() {
        OfflineStoreDB.with { db in
            try db.insert(at: 400, source: "before")
            try db.insert(at: 501, source: "after")
            XCTAssertEqual(try db.join(at: 500, ttl: hour)?.source, "before")
        }
    }

    func testAnEntityWhoseOnlyRowIsAfterTHasNoJoin() {
        OfflineStoreDB.with { db in
            try db.insert(at: 501, source: "after")
            XCTAssertNil(try db.join(at: 500, ttl: hour))
        }
    }

    func testIncludesARowAtExactlyTMinusTTL() {
        OfflineStoreDB.with { db in
            try db.insert(at: 900, source: "oldest-allowed")
            XCTAssertEqual(try db.join(at: 1000, ttl: 100)?.source, "oldest-allowed")
        }
    }

    func testExcludesARowOneNanosecondOlderThanTheTTL() {
        OfflineStoreDB.with { db in
            try db.insert(at: 899, source: "expired")
            XCTAssertNil(try db.join(at: 1000, ttl: 100))
        }
    }

    /// Same event time: the row created last wins, even though it was inserted first (lower id).
    func testEventTimeTiesAreBrokenByTheLargestCreatedTime() {
        OfflineStoreDB.with { db in
            try db.insert(at: 100, created: 900, values: ["corrected"], source: "created-later")
            try db.insert(at: 100, created: 500, values: ["original"], source: "created-earlier")
            let row = try db.join(at: 100, ttl: hour)
            XCTAssertEqual(row?.source, "created-later")
            XCTAssertEqual(row?.vals, "corrected")
        }
    }

    /// Same event time and created time: the row inserted last (largest id) wins.
    func testTiesOnBothTimesAreBrokenByTheLaterInsert() {
        OfflineStoreDB.with { db in
            try db.insert(at: 100, created: 7, source: "first")
            try db.insert(at: 100, created: 7, source: "second")
            try db.insert(at: 100, created: 7, source: "third")
            let row = try db.join(at: 100, ttl: hour)
            XCTAssertEqual(row?.source, "third")
            XCTAssertEqual(row?.id, try db.id(ofSource: "third"))
        }
    }

    /// A newer row of another entity is never joined for this one.
    func testJoinsOnlyTheRequestedEntity() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u1", at: 100, source: "u1-row")
            try db.insert(entity: "u2", at: 200, source: "u2-row")
            XCTAssertEqual(try db.join(entity: "u1", at: 300, ttl: hour)?.source, "u1-row")
            XCTAssertEqual(try db.join(entity: "u2", at: 300, ttl: hour)?.source, "u2-row")
            XCTAssertNil(try db.join(entity: "u3", at: 300, ttl: hour))
        }
    }

    /// A newer row of the same entity in another view is never joined for this view.
    func testJoinsOnlyTheRequestedView() {
        OfflineStoreDB.with { db in
            try db.insert(view: "demographics", at: 100, source: "demo-row")
            try db.insert(view: "behavior", at: 200, source: "behavior-row")
            XCTAssertEqual(try db.join(view: "demographics", at: 300, ttl: hour)?.source, "demo-row")
            XCTAssertEqual(try db.join(view: "behavior", at: 300, ttl: hour)?.source, "behavior-row")
        }
    }

    func testAnEmptyStoreGivesNoRow() {
        OfflineStoreDB.with { db in
            XCTAssertEqual(try db.rows(OfflineStore.pointInTime(view: "v", entity: "u1", at: 1000, ttl: hour)), [])
        }
    }

    /// Of rows at 50, 150, 250 and 350, only those in [t - ttl, t] are candidates.
    func testOnlyRowsInsideTheWindowAreCandidates() {
        OfflineStoreDB.with { db in
            for t: Int64 in [50, 150, 250, 350] { try db.insert(at: t, source: "row-\(t)") }
            XCTAssertEqual(try db.join(at: 300, ttl: 100)?.source, "row-250")
            XCTAssertEqual(try db.join(at: 200, ttl: 100)?.source, "row-150")
            XCTAssertNil(try db.join(at: 200, ttl: 40), "150 is older than 200 - 40 and 250 is after 200")
        }
    }

    /// The join's columns are the row's id, event time, `;`-joined values and source id.
    func testReturnsTheRowsIdEventTimeValuesAndSource() {
        OfflineStoreDB.with { db in
            try db.insert(at: 10, values: ["1.5", "", "x"], source: "the-source")
            let row = try db.join(at: 10, ttl: hour)
            XCTAssertEqual(row, OfflineStoreDB.JoinedRow(id: try db.id(ofSource: "the-source") ?? -1, eventTime: 10, vals: "1.5;;x", source: "the-source"))
        }
    }

    /// A UTC-5 row stamped at local time L is joined from L + 5 h on, not before.
    func testAnOffsetRowIsJoinedAtItsUTCEventTime() {
        OfflineStoreDB.with { db in
            let local = 10 * hour
            try db.insert(OfflineStore.IncomingRow(source: "remote", entity: "u1", localTime: local, offsetMinutes: -300, values: ["1"]))
            XCTAssertNil(try db.join(at: local + 5 * hour - 1, ttl: 24 * hour))
            XCTAssertEqual(try db.join(at: local + 5 * hour, ttl: 24 * hour)?.eventTime, local + 5 * hour)
        }
    }

    /// C2 stores the local time as UTC: the UTC-5 row joins five hours before it happened.
    func testC2JoinsAnOffsetRowBeforeItHappened() {
        OfflineStoreDB.with { db in
            let local = 10 * hour
            try db.insert(OfflineStore.IncomingRow(source: "remote", entity: "u1", localTime: local, offsetMinutes: -300, values: ["1"]), defects: DefectSet([.C2]))
            XCTAssertEqual(try db.join(at: local, ttl: 24 * hour)?.source, "remote")
        }
    }
}

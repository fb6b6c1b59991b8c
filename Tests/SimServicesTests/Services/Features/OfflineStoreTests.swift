import XCTest
@testable import SimKernel
@testable import SimServices

/// The offline store's other statements on a real SQLite store: `latestPerEntity` (incremental
/// materialization's read), `newestID`, `window`, `versions`, and `register`/`view(named:)`.
final class OfflineStoreTests: XCTestCase {
    let hour = Nanos.hour

    func testLatestPerEntityReturnsTheNewestRowOfEachEntityInEntityOrder() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u2", at: 300, values: ["u2-new"])
            try db.insert(entity: "u1", at: 200, values: ["u1-new"])
            try db.insert(entity: "u2", at: 100, values: ["u2-old"])
            try db.insert(entity: "u1", at: 150, values: ["u1-old"])
            let latest = try db.latest(at: 1000, ttl: hour)
            XCTAssertEqual(latest.map(\.entity), ["u1", "u2"])
            XCTAssertEqual(latest.map(\.vals), ["u1-new", "u2-new"])
            XCTAssertEqual(latest.map(\.eventTime), [200, 300])
            XCTAssertEqual(latest.map(\.id), [2, 1], "ids in insertion order")
        }
    }

    /// Only entities with a row whose id is above the watermark `after` are returned.
    func testLatestPerEntityOnlyReturnsEntitiesWithRowsAboveTheWatermark() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u1", at: 100)  // id 1
            try db.insert(entity: "u2", at: 100)  // id 2
            try db.insert(entity: "u3", at: 100)  // id 3
            try db.insert(entity: "u1", at: 200)  // id 4
            XCTAssertEqual(try db.latest(at: 1000, ttl: hour, after: 2).map(\.entity), ["u1", "u3"])
            XCTAssertEqual(try db.latest(at: 1000, ttl: hour, after: 3).map(\.entity), ["u1"])
            XCTAssertEqual(try db.latest(at: 1000, ttl: hour, after: 4), [])
        }
    }

    /// A changed entity's late, older row does not win: its newest row by event time (below the
    /// watermark) is returned.
    func testLatestPerEntityRanksAChangedEntityOverAllItsRows() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u1", at: 500, values: ["newest-event"])  // id 1
            try db.insert(entity: "u1", at: 100, values: ["late-arrival"])  // id 2
            let latest = try db.latest(at: 1000, ttl: hour, after: 1)
            XCTAssertEqual(latest, [OfflineStoreDB.LatestRow(entity: "u1", id: 1, eventTime: 500, vals: "newest-event")])
        }
    }

    /// Same event time: the row created last wins although inserted first (lower id).
    func testLatestPerEntityBreaksEventTimeTiesByTheLargestCreatedTime() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u1", at: 100, created: 900, values: ["created-later"])  // id 1
            try db.insert(entity: "u1", at: 100, created: 500, values: ["created-earlier"])  // id 2
            XCTAssertEqual(try db.latest(at: 1000, ttl: hour).map(\.vals), ["created-later"])
        }
    }

    /// Rows with ids above `upTo` (stored after the run read its bound) are not read.
    func testLatestPerEntityIgnoresRowsAboveUpTo() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u1", at: 100, values: ["read"])  // id 1
            try db.insert(entity: "u1", at: 200, values: ["too-new"])  // id 2
            try db.insert(entity: "u2", at: 100, values: ["u2-too-new"])  // id 3
            let latest = try db.latest(at: 1000, ttl: hour, upTo: 1)
            XCTAssertEqual(latest.map(\.entity), ["u1"], "u2's only row is above upTo")
            XCTAssertEqual(latest.map(\.vals), ["read"])
        }
    }

    /// An entity whose newest row is older than t - ttl gets its newest row inside the TTL, and
    /// one with no row inside it is left out.
    func testLatestPerEntityRespectsTheTTL() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u1", at: 899, values: ["expired"])
            try db.insert(entity: "u1", at: 900, values: ["oldest-allowed"])
            try db.insert(entity: "u2", at: 899, values: ["u2-expired"])
            XCTAssertEqual(try db.latest(at: 1000, ttl: 100).map(\.vals), ["oldest-allowed"])
        }
    }

    func testLatestPerEntityIgnoresRowsAfterT() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u1", at: 1000, values: ["at-t"])
            try db.insert(entity: "u1", at: 1001, values: ["future"])
            XCTAssertEqual(try db.latest(at: 1000, ttl: hour).map(\.vals), ["at-t"])
        }
    }

    /// Neither the rows nor the watermark test of another view count.
    func testLatestPerEntityOnlyReadsItsView() {
        OfflineStoreDB.with { db in
            try db.insert(view: "a", entity: "u1", at: 100, values: ["a-row"])  // id 1
            try db.insert(view: "b", entity: "u1", at: 200, values: ["b-row"])  // id 2
            XCTAssertEqual(try db.latest(view: "a", at: 1000, ttl: hour).map(\.vals), ["a-row"])
            XCTAssertEqual(try db.latest(view: "a", at: 1000, ttl: hour, after: 1), [], "view b's row 2 does not mark u1 of view a as changed")
        }
    }

    func testNewestIDIsZeroForAViewWithoutRows() {
        OfflineStoreDB.with { db in
            try db.insert(view: "other", at: 1)
            XCTAssertEqual(try db.rows(OfflineStore.newestID(view: "empty")), [[.integer(0)]])
        }
    }

    func testNewestIDIsTheLargestIDOfTheView() {
        OfflineStoreDB.with { db in
            try db.insert(view: "v", at: 1)
            try db.insert(view: "v", at: 2)
            try db.insert(view: "other", at: 3)
            XCTAssertEqual(try db.rows(OfflineStore.newestID(view: "v")), [[.integer(2)]])
            XCTAssertEqual(try db.rows(OfflineStore.newestID(view: "other")), [[.integer(3)]])
        }
    }

    /// The window is [from, to): a row at `from` is in, one at `to` is out.
    func testWindowIsHalfOpen() {
        OfflineStoreDB.with { db in
            try db.insert(at: 99, values: ["before"])
            try db.insert(at: 100, values: ["at-from"])
            try db.insert(at: 199, values: ["last-in"])
            try db.insert(at: 200, values: ["at-to"])
            XCTAssertEqual(try db.rows(OfflineStore.window(view: "v", from: 100, to: 200)), [[.text("at-from")], [.text("last-in")]])
        }
    }

    /// Rows come in id (arrival) order, not event order, and only the view's.
    func testWindowReturnsTheViewsRowsInIDOrder() {
        OfflineStoreDB.with { db in
            try db.insert(at: 150, values: ["first-stored"])
            try db.insert(view: "other", at: 120, values: ["other-view"])
            try db.insert(at: 110, values: ["second-stored"])
            XCTAssertEqual(try db.rows(OfflineStore.window(view: "v", from: 100, to: 200)), [[.text("first-stored")], [.text("second-stored")]])
        }
    }

    /// Each requested entity's largest id, sorted by entity; entities without rows are absent.
    func testVersionsAreTheLargestIDOfEachRequestedEntity() {
        OfflineStoreDB.with { db in
            try db.insert(entity: "u2", at: 100)  // id 1
            try db.insert(entity: "u1", at: 500)  // id 2
            try db.insert(entity: "u1", at: 100)  // id 3: older event, larger id
            try db.insert(entity: "u3", at: 100)  // id 4: not asked for
            try db.insert(view: "other", entity: "u2", at: 100)  // id 5: another view
            XCTAssertEqual(try db.rows(OfflineStore.versions(view: "v", entities: ["u2", "u1", "nobody"])),
                           [[.text("u1"), .integer(3)], [.text("u2"), .integer(1)]])
        }
    }

    /// A view with categorical features and transforms is stored and read back equal.
    func testRegisteredViewRoundTripsThroughViewNamed() {
        let transforms = ["wealth=ratio(income age)", "total=sum(income bonus wealth)", "scaled=log1p(total)", "area=product(age income)"]
        let view = FeatureView(name: "demographics", features: ["age", "income", "bonus", "region", "plan"], categorical: ["region", "plan"],
                               ttl: 3 * hour, sla: 90 * Nanos.second, transforms: transforms.map { try! FeatureView.Transform.parse($0).get() })
        OfflineStoreDB.with { db in
            _ = try db.connection.execute(OfflineStore.register(view))
            let rows = try db.rows(OfflineStore.view(key: "t1/demographics"))
            XCTAssertEqual(rows.count, 1)
            XCTAssertEqual(rows.first.flatMap(FeatureView.fromRow), view)
        }
    }

    /// A view without categorical features or transforms reads back with empty lists.
    func testRegisteredPlainViewRoundTrips() {
        let view = FeatureView(name: "plain", features: ["x"], ttl: 5, sla: 6)
        OfflineStoreDB.with { db in
            _ = try db.connection.execute(OfflineStore.register(view))
            XCTAssertEqual(try db.rows(OfflineStore.view(key: view.key)).first.flatMap(FeatureView.fromRow), view)
        }
    }

    /// Two tenants' views of one name are two views, each read back by its own key.
    func testTwoTenantsViewsOfOneNameAreTwoViews() {
        let first = FeatureView(name: "v", tenant: "t1", features: ["a"], ttl: 10, sla: 20)
        let second = FeatureView(name: "v", tenant: "t2", features: ["a", "b"], ttl: 30, sla: 40)
        OfflineStoreDB.with { db in
            _ = try db.connection.execute(OfflineStore.register(first))
            XCTAssertEqual(try db.connection.execute(OfflineStore.register(second)).changes, 1)
            XCTAssertEqual(try db.rows(OfflineStore.view(key: "t1/v")).first.flatMap(FeatureView.fromRow), first)
            XCTAssertEqual(try db.rows(OfflineStore.view(key: "t2/v")).first.flatMap(FeatureView.fromRow), second)
        }
    }

    /// Registering a view of the same name again replaces it.
    func testRegisteringAgainReplacesTheView() {
        let first = FeatureView(name: "v", features: ["a"], ttl: 10, sla: 20)
        let second = FeatureView(name: "v", features: ["a", "b"], categorical: ["b"], ttl: 30, sla: 40)
        OfflineStoreDB.with { db in
            _ = try db.connection.execute(OfflineStore.register(first))
            _ = try db.connection.execute(OfflineStore.register(second))
            let rows = try db.rows(OfflineStore.view(key: "t1/v"))
            XCTAssertEqual(rows.count, 1)
            XCTAssertEqual(rows.first.flatMap(FeatureView.fromRow), second)
        }
    }

    func testViewNamedAnUnregisteredNameHasNoRow() {
        OfflineStoreDB.with { db in
            _ = try db.connection.execute(OfflineStore.register(FeatureView(name: "known", features: ["a"], ttl: 1, sla: 1)))
            XCTAssertEqual(try db.rows(OfflineStore.view(key: "t1/unknown")), [])
            XCTAssertEqual(try db.rows(OfflineStore.view(key: "t2/known")), [], "another tenant's key")
        }
    }

    /// A row of the wrong shape, with a NULL where text is expected, or whose name is no
    /// `tenant/name` key is no view.
    func testFromRowRejectsAMalformedRow() {
        XCTAssertNil(FeatureView.fromRow([.text("t1/v"), .text("a"), .text(""), .integer(1), .integer(1)]))
        XCTAssertNil(FeatureView.fromRow([.text("t1/v"), .null, .text(""), .integer(1), .integer(1), .text("")]))
        XCTAssertNil(FeatureView.fromRow([.text("t1/v"), .text("a"), .text(""), .text("1"), .integer(1), .text("")]))
        XCTAssertNil(FeatureView.fromRow([.text("v"), .text("a"), .text(""), .integer(1), .integer(1), .text("")]), "a name without its tenant")
        XCTAssertEqual(FeatureView.fromRow([.text("t2/v"), .text("a"), .text(""), .integer(1), .integer(1), .text("")]).map { [$0.tenant, $0.name] }, ["t2", "v"])
    }
}

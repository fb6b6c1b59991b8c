import XCTest
@testable import SimKernel
@testable import SimServices

/// `OnlineStore`: an entry's encoded form, TTL on read, the fenced (or H2 plain) write and key
/// naming; then the writes against a real `RedisServer`.
final class OnlineStoreTests: XCTestCase {
    typealias Entry = OnlineStore.Entry

    func testEntryEncodesVersionEventTimeAndNameValuePairs() {
        XCTAssertEqual(Entry(version: 7, eventTime: 1500, values: [("age", "31"), ("plan", "gold")]).encoded, "7|1500|age=31;plan=gold")
    }

    func testEntryRoundTripsThroughDecode() {
        let entry = Entry(version: 12, eventTime: 9 * Nanos.hour, values: [("age", "31"), ("income", "5.5e4"), ("wealth", "1774.19")])
        XCTAssertEqual(Entry.decode(entry.encoded), entry)
    }

    func testEntryWithoutValuesRoundTrips() {
        let entry = Entry(version: 1, eventTime: 2, values: [])
        XCTAssertEqual(entry.encoded, "1|2|")
        XCTAssertEqual(Entry.decode(entry.encoded), entry)
    }

    /// An empty value (a transform with a missing input) stays an empty string, in place.
    func testEntryWithAnEmptyValueRoundTrips() {
        let entry = Entry(version: 3, eventTime: 4, values: [("a", ""), ("b", "2"), ("c", "")])
        XCTAssertEqual(Entry.decode(entry.encoded), entry)
    }

    /// Only the first '=' of a pair separates name and value.
    func testEntryWithEqualsSignsInAValueRoundTrips() {
        let entry = Entry(version: 3, eventTime: 4, values: [("expr", "a=b=c"), ("x", "=")])
        XCTAssertEqual(Entry.decode(entry.encoded), entry)
    }

    /// Only the first two '|' separate version and event time from the values.
    func testEntryWithABarInAValueRoundTrips() {
        let entry = Entry(version: 3, eventTime: 4, values: [("path", "a|b")])
        XCTAssertEqual(Entry.decode(entry.encoded), entry)
    }

    func testEntryWithANegativeEventTimeRoundTrips() {
        let entry = Entry(version: 5, eventTime: -3 * Nanos.hour, values: [("a", "1")])
        XCTAssertEqual(Entry.decode(entry.encoded)?.eventTime, -3 * Nanos.hour)
        XCTAssertEqual(Entry.decode(entry.encoded), entry)
    }

    func testDecodeRejectsGarbage() {
        for text in ["", "garbage", "1|2", "x|2|a=1", "1|y|a=1", "1.5|2|a=1", "1|2|novalue", "1|2|a=1;b"] {
            XCTAssertNil(Entry.decode(text), text)
        }
    }

    /// Entries differing only in a value, or in the values' order, are not equal.
    func testEntriesCompareTheirValuesInOrder() {
        let entry = Entry(version: 1, eventTime: 2, values: [("a", "1"), ("b", "2")])
        XCTAssertNotEqual(entry, Entry(version: 1, eventTime: 2, values: [("a", "1"), ("b", "3")]))
        XCTAssertNotEqual(entry, Entry(version: 1, eventTime: 2, values: [("b", "2"), ("a", "1")]))
    }

    func testServableAtExactlyTheTTL() {
        XCTAssertTrue(OnlineStore.servable(eventTime: 1000, ttl: 500, now: 1500))
    }

    func testNotServableOneNanosecondPastTheTTL() {
        XCTAssertFalse(OnlineStore.servable(eventTime: 1000, ttl: 500, now: 1501))
    }

    func testKeyNamesViewAndEntity() {
        XCTAssertEqual(OnlineStore.key(view: "demographics", entity: "u42"), "online:demographics:u42")
    }

    /// The write is SETFENCED of the encoded entry under the entity's key, token = the version's fence.
    func testWriteIsFencedByTheVersion() {
        let entry = Entry(version: 9, eventTime: 100, values: [("a", "1")])
        XCTAssertEqual(OnlineStore.write(entry, view: "v", entity: "u1"), .setFenced("online:v:u1", entry.encoded, token: OnlineStore.fence(9)))
    }

    /// The fence keeps the versions' order across zero (a version may be a negative event time).
    func testTheFencePreservesTheOrderOfVersionsAcrossZero() {
        let versions: [Int64] = [.min, -5_000_000_000, -1, 0, 1, 5_000_000_000, .max]
        XCTAssertEqual(versions.map(OnlineStore.fence), versions.map(OnlineStore.fence).sorted())
        XCTAssertEqual(Set(versions.map(OnlineStore.fence)).count, versions.count)
        XCTAssertLessThan(OnlineStore.fence(-1), OnlineStore.fence(0))
    }

    /// H2 writes a plain SET (no NX, no expiry) instead.
    func testH2WriteIsAPlainSet() {
        let entry = Entry(version: 9, eventTime: 100, values: [("a", "1")])
        XCTAssertEqual(OnlineStore.write(entry, view: "v", entity: "u1", defects: DefectSet([.H2])),
                       .set("online:v:u1", entry.encoded, onlyIfAbsent: false, expireMs: nil))
    }

    // MARK: Against a real Redis server

    /// Sends `writes` in order to a fresh Redis server, then reads the key; returns each write's
    /// outcome and the value left.
    func redisOutcome(_ writes: [Entry], defects: DefectSet = .empty) -> (results: [Result<RedisReply, RedisClient.Failure>], stored: Entry?) {
        var results: [Result<RedisReply, RedisClient.Failure>] = []
        var stored: Entry?
        _ = runInfra(serverName: "redis", server: { await RedisServer.run(context: $0) }) { context, node in
            let client = RedisClient(server: Address(node: node.id, service: "redis"))
            for entry in writes { results.append(await client.run(OnlineStore.write(entry, view: "v", entity: "u1", defects: defects), context: context)) }
            if case .success(.string(let text)) = await client.run(.get(OnlineStore.key(view: "v", entity: "u1")), context: context) { stored = Entry.decode(text) }
        }
        return (results, stored)
    }

    let newer = Entry(version: 5, eventTime: 500, values: [("a", "new")])
    let older = Entry(version: 4, eventTime: 400, values: [("a", "old")])

    /// An older version written after a newer one is refused with a stale fencing token, and the
    /// newer value stays.
    func testAnOlderFencedWriteIsRefusedAndLeavesTheNewerValue() {
        let outcome = redisOutcome([newer, older])
        XCTAssertEqual(outcome.results.count, 2)
        XCTAssertEqual(outcome.results.first, .success(.ok))
        XCTAssertEqual(outcome.results.last, .failure(.server(.staleFencingToken(key: "online:v:u1", token: OnlineStore.fence(4), highest: OnlineStore.fence(5)))))
        XCTAssertEqual(outcome.stored, newer)
    }

    /// The same version written again (a retried materialization) is accepted.
    func testTheSameVersionAgainIsAccepted() {
        let rewrite = Entry(version: 5, eventTime: 500, values: [("a", "rewritten")])
        let outcome = redisOutcome([newer, rewrite])
        XCTAssertEqual(outcome.results, [.success(.ok), .success(.ok)])
        XCTAssertEqual(outcome.stored, rewrite)
    }

    func testANewerFencedWriteReplacesTheValue() {
        let outcome = redisOutcome([older, newer])
        XCTAssertEqual(outcome.results, [.success(.ok), .success(.ok)])
        XCTAssertEqual(outcome.stored, newer)
    }

    /// H2's plain SET lets a late, older value overwrite the newer one.
    func testH2LetsAnOlderValueOverwriteANewerOne() {
        let outcome = redisOutcome([newer, older], defects: DefectSet([.H2]))
        XCTAssertEqual(outcome.results, [.success(.ok), .success(.ok)])
        XCTAssertEqual(outcome.stored, older)
    }
}

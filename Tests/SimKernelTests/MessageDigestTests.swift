import XCTest
@testable import SimKernel

/// A message's default digest covers its content, the same way in every process.
final class MessageDigestTests: XCTestCase {
    struct Put: SimMessage, Equatable {
        var key: String
        var value: Int
        var tags: [String: Int] = [:]
    }
    enum Command: SimMessage {
        case get(String)
        case put(Put)
        case ping
    }
    final class Box: SimMessage, @unchecked Sendable {
        var inner: Int
        var next: Box?
        init(_ inner: Int) { self.inner = inner }
    }

    func testTwoMessagesOfOneTypeThatDifferInAFieldHaveDifferentDigests() {
        XCTAssertNotEqual(Put(key: "a", value: 1).traceDigest, Put(key: "a", value: 2).traceDigest)
        XCTAssertNotEqual(Put(key: "a", value: 1).traceDigest, Put(key: "b", value: 1).traceDigest)
        XCTAssertEqual(Put(key: "a", value: 1).traceDigest, Put(key: "a", value: 1).traceDigest)
        XCTAssertNotEqual(Command.get("a").traceDigest, Command.get("b").traceDigest, "an enum case's payload counts")
        XCTAssertNotEqual(Command.get("a").traceDigest, Command.ping.traceDigest)
        XCTAssertNotEqual(Command.put(Put(key: "a", value: 1)).traceDigest, Command.put(Put(key: "a", value: 9)).traceDigest, "nested fields count")
    }

    func testADictionaryDigestsTheSameWhateverItsIterationOrder() {
        // Inserted in opposite orders into tables of different sizes: iteration orders differ.
        var forward: [String: Int] = [:], backward: [String: Int] = Dictionary(minimumCapacity: 1000)
        for i in 0 ..< 200 { forward["k\(i)"] = i }
        for i in (0 ..< 200).reversed() { backward["k\(i)"] = i }
        XCTAssertNotEqual(Array(forward.keys), Array(backward.keys), "the premise: the two iterate differently")
        XCTAssertEqual(Put(key: "a", value: 1, tags: forward).traceDigest, Put(key: "a", value: 1, tags: backward).traceDigest)
        backward["k7"] = 8
        XCTAssertNotEqual(Put(key: "a", value: 1, tags: forward).traceDigest, Put(key: "a", value: 1, tags: backward).traceDigest)
    }

    func testAClassIsDigestedByItsFieldsAndACycleEnds() {
        XCTAssertNotEqual(Box(1).traceDigest, Box(2).traceDigest)
        let a = Box(1), b = Box(1)
        a.next = b
        b.next = a  // a cycle: the walk stops at its depth limit
        XCTAssertEqual(a.traceDigest, a.traceDigest)
        b.next = nil
    }

    func testTheFingerprintSeesTheContentOfMessagesOfOneType() {
        func fingerprint(value: Int) -> UInt64 {
            let simulation = Simulation(seed: 5)
            let a = simulation.addNode("a"), b = simulation.addNode("b")
            b.addProcess("sink") { context in
                let inbox = context.mailbox("in")
                while true { _ = await inbox.receive() }
            }
            a.addProcess("source") { context in context.send(to: Address(node: b.id, service: "in"), Put(key: "x", value: value)) }
            simulation.run()
            return simulation.trace.fingerprint
        }
        XCTAssertEqual(fingerprint(value: 1), fingerprint(value: 1))
        XCTAssertNotEqual(fingerprint(value: 1), fingerprint(value: 2))
    }
}

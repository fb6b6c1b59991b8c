import Foundation
import SimKernel
import XCTest
@testable import SimServices

/// `HTTPHeaders` replaced `[String: String]` for speed alone: it must hold, compare, hash and
/// encode exactly as the dictionary did, whatever order the fields were set in.
final class HTTPHeadersTests: XCTestCase {
    func testHeadersHoldWhatADictionaryFedTheSameOperationsHoldsInNameOrder() {
        var random = SimRandom(rootSeed: 13, stream: "http-headers")
        let names = ["x-user", "x-tenant", "x-role", "authorization", "x-identity-signature", "x-identity-nonce", "a", "", "ünïcode", "X-User"]
        for _ in 0 ..< 500 {
            var headers = HTTPHeaders(), reference: [String: String] = [:]
            for _ in 0 ..< random.uniform(0 ..< 20) {
                let name = names[random.uniform(0 ..< names.count)]
                switch random.uniform(0 ..< 4) {
                case 0:
                    XCTAssertEqual(headers.removeValue(forKey: name), reference.removeValue(forKey: name))
                case 1:
                    headers[name] = nil
                    reference[name] = nil
                default:
                    let value = "v\(random.uniform(0 ..< 5))"
                    headers[name] = value
                    reference[name] = value
                }
                XCTAssertEqual(headers.dictionary, reference)
                XCTAssertEqual(headers.count, reference.count)
                XCTAssertEqual(headers.keys, reference.keys.sorted())
                XCTAssertEqual(headers.map(\.key), reference.keys.sorted(), "iteration is in name order")
                for name in names { XCTAssertEqual(headers[name], reference[name], name) }
            }
        }
    }

    func testHeadersSetInAnyOrderAreEqualHashAlikeAndDifferFromOthers() {
        let forward: HTTPHeaders = ["x-user": "alice", "x-tenant": "t1", "x-role": "admin"]
        var backward = HTTPHeaders()
        backward["x-role"] = "admin"
        backward["x-tenant"] = "t1"
        backward["x-user"] = "alice"
        XCTAssertEqual(forward, backward)
        XCTAssertEqual(forward.hashValue, backward.hashValue)
        XCTAssertEqual(HTTPHeaders(["x-user": "alice", "x-tenant": "t1", "x-role": "admin"]), forward)
        var other = backward
        other["x-role"] = "viewer"
        XCTAssertNotEqual(other, forward)
        other["x-role"] = nil
        XCTAssertNotEqual(other, forward)
        // A request's equality goes by its headers' content, as with the dictionary.
        XCTAssertEqual(HTTPRequest("GET", "models/1", headers: forward), HTTPRequest("GET", "models/1", headers: ["x-role": "admin", "x-user": "alice", "x-tenant": "t1"]))
    }

    func testHeadersEncodeAsTheDictionaryDidAndDecodeFromIt() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let fields = ["x-user": "alice", "authorization": "Bearer abc", "x-tenant": ""]
        XCTAssertEqual(try encoder.encode(HTTPHeaders(fields)), try encoder.encode(fields))
        XCTAssertEqual(try JSONDecoder().decode(HTTPHeaders.self, from: try encoder.encode(fields)), HTTPHeaders(fields))
        let request = HTTPRequest("POST", "auth/roles", body: ["user": "bob"], headers: fields)
        XCTAssertEqual(try JSONDecoder().decode(HTTPRequest.self, from: try encoder.encode(request)), request)
    }
}

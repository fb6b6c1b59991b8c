import SimKernel
import XCTest
@testable import SimServices

/// The bytes a mesh signature authenticates are the first-written encoder's, exactly: the encoder
/// was rewritten for speed alone (the pairs sorted once, lengths written as digits without a
/// string, values copied from their UTF-8 storage), and a signature or a proof whose bytes moved
/// would no longer verify against one made the old way.
final class SignedTextTests: XCTestCase {
    /// The encoder as first written: keys sorted, each value looked up, the length made a string.
    func referenceLengthPrefixed(_ value: String) -> [UInt8] { Array(String(value.utf8.count).utf8) + [UInt8(ascii: ":")] + Array(value.utf8) }

    func referenceCanonicalBody(_ body: [String: String]) -> [UInt8] {
        body.keys.sorted().flatMap { referenceLengthPrefixed($0) + referenceLengthPrefixed(body[$0] ?? "") }
    }

    func referenceSignedText(_ request: HTTPRequest, time: String) -> [UInt8] {
        var text: [UInt8] = []
        for value in ForwardedIdentity.identityHeaders.map({ request.headers[$0] }) + [request.method, request.path, time,
                                                                                       request.headers[ForwardedIdentity.audienceHeader], request.headers[ForwardedIdentity.nonceHeader]] {
            text += value.map(referenceLengthPrefixed) ?? [UInt8(ascii: "-")]
            text.append(UInt8(ascii: ";"))
        }
        return text + referenceCanonicalBody(request.body)
    }

    /// Strings drawn to cross the encoder's cases: empty, one to three decimal digits of length,
    /// multi-byte letters, a combining mark, keys that sort differently by bytes and by String's
    /// order would (upper and lower case, accents).
    func randomString(_ random: inout SimRandom) -> String {
        let pieces = ["a", "B", "z", "_", "é", "e\u{301}", "日本", "-", "0", "9", ":", ";", " ", "Ω", "🙂", String(repeating: "x", count: 40)]
        return (0 ..< random.uniform(0 ..< 9)).map { _ in pieces[random.uniform(0 ..< pieces.count)] }.joined()
    }

    func testTheCanonicalBodyIsTheFirstWrittenEncodersOnDrawnBodies() {
        var random = SimRandom(rootSeed: 11, stream: "canonical-body")
        var multiField = 0
        for _ in 0 ..< 3_000 {
            var body: [String: String] = [:]
            for _ in 0 ..< random.uniform(0 ..< 12) { body[randomString(&random)] = randomString(&random) }
            if body.count > 1 { multiField += 1 }
            XCTAssertEqual(ForwardedIdentity.canonicalBody(body), referenceCanonicalBody(body), "\(body)")
        }
        XCTAssertGreaterThan(multiField, 2_000, "most bodies have fields to sort")
    }

    func testTheSignedTextAndSignatureAreTheFirstWrittenOnesOnDrawnRequests() {
        var random = SimRandom(rootSeed: 12, stream: "signed-text")
        for i in 0 ..< 2_000 {
            var body: [String: String] = [:]
            for _ in 0 ..< random.uniform(0 ..< 8) { body[randomString(&random)] = randomString(&random) }
            var request = HTTPRequest(["GET", "POST", "DELETE"][i % 3], "svc/" + randomString(&random), body: body)
            // Identity headers present, empty or absent (an absent one is written `-`).
            for name in ForwardedIdentity.identityHeaders where random.uniform(0 ..< 3) > 0 { request.headers[name] = randomString(&random) }
            let time = String(random.uniform(0 ..< 1 << 40))
            if i % 2 == 0 { ForwardedIdentity.sign(&request, at: Int64(time)!, for: NodeID(i % 40), nonce: "n\(i % 40).0.\(i)") }
            let text = ForwardedIdentity.signedText(request, time: time)
            XCTAssertEqual(text, referenceSignedText(request, time: time), "\(request)")
            XCTAssertEqual(ForwardedIdentity.signature(request, time: time),
                           String(decoding: hexDigits(SHA256.hmac(key: ForwardedIdentity.key, message: referenceSignedText(request, time: time))), as: UTF8.self))
        }
    }

    func testLengthsAreWrittenAsTheirDecimalDigits() {
        var bytes: [UInt8] = []
        for number in Array(0 ... 20_000) + [99_999, 100_000, 1 << 31, Int.max] {
            bytes.removeAll(keepingCapacity: true)
            ForwardedIdentity.appendDecimal(number, to: &bytes)
            XCTAssertEqual(bytes, Array(String(number).utf8), "\(number)")
        }
    }
}

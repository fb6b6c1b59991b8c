import Foundation
import XCTest
@testable import SimServices

/// The token format and its verification, attack by attack. Reference values: RFC 7515's
/// base64url alphabet (no padding) and RFC 4231's HMAC-SHA256 test case 2, computed independently
/// with Python's `hmac` and `base64.urlsafe_b64encode`.
final class JWTTests: XCTestCase {
    let key = Array("a key for tests".utf8)
    let claims = JWT.Claims(sub: "bob", tenant: "t2", role: "scientist", iat: 1000, nbf: 1000, exp: 2000, jti: "auth-0-1")

    func segment(_ text: String) -> String { JWT.base64URL(Array(text.utf8)) }
    func parts(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
    func verify(_ token: String, now: Int64 = 1500) -> Result<JWT.Claims, JWT.Refusal> { JWT.verify(token, secret: key, now: now, leeway: 5) }

    func testAnIssuedTokenIsThreeBase64URLSegmentsWithThePinnedHeaderAndVerifies() throws {
        let token = JWT.issue(claims, secret: key)
        let segments = parts(token)
        XCTAssertEqual(segments.count, 3)
        XCTAssertEqual(JWT.fromBase64URL(segments[0]).map { String(decoding: $0, as: UTF8.self) }, #"{"alg":"HS256","typ":"JWT"}"#)
        XCTAssertEqual(JWT.fromBase64URL(segments[1]).map { String(decoding: $0, as: UTF8.self) },
                       #"{"exp":2000,"iat":1000,"jti":"auth-0-1","nbf":1000,"role":"scientist","sub":"bob","tenant":"t2"}"#)
        XCTAssertFalse(token.contains("=") || token.contains("+") || token.contains("/"))
        XCTAssertEqual(try verify(token).get(), claims)
    }

    /// RFC 4231 test case 2 (key "Jefe"), base64url-encoded as Python's urlsafe_b64encode gives
    /// (without its padding): the signature primitive and the encoding are the standard ones.
    func testTheSignatureIsHMACSHA256InBase64URL() {
        let mac = SHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        XCTAssertEqual(SHA256.hex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(JWT.base64URL(mac), "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM")
        XCTAssertEqual(JWT.fromBase64URL("W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM"), mac)
    }

    func testBase64URLRoundTripsEveryByteAndRefusesOtherAlphabets() {
        for length in 0 ..< 40 {
            let bytes = (0 ..< length).map { UInt8(truncatingIfNeeded: $0 * 37 + 250) }
            XCTAssertEqual(JWT.fromBase64URL(JWT.base64URL(bytes)), bytes, "length \(length)")
        }
        XCTAssertEqual(JWT.base64URL([0xfb, 0xff]), "-_8")
        XCTAssertNil(JWT.fromBase64URL("+/8"), "standard base64 characters are not base64url")
        XCTAssertNil(JWT.fromBase64URL("abc="), "padding is not written and not read")
        XCTAssertNil(JWT.fromBase64URL("a"), "a lone character encodes no byte")
    }

    /// The byte-level decoder answers as the character-level one it replaced (kept here as the
    /// reference) on 3,000 drawn texts over base64url, standard base64, padding, a NUL, non-ASCII
    /// letters and digits ("é", "٣"), of lengths 0-12: the same bytes, or nil for both.
    func testTheByteLevelDecoderAnswersAsTheCharacterLevelReference() {
        func reference(_ text: String) -> [UInt8]? {
            guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
            var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
            standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
            return Data(base64Encoded: standard).map { [UInt8]($0) }
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.\u{0}é٣ ")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var decoded = 0
        for _ in 0 ..< 3_000 {
            // Mostly base64url characters, so that many texts decode.
            let text = String((0 ..< next(13)).map { _ in alphabet[next(10) < 9 ? next(64) : next(alphabet.count)] })
            XCTAssertEqual(JWT.fromBase64URL(text), reference(text), text)
            if reference(text) != nil { decoded += 1 }
        }
        XCTAssertGreaterThan(decoded, 500, "the draw exercised decoding, not only refusals")
    }

    /// `alg: none` with escalated claims and an empty signature: refused before any signature check.
    func testAnUnsignedAlgNoneTokenIsRefused() {
        var escalated = claims
        escalated.role = "admin"
        let body = parts(JWT.issue(escalated, secret: key))[1]
        for header in [#"{"alg":"none","typ":"JWT"}"#, #"{"alg":"None"}"#, #"{"alg":"NONE"}"#, #"{"typ":"JWT"}"#] {
            XCTAssertEqual(verify(segment(header) + "." + body + "."), .failure(.algorithm), header)
        }
    }

    /// Another algorithm in the header is refused even when the signature is a valid HS256 one
    /// (algorithm confusion: the header may not choose how the token is checked).
    func testAnotherAlgorithmIsRefusedEvenWithAValidSignature() {
        let genuine = parts(JWT.issue(claims, secret: key))
        for alg in ["HS512", "HS384", "RS256", "ES256", "hs256"] {
            let header = segment(#"{"alg":"\#(alg)","typ":"JWT"}"#)
            let resigned = JWT.base64URL(SHA256.hmac(key: key, message: Array((header + "." + genuine[1]).utf8)))
            XCTAssertEqual(verify(header + "." + genuine[1] + "." + resigned), .failure(.algorithm), alg)
        }
    }

    /// Claims changed after signing (role raised, tenant switched, lifetime stretched) break the signature.
    func testTamperedClaimsAreRefused() {
        let genuine = parts(JWT.issue(claims, secret: key))
        var raised = claims; raised.role = "admin"
        var moved = claims; moved.tenant = "t1"
        var stretched = claims; stretched.exp = 1 << 40
        for changed in [raised, moved, stretched] {
            let body = parts(JWT.issue(changed, secret: []))[1]
            XCTAssertEqual(verify(genuine[0] + "." + body + "." + genuine[2]), .failure(.signature), "\(changed)")
        }
    }

    func testATokenSignedWithAnotherKeyIsRefused() {
        for guess in ["", "secret", "synapsenet", "a key for test"] {
            XCTAssertEqual(verify(JWT.issue(claims, secret: Array(guess.utf8))), .failure(.signature), guess)
        }
    }

    func testATruncatedOrExtendedSignatureIsRefused() {
        let token = JWT.issue(claims, secret: key)
        XCTAssertEqual(verify(String(token.dropLast(4))), .failure(.signature))
        XCTAssertEqual(verify(token + "AAAA"), .failure(.signature))
        XCTAssertEqual(verify(parts(token)[0] + "." + parts(token)[1] + "."), .failure(.signature), "an empty signature")
    }

    func testMalformedTokensAreRefused() {
        let token = JWT.issue(claims, secret: key)
        for bad in ["", "not-a-token", "a.b", token + ".extra", "!!!." + parts(token)[1] + "." + parts(token)[2],
                    segment("not json") + "." + parts(token)[1] + "." + parts(token)[2]] {
            XCTAssertEqual(verify(bad), .failure(.malformed), bad)
        }
        // A correctly signed body that is not the claims auth writes.
        let header = segment(#"{"alg":"HS256"}"#), body = segment(#"{"sub":"bob"}"#)
        let signature = JWT.base64URL(SHA256.hmac(key: key, message: Array((header + "." + body).utf8)))
        XCTAssertEqual(verify(header + "." + body + "." + signature), .failure(.malformed))
    }

    /// Expiry on the verifier's clock with the leeway: accepted until exp + leeway - 1, refused at exp + leeway.
    func testExpiryHonoursTheLeewayToTheSecond() {
        let token = JWT.issue(claims, secret: key)
        XCTAssertEqual(try verify(token, now: 2004).get(), claims)
        XCTAssertEqual(verify(token, now: 2005), .failure(.expired))
        XCTAssertEqual(verify(token, now: 1 << 40), .failure(.expired))
    }

    /// Not-before on the verifier's clock with the leeway: a clock 5 s behind is tolerated, 6 s is not.
    func testNotBeforeHonoursTheLeewayToTheSecond() {
        let token = JWT.issue(claims, secret: key)
        XCTAssertEqual(try verify(token, now: 995).get(), claims)
        XCTAssertEqual(verify(token, now: 994), .failure(.notYetValid))
        XCTAssertEqual(verify(token, now: 0), .failure(.notYetValid))
    }

    /// The same claims give the same bytes (sorted keys): tokens are reproducible from a seed.
    func testIssuingIsDeterministic() {
        XCTAssertEqual(JWT.issue(claims, secret: key), JWT.issue(claims, secret: key))
        XCTAssertEqual(JWT.unverifiedClaims(JWT.issue(claims, secret: key)), claims)
    }
}

/// The run's memo of token checks (`JWT.VerifiedTokens`) and the split of `JWT.verify` into
/// `signedClaims` and `checkTimes` answer as `JWT.verify` did before them (`formerVerify`, kept
/// here as it was written), for every token and time, and the clock is judged on every call.
final class VerifiedTokensTests: XCTestCase {
    let key = Array("a key for tests".utf8)
    let claims = JWT.Claims(sub: "bob", tenant: "t2", role: "scientist", iat: 1000, nbf: 1000, exp: 2000, jti: "auth-0-1")

    /// `JWT.verify` as it was before the memo (one function, a header always parsed as JSON).
    func formerVerify(_ token: String, secret: [UInt8], now: Int64, leeway: Int64) -> Result<JWT.Claims, JWT.Refusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerBytes = JWT.fromBase64URL(parts[0]),
              let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else { return .failure(.malformed) }
        guard header["alg"] as? String == "HS256" else { return .failure(.algorithm) }
        guard let signature = JWT.fromBase64URL(parts[2]) else { return .failure(.malformed) }
        let expected = SHA256.hmac(key: secret, message: Array((parts[0] + "." + parts[1]).utf8))
        guard SHA256.constantTimeEqual(expected, signature) else { return .failure(.signature) }
        guard let body = JWT.fromBase64URL(parts[1]), let claims = try? JSONDecoder().decode(JWT.Claims.self, from: Data(body)) else { return .failure(.malformed) }
        guard now < claims.exp + leeway else { return .failure(.expired) }
        guard now >= claims.nbf - leeway else { return .failure(.notYetValid) }
        return .success(claims)
    }

    /// Genuine, forged, unsigned, oddly spelled and malformed tokens, and look-alikes of the
    /// genuine one that Swift's string comparison takes as equal to it (a KELVIN SIGN for a `K`).
    func tokens() -> (genuine: String, all: [String]) {
        var genuine = JWT.issue(claims, secret: key), index = 0
        // A token whose text holds a `K` (the look-alike needs one): vary the id until it does.
        while !genuine.contains("K") {
            index += 1
            genuine = JWT.issue(JWT.Claims(sub: "bob", tenant: "t2", role: "scientist", iat: 1000, nbf: 1000, exp: 2000, jti: "auth-0-\(index)"), secret: key)
        }
        let parts = genuine.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let kelvin = genuine.replacingOccurrences(of: "K", with: "\u{212A}")
        return (genuine, [
            genuine,
            JWT.issue(claims, secret: Array("another key".utf8)),  // forged
            JWT.base64URL(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + ".",  // alg none
            JWT.base64URL(Array(#"{"typ":"JWT","alg":"HS256"}"#.utf8)) + "." + parts[1] + "." + parts[2],  // another spelling
            parts[0] + "." + parts[1],  // two segments
            "not a token", "", "..", genuine + "x",
            kelvin,  // equal to the genuine token as a Swift String, not as bytes
            String(repeating: "a", count: JWT.VerifiedTokens.maxTokenBytes + 1),
        ])
    }

    func testTheMemoAnswersAsTheFormerVerifyForGenuineForgedMalformedAndLookAlikeTokensAtEachTime() {
        let memo = JWT.VerifiedTokens(key: SHA256.HMACKey(key))
        let (genuine, tokens) = tokens()
        XCTAssertEqual(tokens[9], genuine, "the look-alike compares equal as a String (the case this test is for)")
        for round in 0 ..< 2 {  // the second round answers from the memo
            for token in tokens {
                for now: Int64 in [0, 994, 995, 1500, 2004, 2005, 9999] {
                    let expected = formerVerify(token, secret: key, now: now, leeway: 5)
                    XCTAssertEqual(memo.verify(token, now: now, leeway: 5), expected, "round \(round): \(token.prefix(60)) at \(now)")
                    XCTAssertEqual(JWT.verify(token, secret: key, now: now, leeway: 5), expected, "\(token.prefix(60)) at \(now)")
                }
            }
        }
        // The look-alike is refused (its KELVIN SIGN is no base64url), though the genuine token
        // it equals as a String was remembered first.
        XCTAssertEqual(memo.verify(tokens[9], now: 1500, leeway: 5), .failure(.malformed))
        // Only ASCII tokens within the size bound are remembered.
        XCTAssertEqual(memo.entries.count, tokens.count - 2)
        XCTAssertEqual(memo.verify(genuine, now: 2005, leeway: 5), .failure(.expired))
        XCTAssertEqual(memo.verify(genuine, now: 1500, leeway: 5).map(\.sub), .success("bob"))
    }

    func testTheMemoIsEmptiedWhenItHoldsItsCapacity() {
        let memo = JWT.VerifiedTokens(key: SHA256.HMACKey(key), capacity: 3)
        for index in 0 ..< 3 { _ = memo.verify("token-\(index)", now: 0, leeway: 0) }
        XCTAssertEqual(memo.entries.count, 3)
        _ = memo.verify("token-3", now: 0, leeway: 0)
        XCTAssertEqual(Array(memo.entries.keys), ["token-3"])
        XCTAssertEqual(memo.verify("token-0", now: 0, leeway: 0), .failure(.malformed))
        XCTAssertEqual(memo.entries.count, 2)
    }
}

import XCTest
@testable import SimServices

/// The receiving side: signature, tolerance, rotation and deduplication.
final class WebhookReceiverTests: XCTestCase {
    static func header(_ secrets: [String], t: Int64, body: String) -> String {
        "t=\(t)" + secrets.map { ",v1=\(WebhooksService.signature(secret: $0, timestamp: t, body: body))" }.joined()
    }

    /// A genuine delivery is accepted once; the same event again is a duplicate, not a second event.
    func testADeliveryIsAcceptedOnceAndItsRetryIsADuplicate() {
        var receiver = WebhookReceiver(secrets: ["s1"])
        let header = Self.header(["s1"], t: 1000, body: "alert")
        XCTAssertEqual(receiver.receive(id: "e1", signature: header, body: "alert", nowSeconds: 1000), .accepted)
        XCTAssertEqual(receiver.receive(id: "e1", signature: header, body: "alert", nowSeconds: 1001), .duplicate)
        XCTAssertEqual(receiver.receive(id: "e2", signature: Self.header(["s1"], t: 1002, body: "next"), body: "next", nowSeconds: 1002), .accepted)
    }

    /// Replays and forgeries: a changed body, a moved timestamp, a guessed secret, a stale or
    /// future timestamp (300 s tolerance, inclusive), and malformed headers are refused.
    func testReplaysAndForgeriesAreRefused() {
        var receiver = WebhookReceiver(secrets: ["s1"])
        let header = Self.header(["s1"], t: 1000, body: "alert")
        XCTAssertEqual(receiver.receive(id: "e1", signature: header, body: "alert|refund", nowSeconds: 1000), .refused("no valid signature"))
        XCTAssertEqual(receiver.receive(id: "e1", signature: header.replacingOccurrences(of: "t=1000", with: "t=1001"), body: "alert", nowSeconds: 1000), .refused("no valid signature"))
        XCTAssertEqual(receiver.receive(id: "e1", signature: Self.header(["guess"], t: 1000, body: "alert"), body: "alert", nowSeconds: 1000), .refused("no valid signature"))
        XCTAssertEqual(receiver.receive(id: "e1", signature: header, body: "alert", nowSeconds: 1301), .refused("timestamp 1000 outside the tolerance at 1301"))
        XCTAssertEqual(receiver.receive(id: "e1", signature: header, body: "alert", nowSeconds: 699), .refused("timestamp 1000 outside the tolerance at 699"))
        XCTAssertEqual(receiver.receive(id: "e1", signature: header, body: "alert", nowSeconds: 1300), .accepted, "300 s is still within the tolerance")
        for malformed in ["", "v1=abc", "t=1000", "t=x,v1=abc", "t=1000,v1"] {
            XCTAssertEqual(receiver.receive(id: "e9", signature: malformed, body: "alert", nowSeconds: 1000), .refused("unsigned or malformed"), malformed)
        }
        XCTAssertEqual(receiver.receive(id: nil, signature: header, body: "alert", nowSeconds: 1000), .refused("unsigned or malformed"))
    }

    /// Timestamps at the ends of Int64 (whose distance from now overflows) are refused as outside
    /// the tolerance; the receiver does not trap.
    func testExtremeTimestampsAreRefusedWithoutATrap() {
        var receiver = WebhookReceiver(secrets: ["s1"])
        for t in [Int64.min, Int64.max, Int64.min + 1] {
            XCTAssertEqual(receiver.receive(id: "e\(t)", signature: Self.header(["s1"], t: t, body: "alert"), body: "alert", nowSeconds: 1000),
                           .refused("timestamp \(t) outside the tolerance at 1000"))
        }
        XCTAssertEqual(receiver.receive(id: "e0", signature: Self.header(["s1"], t: 1000, body: "alert"), body: "alert", nowSeconds: Int64.min), .refused("timestamp 1000 outside the tolerance at \(Int64.min)"))
    }

    /// During a rotation the platform signs with both secrets: a receiver that knows only the old
    /// one, or only the new one, accepts; after the grace period only the new signature comes.
    func testDuringARotationEitherSecretVerifies() {
        let both = Self.header(["new", "old"], t: 50, body: "b")
        var old = WebhookReceiver(secrets: ["old"]), new = WebhookReceiver(secrets: ["new"]), neither = WebhookReceiver(secrets: ["other"])
        XCTAssertEqual(old.receive(id: "e", signature: both, body: "b", nowSeconds: 50), .accepted)
        XCTAssertEqual(new.receive(id: "e", signature: both, body: "b", nowSeconds: 50), .accepted)
        XCTAssertEqual(neither.receive(id: "e", signature: both, body: "b", nowSeconds: 50), .refused("no valid signature"))
        XCTAssertEqual(WebhookReceiver.parse(both)?.v1.count, 2)
    }

    /// The platform's header: one v1 before a rotation and after its grace period, two within it.
    func testTheSignatureHeaderCarriesTheOldSecretOnlyThroughTheGracePeriod() {
        let endpoint = WebhookDelivery.Endpoint(id: 1, url: "https://client/hooks", secret: "new", previousSecret: "old", rotatedAt: 100, tenant: "t1")
        XCTAssertEqual(WebhookDelivery.signatureHeader(endpoint, timestamp: 100, body: "b"), Self.header(["new", "old"], t: 100, body: "b"))
        XCTAssertEqual(WebhookDelivery.signatureHeader(endpoint, timestamp: 100 + WebhooksService.rotationGraceSeconds - 1, body: "b"),
                       Self.header(["new", "old"], t: 100 + WebhooksService.rotationGraceSeconds - 1, body: "b"))
        XCTAssertEqual(WebhookDelivery.signatureHeader(endpoint, timestamp: 100 + WebhooksService.rotationGraceSeconds, body: "b"),
                       Self.header(["new"], t: 100 + WebhooksService.rotationGraceSeconds, body: "b"))
    }
}

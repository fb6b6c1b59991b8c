import XCTest
@testable import SimKernel
@testable import SimServices

final class WebhooksServiceTests: XCTestCase {
    /// An https endpoint is stored and its test delivery signed `t=...,v1=HMAC(secret, "t.body")`;
    /// loopback, private and plain-http targets are refused.
    func testEndpointsAreSignedAndPrivateTargetsRefused() throws {
        let outcome = ServiceHarness.run("webhooks", [
            HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://hooks.example.com/x"]),
            HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://127.0.0.1/x"]),
            HTTPRequest("POST", "webhooks/endpoints", body: ["url": "http://hooks.example.com/x"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 400, 400])
        let header = try XCTUnwrap(outcome.responses[0]?.body["signature"])
        let secret = try XCTUnwrap(outcome.view.rows("users_db", "SELECT secret FROM endpoints")?.first?.first?.text)
        let timestamp = try XCTUnwrap(Int64(header.dropFirst(2).prefix { $0 != "," }))
        XCTAssertEqual(header, "t=\(timestamp),v1=\(WebhooksService.signature(secret: secret, timestamp: timestamp, body: "{\"event\":\"ping\"}"))")
        XCTAssertEqual(WebhooksService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAStoredLoopbackTarget() {
        let outcome = ServiceHarness.run("webhooks", [HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://hooks.example.com/x"])])
        ServiceHarness.write(outcome, "users_db", "INSERT INTO endpoints(url, secret) VALUES ('https://localhost/admin', 's')")
        XCTAssertEqual(WebhooksService.invariants(outcome.view), ["webhooks: endpoint 2 targets https://localhost/admin"])
    }
}

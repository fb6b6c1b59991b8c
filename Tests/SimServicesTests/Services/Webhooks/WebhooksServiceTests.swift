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

    /// Each endpoint's signing secret carries 128 random bits: `whsec-` and 32 lower-case hex
    /// digits, different for every endpoint.
    func testSigningSecretsCarry128RandomBits() throws {
        let outcome = ServiceHarness.run("webhooks", (1 ... 3).map { HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://hooks\($0).example.com/x"]) })
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        let secrets = try XCTUnwrap(outcome.view.rows("users_db", "SELECT secret FROM endpoints ORDER BY id")?.compactMap { $0[0].text })
        XCTAssertEqual(secrets.count, 3)
        for secret in secrets {
            XCTAssertTrue(secret.hasPrefix("whsec-"), secret)
            let digits = secret.dropFirst(6)
            XCTAssertEqual(digits.count, 32, secret)
            XCTAssertTrue(digits.allSatisfy { $0.isHexDigit && !$0.isUppercase }, secret)
        }
        XCTAssertEqual(Set(secrets).count, 3, "every endpoint draws its own secret")
    }

    func testTheInvariantFindsAStoredLoopbackTarget() {
        let outcome = ServiceHarness.run("webhooks", [HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://hooks.example.com/x"])])
        ServiceHarness.write(outcome, "users_db", "INSERT INTO endpoints(url, secret) VALUES ('https://localhost/admin', 's')")
        XCTAssertEqual(WebhooksService.invariants(outcome.view), ["webhooks: endpoint 2 targets the internal address 127.0.0.1 (https://localhost/admin)"])
    }

    static let admin = ["x-user": "ml-engineer", "x-tenant": "t1", "x-role": "scientist"]
    static func subscribe(_ url: String) -> HTTPRequest { HTTPRequest("POST", "webhooks/endpoints", body: ["url": url], headers: admin) }
    static func test(_ id: Int64) -> HTTPRequest { HTTPRequest("POST", "webhooks/test", body: ["id": "\(id)"], headers: admin) }

    /// Every spelling of an internal target is refused at subscription (400), each logged with the
    /// address it resolves to; nothing is stored.
    func testInternalTargetsAreRefusedInEverySpellingAndLogged() {
        let urls = ["https://admin/http", "https://0x7f.1/http", "https://2130706433/http", "https://[::ffff:10.0.0.5]/http", "https://hooks.example.com@10.0.0.5/http",
                    "https://169.254.169.254/latest", "https://localhost/x", "https://[::1]/x"]
        let outcome = ServiceHarness.run("webhooks", urls.map(Self.subscribe))
        XCTAssertEqual(outcome.responses.map { $0?.status }, Array(repeating: 400, count: urls.count))
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), [
            "webhook target resolves to the internal address \(outcome.simulation.names.address(of: "admin")!)", "webhook target resolves to the internal address 127.0.0.1",
            "webhook target resolves to the internal address 127.0.0.1", "webhook target resolves to the internal address 10.0.0.5",
            "webhook target resolves to the internal address 10.0.0.5", "webhook target resolves to the internal address 169.254.169.254",
            "webhook target resolves to the internal address 127.0.0.1", "webhook target resolves to the internal address [0:0:0:0:0:0:0:1]",
        ])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT COUNT(*) FROM endpoints")?.first?.first?.integer, 0)
    }

    /// DNS rebinding: a name that resolved to a public address at subscription and points inside
    /// the platform by the delivery is refused at the delivery (400, logged), and nothing is sent.
    func testARebindingIsRefusedAtDelivery() {
        var rebound: HTTPRequest { ServiceHarness.setName("rebind.attacker.example", toNode: "admin") }
        let outcome = ServiceHarness.run("webhooks", [ServiceHarness.setName("rebind.attacker.example", toNode: "client"), Self.subscribe("https://rebind.attacker.example/http"),
                                                      rebound, Self.test(1)])
        XCTAssertEqual(outcome.responses[1]?.status, 200, "public at subscription")
        XCTAssertEqual(outcome.responses[3]?.status, 400)
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.detail), ["endpoint 1: https://rebind.attacker.example/http"])
        XCTAssertTrue(outcome.simulation.security.webhookAttempts.isEmpty)
    }

    /// I2: the subscription looks only at the URL's text, and the delivery goes where the host
    /// resolves: to the admin node, by its name and after a rebinding.
    func testI2DeliversInsideThePlatform() {
        let outcome = ServiceHarness.run("webhooks", defects: DefectSet([.I2]), [
            Self.subscribe("https://admin/http"), Self.subscribe("https://127.0.0.1/http"), Self.test(1),
            ServiceHarness.setName("rebind.attacker.example", toNode: "client"), Self.subscribe("https://rebind.attacker.example/http"),
            ServiceHarness.setName("rebind.attacker.example", toNode: "admin"), Self.test(2),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 400, 200, nil, 200, nil, 200])
        XCTAssertEqual(outcome.simulation.security.webhookAttempts.map(\.node), ["admin", "admin"])
    }

    /// Acting on an existing endpoint (a test delivery, a rotation) needs an identity: anonymous
    /// callers get 401 and t1's secret stays as it was.
    func testAnonymousCallersCannotTestOrRotateAnEndpoint() {
        let outcome = ServiceHarness.run("webhooks", [Self.subscribe("https://client/hooks"), HTTPRequest("POST", "webhooks/rotate", body: ["id": "1"]),
                                                      HTTPRequest("POST", "webhooks/test", body: ["id": "1"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401, 401])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT previous_secret FROM endpoints")?.first?.first?.text, nil)
    }
}

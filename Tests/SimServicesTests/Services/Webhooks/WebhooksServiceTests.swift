import XCTest
@testable import SimKernel
@testable import SimServices

final class WebhooksServiceTests: XCTestCase {
    /// An https endpoint is stored and its test delivery signed `t=...,v1=HMAC(secret, "t.body")`;
    /// loopback, private and plain-http targets are refused.
    func testEndpointsAreSignedAndPrivateTargetsRefused() throws {
        let outcome = ServiceHarness.run("webhooks", [
            Self.subscribe("https://hooks.example.com/x"), Self.subscribe("https://127.0.0.1/x"), Self.subscribe("http://hooks.example.com/x"),
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
        let outcome = ServiceHarness.run("webhooks", (1 ... 3).map { Self.subscribe("https://hooks\($0).example.com/x") })
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
        let outcome = ServiceHarness.run("webhooks", [Self.subscribe("https://hooks.example.com/x")])
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

    /// Every route needs an identity: an anonymous subscription, test delivery or rotation gets
    /// 401, nothing is stored, and t1's secret stays as it was.
    func testAnonymousCallersCannotSubscribeTestOrRotateAnEndpoint() {
        let outcome = ServiceHarness.run("webhooks", [Self.subscribe("https://client/hooks"), HTTPRequest("POST", "webhooks/rotate", body: ["id": "1"]),
                                                      HTTPRequest("POST", "webhooks/test", body: ["id": "1"]),
                                                      HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://client/other"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401, 401, 401])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT previous_secret FROM endpoints")?.first?.first?.text, nil)
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT url FROM endpoints")?.map { $0.first?.text }, ["https://client/hooks"])
    }

    /// A rotation sent again with its request id (its answer lost) answers the secret the first
    /// made and rotates nothing: the original secret stays the previous one, still signing. A new
    /// request id rotates again.
    func testARotationRetriedWithItsRequestIdRotatesOnce() {
        func rotate(_ requestId: String) -> HTTPRequest { HTTPRequest("POST", "webhooks/rotate", body: ["id": "1", "request_id": requestId], headers: Self.admin) }
        let outcome = ServiceHarness.run("webhooks", [Self.subscribe("https://client/hooks"), rotate("r1"), rotate("r1"), rotate("r2")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200])
        let original = outcome.responses[0]?.body["secret"], first = outcome.responses[1]?.body["secret"]
        XCTAssertNotNil(first)
        XCTAssertNotEqual(first, original)
        XCTAssertEqual(outcome.responses[2]?.body["secret"], first, "the retry answers the first rotation's secret")
        let second = outcome.responses[3]?.body["secret"]
        XCTAssertNotEqual(second, first)
        let row = outcome.view.rows("users_db", "SELECT secret, previous_secret FROM endpoints")?.first?.map(\.text)
        XCTAssertEqual(row, [second, first], "two rotations, not three: the previous secret is r1's")
        let empty = ServiceHarness.run("webhooks", [Self.subscribe("https://client/hooks"), rotate("")])
        XCTAssertEqual(empty.responses.map { $0?.status }, [200, 400], "an empty request id is refused, not taken as a key")
        XCTAssertNil(empty.view.rows("users_db", "SELECT previous_secret FROM endpoints")?.first?.first?.text)
        let once = ServiceHarness.run("webhooks", [Self.subscribe("https://client/hooks"), rotate("r1"), rotate("r1")])
        XCTAssertEqual(once.view.rows("users_db", "SELECT previous_secret FROM endpoints")?.first?.first?.text, once.responses[0]?.body["secret"],
                       "after a retried rotation the original secret still signs during the grace period")
    }

    /// An alert is delivered to the endpoints of the tenant whose check raised it, never to
    /// another tenant's; an alert naming no tenant is delivered nowhere.
    func testAlertsGoOnlyToTheEndpointsOfTheirTenant() {
        let t2 = ["x-user": "bob", "x-tenant": "t2", "x-role": "scientist"]
        let alert = DriftChecks.alertValue(id: "drift:v:g:1", view: "v", group: "g", window: 1, features: "f1;f2", tenant: "t1")
        let outcome = ServiceHarness.run("webhooks", [
            Self.subscribe("https://client/t1-hooks"),
            HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://client/t2-hooks"], headers: t2),
            HTTPRequest("PRODUCE", MonitoringService.alertsTopic, body: ["key": "drift:v:g:1", "value": alert]),
            HTTPRequest("PRODUCE", MonitoringService.alertsTopic, body: ["key": "drift:v:g:2", "value": "drift:v:g:2|v|g|2|f1"]),
            HTTPRequest("PAUSE", "3000"),
        ])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT id, tenant FROM endpoints ORDER BY id")?.map { [$0[0].integer.map { "\($0)" }, $0[1].text] }, [["1", "t1"], ["2", "t2"]])
        let attempts = outcome.simulation.security.webhookAttempts
        XCTAssertFalse(attempts.isEmpty, "the t1 alert was delivered")
        XCTAssertEqual(Set(attempts.map(\.endpoint)), [1], "only t1's endpoint: \(attempts.map(\.url))")
        XCTAssertEqual(Set(attempts.map(\.event)), ["drift:v:g:1"], "the alert without a tenant went to nobody")
    }
}

import XCTest
@testable import SimKernel
@testable import SimServices

final class GatewayServiceTests: XCTestCase {
    /// Requests for other services are forwarded to a passing instance; the caller's own x-user is
    /// dropped, a bad token is 401, a foreign origin 403, and every routing is recorded.
    func testTheGatewayForwardsChecksIdentityAndCORS() {
        let outcome = ServiceHarness.run("gateway", throughGateway: true, [
            HTTPRequest("GET", "gateway/routes"),
            HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k"]),
            HTTPRequest("POST", "training/jobs", body: ["job": "j", "spec": "x"], headers: ["x-user": "root", "authorization": "forged.t1.1.sig"]),
            HTTPRequest("GET", "gateway/routes", origin: "https://evil.example"),
            // The caller's own x-user (no token) is dropped: training sees an anonymous caller.
            HTTPRequest("POST", "training/jobs", body: ["job": "j", "spec": { () -> String in var job = TrainingJobSpec(); job.name = "j"; return TrainingService.encode(job) }()], headers: ["x-user": "root"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 401, 403, 401])
        XCTAssertEqual(outcome.responses[4]?.body["error"], "a training job needs an authenticated caller")
        XCTAssertEqual(outcome.responses[0]?.body["routes"], "1")
        XCTAssertEqual(outcome.simulation.platformObservations.routings.map(\.service), ["auth", "training"])
        XCTAssertEqual(GatewayService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsARequestRoutedToAnotherService() {
        let outcome = ServiceHarness.run("gateway", throughGateway: true, [HTTPRequest("GET", "gateway/routes")])
        outcome.simulation.platformObservations.routings.append((1, "models", "registry-1"))
        XCTAssertEqual(GatewayService.invariants(outcome.view), ["gateway: a request for models went to registry-1 (registered as registry) at 1 ns"])
    }
}

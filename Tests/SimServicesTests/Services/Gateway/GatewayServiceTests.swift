import XCTest
@testable import SimKernel
@testable import SimServices

final class GatewayServiceTests: XCTestCase {
    /// Requests for other services are forwarded to a passing instance; a bad token is 401, a
    /// foreign origin 403, and every routing is recorded. Deny by default: a request without a
    /// token (its own x-user notwithstanding) is refused at the gateway (401, logged under the
    /// address it came from) and reaches no service; a login needs none.
    func testTheGatewayForwardsChecksIdentityAndCORSAndRefusesARequestWithoutAToken() {
        let anonymous = ["x-harness-anonymous": "1"]
        let outcome = ServiceHarness.run("gateway", throughGateway: true, [
            HTTPRequest("GET", "gateway/routes", headers: anonymous),
            HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"]),
            HTTPRequest("POST", "training/jobs", body: ["job": "j", "spec": "x"], headers: ["x-user": "root", "authorization": "forged.t1.1.sig"]),
            HTTPRequest("GET", "gateway/routes", origin: "https://evil.example", headers: anonymous),
            HTTPRequest("POST", "training/jobs", body: ["job": "j", "spec": { () -> String in var job = TrainingJobSpec(); job.name = "j"; return TrainingService.encode(job) }()],
                        headers: ["x-user": "root", "x-harness-anonymous": "1"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 401, 403, 401])
        XCTAssertEqual(outcome.responses[4]?.body["error"], "refused: no credentials")
        XCTAssertEqual(outcome.responses[0]?.body["routes"], "1")
        XCTAssertEqual(outcome.simulation.platformObservations.routings.map(\.service), ["auth"], "the anonymous job never reached training")
        let client = outcome.platform.node("client")!.id.description
        XCTAssertEqual(outcome.simulation.security.refusals.filter { $0.service == "gateway" }.map { "\($0.caller): \($0.reason) \($0.detail)" },
                       ["anonymous@\(client): no credentials POST training/jobs"])
        XCTAssertEqual(GatewayService.invariants(outcome.view), [])
    }

    /// A platform service calling through the gateway as itself (`svc:<name>`, signed with the
    /// mesh key) from a node of the mesh is routed without a token, its identity kept; the same
    /// headers unsigned, signed for another route or another body, signed more than 30 s ago, or
    /// the genuine signed request sent from a client's node, are requests without credentials
    /// (401, logged).
    func testAServicesSignedIdentityPassesOnlyFromTheMeshAndSigned() {
        var options = SimulationOptions()
        options.maxTime = 30 * Nanos.second
        let simulation = Simulation(seed: 2, options: options)
        let topology = Topology(nodes: Topology.standard.nodes + [NodeSpec(name: "client", role: "client")])
        let platform = Platform(on: simulation, topology: topology, defects: .empty)
        let gateway = platform.directory.services["gateway"]!
        // Each signed when it is sent (a signature is taken once, within 30 s of the signer's clock).
        func service(_ path: String, _ body: [String: String], _ context: ProcessContext, at time: Int64, for node: NodeID = gateway.node) -> HTTPRequest {
            var request = HTTPRequest("GET", path, body: body)
            request.headers["x-user"] = "svc:workers"
            request.headers["x-role"] = ForwardedIdentity.serviceRole
            ForwardedIdentity.sign(&request, at: time, for: node, nonce: ForwardedIdentity.nonce(context))
            return request
        }
        let signed = { (context: ProcessContext) in service("experiments/runs", ["run": "1"], context, at: context.localTime) }
        let unsigned = { (context: ProcessContext) in
            var request = signed(context)
            request.headers[ForwardedIdentity.header] = nil
            return request
        }
        let otherRoute = { (context: ProcessContext) in
            var request = service("experiments/params", ["run": "1"], context, at: context.localTime)
            request.path = "experiments/runs"
            return request
        }
        let otherBody = { (context: ProcessContext) in
            var request = signed(context)
            request.body["run"] = "2"
            return request
        }
        let stale = { (context: ProcessContext) in service("experiments/runs", ["run": "1"], context, at: context.localTime - 31 * Nanos.second) }
        let otherNode = { (context: ProcessContext) in service("experiments/runs", ["run": "1"], context, at: context.localTime, for: platform.directory.services["auth"]!.node) }
        var statuses: [String: [Int]] = [:]
        func send(from node: String, _ name: String, times: Int = 1, _ request: @escaping (ProcessContext) -> HTTPRequest) {
            platform.node(node)!.addProcess("probe-\(name)") { context in
                await context.sleep(for: .seconds(20))  // the platform is up
                let made = request(context)
                for _ in 0 ..< times {
                    if case .success(let envelope) = await context.call(gateway, HTTPMessage.request(made), timeout: 3 * Nanos.second),
                       case .response(let response) = envelope.payload as? HTTPMessage { statuses[name, default: []].append(response.status) }
                }
            }
        }
        send(from: "workers", "signed", signed)
        send(from: "workers", "unsigned", unsigned)
        send(from: "workers", "other-route", otherRoute)
        send(from: "workers", "other-body", otherBody)
        send(from: "workers", "stale", stale)
        send(from: "workers", "other-node", otherNode)
        send(from: "workers", "replayed", times: 2, signed)
        send(from: "client", "outsider", signed)
        simulation.run()
        XCTAssertEqual(statuses, ["signed": [404], "unsigned": [401], "other-route": [401], "other-body": [401], "stale": [401], "other-node": [401],
                                  "replayed": [404, 401], "outsider": [401]],
                       "404: the service's read reached experiments (no run 1)")
        XCTAssertEqual(simulation.platformObservations.routings.filter { $0.service == "experiments" }.count, 2, "the signed request and the replay's first sending")
        XCTAssertTrue(simulation.platformObservations.admissions.keys.contains("platform/svc:workers"))
        let reasons = simulation.security.refusals.filter { $0.service == "gateway" }.map(\.reason)
        XCTAssertEqual(reasons.filter { $0 == "no credentials" }.count, 2, "the unsigned claim's, and the outsider's: from outside the mesh the identity is dropped")
        XCTAssertEqual(reasons.filter { $0 == "identity without the gateway's signature" }.count, 2, "other route, other body")
        XCTAssertEqual(reasons.filter { $0.hasPrefix("identity signed at") }.count, 1, "stale")
        XCTAssertEqual(reasons.filter { $0.hasPrefix("identity signed for node") }.count, 1, "signed for auth's node")
        XCTAssertEqual(reasons.filter { $0.hasPrefix("identity signature replayed") }.count, 1, "the second sending of one signature")
    }

    /// RBAC at the gateway, deny by default, on the role auth read for the caller: a viewer may
    /// read but not write (403, logged), a scientist may write storage but not change roles, an
    /// admin may; identity headers the caller sends are never believed.
    func testTheGatewayAppliesTheCallersCurrentRoleAndDropsSpoofedIdentity() {
        func token(_ user: String, _ tenant: String, _ role: String) -> [String: String] {
            ["authorization": JWT.issue(JWT.Claims(sub: user, tenant: tenant, role: role, iat: 0, nbf: 0, exp: 1 << 40, jti: "\(user)-1"), secret: AuthService.secret)]
        }
        let promote = ["user": "alice", "role": "admin"]
        let outcome = ServiceHarness.run("gateway", throughGateway: true, [
            HTTPRequest("PUT", "storage/artifacts", body: ["key": "alice/x", "content": "x"], headers: token("alice", "t1", "admin")),  // the claim lies: alice is a viewer
            HTTPRequest("GET", "storage/artifacts", body: ["key": "alice/x"], headers: token("alice", "t1", "viewer")),
            HTTPRequest("PUT", "storage/artifacts", body: ["key": "bob/x", "content": "x"], headers: token("bob", "t2", "scientist")),
            HTTPRequest("POST", "auth/roles", body: promote, headers: token("bob", "t2", "scientist")),
            HTTPRequest("POST", "auth/roles", body: promote, headers: ["x-role": "admin", "x-user": "ops-admin", "x-harness-anonymous": "1"]),
            HTTPRequest("POST", "auth/roles", body: promote, headers: token("ops-admin", "t1", "admin")),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [403, 404, 200, 403, 401, 200])
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.service) \($0.caller): \($0.reason)" }, [
            "gateway alice@t1: role viewer may not PUT storage",
            "gateway bob@t2: role scientist may not POST auth",
            "gateway anonymous@\(outcome.platform.node("client")!.id.description): no credentials",
        ])
        XCTAssertEqual(outcome.simulation.security.authorized.map { "\($0.user) \($0.role) \($0.method) \($0.path)" },
                       ["alice viewer GET storage/artifacts", "bob scientist PUT storage/artifacts", "ops-admin admin POST auth/roles"])
    }

    /// An anonymous caller is limited as the address it connects from, before its refusal: four
    /// reads claiming four X-Forwarded-For addresses share one bucket (burst 2: two admitted and
    /// refused 401 for want of a token, two refused 429 first, all admissions recorded under the
    /// client's node). I4 believes the header: all four are admitted (and then refused 401).
    func testASpoofedForwardedForDoesNotEscapeTheRateLimit() {
        var serving = ServingConfiguration()
        serving.rateLimitPerSecond = 1
        serving.rateLimitBurst = 2
        let reads = (1 ... 4).map { HTTPRequest("GET", "storage/artifacts", body: ["key": "missing"], headers: ["x-forwarded-for": "10.0.0.\($0)", "x-remote-addr": "10.9.9.9", "x-harness-anonymous": "1"]) }
        let outcome = ServiceHarness.run("gateway", throughGateway: true, serving: serving, reads)
        XCTAssertEqual(outcome.responses.map { $0?.status }, [401, 401, 429, 429])
        let client = outcome.platform.node("client")!.id.description
        XCTAssertEqual(outcome.simulation.platformObservations.admissions.keys.sorted(), ["anonymous@\(client)"], "keyed by the connection, not by either header")
        let spoofed = ServiceHarness.run("gateway", defects: DefectSet([.I4]), throughGateway: true, serving: serving, reads)
        XCTAssertEqual(spoofed.responses.map { $0?.status }, [401, 401, 401, 401])
        XCTAssertEqual(spoofed.simulation.platformObservations.admissions["anonymous@\(client)"]?.count, 4, "the checker's view: one client admitted 4 times")
    }

    /// Junk tokens cost auth a verification and a security event each only up to the rate limit
    /// of the address they come from (burst 3): five in a row get three 401s from auth (three
    /// refusals logged) and two 429s from the gateway, which never asks auth; once the bucket has
    /// drained (3 s at 1/s), the same client's genuine token is verified and routed.
    func testJunkTokensAreVerifiedOnlyUpToTheRateLimitOfTheirAddress() {
        var serving = ServingConfiguration()
        serving.rateLimitPerSecond = 1
        serving.rateLimitBurst = 3
        let junk = HTTPRequest("GET", "gateway/routes", headers: ["authorization": "junk"])
        let routed = HTTPRequest("GET", "storage/artifacts", body: ["key": "missing"])
        let junkCall = HTTPRequest("GET", "storage/artifacts", body: ["key": "missing"], headers: ["authorization": "not.a.token"])
        let outcome = ServiceHarness.run("gateway", throughGateway: true, serving: serving,
                                         [junk] + Array(repeating: junkCall, count: 5) + [ServiceHarness.pause(milliseconds: 3_500), routed])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401, 401, 401, 429, 429, nil, 404], "gateway/routes is the gateway's own, never verified")
        XCTAssertEqual(outcome.responses[4]?.body["error"]?.hasPrefix("rate limited: too many refused tokens from"), true)
        XCTAssertEqual(outcome.simulation.security.refusals.filter { $0.service == "auth" }.count, 3, "auth asked for three of the five junk tokens")
        XCTAssertEqual(outcome.simulation.platformObservations.routings.filter { $0.service == "storage" }.count, 1, "only the genuine request reached storage")
    }

    /// A request RBAC refuses is counted by the limiter first: a viewer's four registrations in a
    /// row (burst 2) cost two 403s, two security events, then 429s that log nothing.
    func testRequestsRBACRefusesAreCountedByTheRateLimitFirst() {
        var serving = ServingConfiguration()
        serving.rateLimitPerSecond = 1
        serving.rateLimitBurst = 2
        let register = HTTPRequest("POST", "registry/versions", body: ["model": "m"], headers: ["x-harness-user": "alice"])
        let outcome = ServiceHarness.run("gateway", throughGateway: true, serving: serving, Array(repeating: register, count: 4))
        XCTAssertEqual(outcome.responses.map { $0?.status }, [403, 403, 429, 429])
        XCTAssertEqual(outcome.simulation.security.refusals.filter { $0.service == "gateway" }.map(\.reason), ["role viewer may not POST registry", "role viewer may not POST registry"])
        XCTAssertEqual(outcome.simulation.platformObservations.admissions["t1/alice"]?.count, 2)
    }

    /// Junk tokens sent all at once are bounded too: each takes a slot of its address's bucket
    /// before auth is asked, so of six sent together (burst 3) at most three reach auth.
    func testJunkTokensSentAtOnceReachAuthOnlyUpToTheLimit() {
        var serving = ServingConfiguration()
        serving.rateLimitPerSecond = 1
        serving.rateLimitBurst = 3
        let junk = HTTPRequest("GET", "storage/artifacts", body: ["key": "missing"], headers: ["authorization": "not.a.token"])
        let outcome = ServiceHarness.run("gateway", throughGateway: true, serving: serving, [ServiceHarness.concurrently(6, junk)])
        XCTAssertEqual(outcome.responses.map { $0?.status }.sorted { ($0 ?? 0) < ($1 ?? 0) }, [401, 401, 401, 429, 429, 429])
        XCTAssertEqual(outcome.simulation.security.refusals.filter { $0.service == "auth" }.count, 3)
        XCTAssertEqual(outcome.simulation.platformObservations.tokenChecksLimited, 3)
    }

    func testTheInvariantFindsARequestRoutedToAnotherService() {
        let outcome = ServiceHarness.run("gateway", throughGateway: true, [HTTPRequest("GET", "gateway/routes")])
        outcome.simulation.platformObservations.routings.append((1, "models", "registry-1"))
        XCTAssertEqual(GatewayService.invariants(outcome.view), ["gateway: a request for models went to registry-1 (registered as registry) at 1 ns"])
    }
}

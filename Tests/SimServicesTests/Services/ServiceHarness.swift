import XCTest
@testable import SimKernel
@testable import SimServices

/// Runs the standard platform (nine infrastructure nodes, fifteen services) and a client that,
/// once `service` is ready, sends it `requests` one after another, straight to its HTTP address
/// (or through the gateway). Returns the answers, and the simulation for inspecting its stores.
enum ServiceHarness {
    struct Outcome {
        let simulation: Simulation
        let platform: Platform
        let responses: [HTTPResponse?]
        /// Virtual time from sending each request to its answer (nil for pseudo-requests and
        /// concurrent copies), aligned with `responses`.
        let durations: [Int64?]
        var view: ServiceStateView { ServiceStateView(simulation: simulation, topology: platform.topology) }
    }

    /// A pseudo-request: the client waits `milliseconds` before the next request (its answer is nil).
    static func pause(milliseconds: Int64) -> HTTPRequest { HTTPRequest("PAUSE", "\(milliseconds)") }
    /// A pseudo-request: the client crashes node `node` (for good) before the next request (its answer is nil).
    static func crash(node: String) -> HTTPRequest { HTTPRequest("CRASH", node) }
    /// A pseudo-request: restarts `node` after a crash (its processes start again from its disk).
    static func restart(node: String) -> HTTPRequest { HTTPRequest("RESTART", node) }
    /// Sends the last request sent again, exactly as it went (its identity's signature and nonce too).
    static let replayLast = HTTPRequest("REPLAY", "")
    /// `request` with its identity signed for `service`'s node instead of the one it goes to.
    static func signed(forService service: String, _ request: HTTPRequest) -> HTTPRequest {
        with(["x-harness-sign-for": service], request)
    }

    /// A pseudo-request: the client writes `bytes` straight into the object store (as a holder of
    /// its credentials could, past every service) before the next request (its answer is nil).
    static func putObject(bucket: String, key: String, bytes: [UInt8]) -> HTTPRequest {
        HTTPRequest("PUTOBJECT", "\(bucket)/\(key)", body: ["hex": hexBytes(bytes)])
    }

    /// A pseudo-request: the owner of DNS name `name` points it at node `node`'s address before the
    /// next request (its answer is nil).
    static func setName(_ name: String, toNode node: String) -> HTTPRequest { HTTPRequest("SETNAME", name, body: ["node": node]) }

    /// `request` sent `copies` times at once (each answer appended, in the order they were sent):
    /// concurrent callers racing for the same rows.
    static func concurrently(_ copies: Int, _ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.headers["x-harness-copies"] = "\(copies)"
        return request
    }

    /// `request` with `headers` added (a caller's identity, say), replacing any of the same name.
    static func with(_ headers: [String: String], _ request: HTTPRequest) -> HTTPRequest {
        var request = request
        for (name, value) in headers { request.headers[name] = value }
        return request
    }

    /// `request` sent to `service` instead of the harness's target (its identity signed as usual).
    static func to(_ service: String, _ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.headers["x-harness-to"] = service
        return request
    }

    /// `request` with its identity headers left unsigned, as a caller that bypassed the gateway sends them.
    static func unsigned(_ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.headers[ForwardedIdentity.header] = ""
        return request
    }

    /// `request` with its identity signed as if its path were `path` (a signature lifted from another request).
    static func signed(asPath path: String, _ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.headers["x-harness-sign-path"] = path
        return request
    }

    /// `request` with its identity signed over a body that also had field `field` = `value` (the
    /// request sent is another body under a captured signature).
    static func signed(withExtraField field: String, _ value: String, _ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.headers["x-harness-sign-extra"] = "\(field)=\(value)"
        return request
    }

    /// `request` with its identity signed `seconds` before it is sent (negative: after).
    static func signed(secondsAgo seconds: Int64, _ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.headers["x-harness-sign-ago"] = "\(seconds)"
        return request
    }

    /// `request` sent straight to the service with no identity at all (by default the harness
    /// sends an identity-less request as a platform service, `svc:harness`: the platform's own).
    static func bare(_ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.headers["x-harness-bare"] = "1"
        return request
    }

    /// A token for `user` (API key `k-<user>`), asked through the gateway until granted.
    static func token(_ context: ProcessContext, gateway: Address, user: String) async -> String {
        while true {
            let login = HTTPRequest("POST", "auth/token", body: ["user": user, "api_key": "k-\(user)"])
            if case .success(let envelope) = await context.call(gateway, HTTPMessage.request(login), timeout: 3 * Nanos.second),
               case .response(let response) = envelope.payload as? HTTPMessage, let token = response.body["token"] { return token }
            await context.sleep(nanoseconds: 200 * Nanos.millisecond)
        }
    }

    /// `duplicateEveryMessage`: the network delivers every message twice (the same transport
    /// message, as a duplicated packet).
    static func run(_ service: String, seed: UInt64 = 1, defects: DefectSet = .empty, throughGateway: Bool = false,
                    seconds: Int64 = 30, serving: ServingConfiguration = ServingConfiguration(), duplicateEveryMessage: Bool = false,
                    _ requests: [HTTPRequest]) -> Outcome {
        var options = SimulationOptions()
        options.maxTime = seconds * Nanos.second
        let simulation = Simulation(seed: seed, options: options)
        if duplicateEveryMessage { simulation.network.options.duplicateProbability = Ratio(1, 1) }
        let topology = Topology(nodes: Topology.standard.nodes + [NodeSpec(name: "client", role: "client")])
        let platform = Platform(on: simulation, topology: topology, defects: defects, serving: serving)
        var responses: [HTTPResponse?] = []
        var durations: [Int64?] = []
        var tokens: [String: String] = [:]
        var lastSent: (HTTPRequest, Address)?
        let target = platform.directory.services[throughGateway ? "gateway" : service]!
        platform.node("client")!.addProcess("harness") { context in
            let observations = simulation.platformObservations
            while observations.services[service]?.ready != true || (throughGateway && observations.services["gateway"]?.ready != true) {
                await context.sleep(nanoseconds: 100 * Nanos.millisecond)
            }
            await context.sleep(for: .seconds(2))  // registered and passing its check
            for request in requests {
                if request.method == "PAUSE" {
                    await context.sleep(nanoseconds: (Int64(request.path) ?? 0) * Nanos.millisecond)
                    responses.append(nil)
                    continue
                }
                if request.method == "PUTOBJECT", let slash = request.path.firstIndex(of: "/"), let bytes = request.body["hex"].flatMap(bytesFromHex) {
                    let put = ObjectStoreRequest.put(bucket: String(request.path[..<slash]), key: String(request.path[request.path.index(after: slash)...]), bytes: bytes, ifNoneMatch: false)
                    let stored = await ObjectStoreClient(server: platform.directory.objectStore).request(put, context: context)
                    guard case .success = stored else { fatalError("the harness's object write failed: \(stored)") }
                    responses.append(nil)
                    continue
                }
                if request.method == "SETNAME", let node = request.body["node"], let address = simulation.names.address(of: node) {
                    simulation.names.set(request.path, to: address, at: simulation.now)
                    responses.append(nil)
                    continue
                }
                if request.method == "PRODUCE", let key = request.body["key"], let value = request.body["value"] {
                    // A record on Kafka topic `path`, as another service would publish it.
                    let produced = await KafkaClient(broker: platform.directory.kafka).produce(request.path, key: key, value: Array(value.utf8), context: context, retries: 3)
                    guard case .success = produced else { fatalError("the harness's produce failed: \(produced)") }
                    responses.append(nil)
                    continue
                }
                if request.method == "REPLAY", let (sent, to) = lastSent {
                    // The last request again, byte for byte (its signature and nonce too).
                    if case .success(let envelope) = await context.call(to, HTTPMessage.request(sent), timeout: 5 * Nanos.second),
                       case .response(let response) = envelope.payload as? HTTPMessage { responses.append(response) } else { responses.append(nil) }
                    continue
                }
                if request.method == "CRASH" {
                    platform.node(request.path)!.crash()
                    responses.append(nil)
                    continue
                }
                if request.method == "RESTART" {
                    platform.node(request.path)!.restart()
                    responses.append(nil)
                    continue
                }
                var request = request, destination = target
                // Through the gateway (deny by default), a request carries a token: the user's the
                // test names (`x-harness-user`, default ml-engineer, a scientist of t1), asked once
                // per user, unless the test sends it anonymously (`x-harness-anonymous`) or it is a login.
                let user = request.headers.removeValue(forKey: "x-harness-user") ?? "ml-engineer"
                let anonymous = request.headers.removeValue(forKey: "x-harness-anonymous") != nil
                if throughGateway, !anonymous, request.headers["authorization"] == nil, !GatewayService.publicRoutes.contains("\(request.method) \(request.path)") {
                    if tokens[user] == nil { tokens[user] = await token(context, gateway: target, user: user) }
                    request.headers["authorization"] = tokens[user]
                }
                let copies = request.headers.removeValue(forKey: "x-harness-copies").flatMap { Int($0) }
                if let other = request.headers.removeValue(forKey: "x-harness-to") { destination = platform.directory.services[other]! }
                // Sent straight to the service, an identity is signed as the gateway would sign it
                // (unless the test marks it unsigned with an empty signature, or signs it for
                // another path, body or time); a request without one goes as a platform service
                // (`svc:harness`), unless the test sends it bare or it is a login.
                // A login (a public route) goes bare, as the gateway forwards it.
                let bare = request.headers.removeValue(forKey: "x-harness-bare") != nil || GatewayService.publicRoutes.contains("\(request.method) \(request.path)")
                let signPath = request.headers.removeValue(forKey: "x-harness-sign-path")
                let signExtra = request.headers.removeValue(forKey: "x-harness-sign-extra")?.split(separator: "=", maxSplits: 1).map(String.init)
                let signAgo = request.headers.removeValue(forKey: "x-harness-sign-ago").flatMap { Int64($0) } ?? 0
                if !throughGateway, !bare, !ForwardedIdentity.claimed(request.headers) {
                    request.headers["x-user"] = "svc:harness"
                    request.headers["x-role"] = ForwardedIdentity.serviceRole
                }
                let audience = request.headers.removeValue(forKey: "x-harness-sign-for").flatMap { platform.directory.services[$0]?.node } ?? destination.node
                let signs = !throughGateway && ForwardedIdentity.claimed(request.headers) && request.headers[ForwardedIdentity.header] == nil
                // Each sending signed anew (its own nonce), as a real sender signs each request.
                func signed(_ request: HTTPRequest) -> HTTPRequest {
                    guard signs else { return request }
                    var signed = request
                    if let signPath { signed.path = signPath }
                    if let signExtra, signExtra.count == 2 { signed.body[signExtra[0]] = signExtra[1] }
                    ForwardedIdentity.sign(&signed, at: context.localTime - signAgo * Nanos.second, for: audience, nonce: ForwardedIdentity.nonce(context))
                    var sent = request
                    sent.headers = signed.headers
                    return sent
                }
                if let copies {
                    // Sent all at once; answers kept in sending order.
                    var answers = [HTTPResponse?](repeating: nil, count: copies), done = 0
                    for copy in 0 ..< copies {
                        let sent = signed(request)
                        simulation.spawn {
                            if case .success(let envelope) = await context.call(destination, HTTPMessage.request(sent), timeout: 5 * Nanos.second),
                               case .response(let response) = envelope.payload as? HTTPMessage { answers[copy] = response }
                            done += 1
                        }
                    }
                    while done < copies { await context.sleep(nanoseconds: 10 * Nanos.millisecond) }
                    responses += answers
                    continue
                }
                request = signed(request)
                let sentAt = simulation.now
                lastSent = (request, destination)
                if case .success(let envelope) = await context.call(destination, HTTPMessage.request(request), timeout: 5 * Nanos.second),
                   case .response(let response) = envelope.payload as? HTTPMessage {
                    responses.append(response)
                } else {
                    responses.append(nil)
                }
                while durations.count < responses.count - 1 { durations.append(nil) }
                durations.append(simulation.now - sentAt)
            }
        }
        simulation.run()
        while durations.count < responses.count { durations.append(nil) }
        return Outcome(simulation: simulation, platform: platform, responses: responses, durations: durations)
    }

    /// Runs `sql` on `database` after the run (to plant a violation an invariant must find).
    static func write(_ outcome: Outcome, _ database: String, _ sql: String) {
        let node = outcome.platform.topology.nodes(role: database).first!.name
        outcome.simulation.inspect {
            let connection = try! SQLConnection(node: node, file: "\(database).db")
            _ = try! connection.execute(SQLStatement(sql))
            connection.close()
        }
    }
}

import SimKernel
import SimServices
import Yams

/// Webhooks under attack, from the `client` node as ml-engineer (a scientist of t1). An **owner**
/// subscribes `https://client/hooks`, where a receiver (`WebhookReceiver`) verifies every delivery,
/// asks a test delivery every `interval_ms`, and rotates the secret at `rotate_at_ms` (the receiver
/// takes the new one and keeps the old through the platform's grace period). A **replayer** who
/// captured a delivery sends it to the receiver again: verbatim, with its body changed, with its
/// timestamp moved, and re-signed under a guessed secret. An **SSRF attacker** subscribes targets
/// inside the platform (an internal node's name, loopback as `0x7f.1` and `2130706433`, an
/// IPv4-mapped IPv6 address, `user@<internal address>`, the cloud metadata address, `127.0.0.1`) and
/// a name of its own zone that resolves to its public address at subscription and is then rebound
/// to the admin node's private one; each accepted subscription gets a test delivery.
public struct WebhookAttacksWorkload: Workload {
    public static let name = "webhook_attacks"
    public static let requiredRoles = ["client", "gateway", "auth", "webhooks", "admin"]
    public static let keys = ["tests", "interval_ms", "rotate_at_ms"]

    public var tests = 20
    public var intervalMillis = 400
    public var rotateAtMillis = 6_000

    public static let rebinding = "rebind.attacker.example"

    /// The SSRF targets: every one resolves inside the platform (`inside` is the admin node's address).
    public static func ssrfTargets(inside: HostAddress) -> [String] {
        guard case .v4 = inside else { return [] }
        return ["https://admin/http", "https://0x7f.1/http", "https://2130706433/http", "https://[::ffff:\(inside)]/http",
                "https://hooks.example.com@\(inside)/http", "https://169.254.169.254/latest", "https://127.0.0.1/http", "https://\(rebinding)/http"]
    }

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "tests": tests = Int(try reader.integer(value, path, in: 1 ... 100_000))
            case "interval_ms": intervalMillis = Int(try reader.integer(value, path, in: 1 ... 600_000))
            default: rotateAtMillis = Int(try reader.integer(value, path, in: 0 ... 86_400_000))
            }
        }
    }

    /// What the receiver and the replayer share (confined to the simulation's thread).
    final class Receiver: @unchecked Sendable {
        var receiver: WebhookReceiver?
        /// The first delivery the receiver accepted, as captured on the wire.
        var captured: HTTPRequest?
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"], let inside = platform.simulation.names.address(of: "admin"),
              let external = platform.simulation.names.address(of: client.name) else { return }
        let simulation = platform.simulation, tests = self.tests, interval = Int64(intervalMillis) * Nanos.millisecond
        let rotateAt = Int64(rotateAtMillis) * Nanos.millisecond, shared = Receiver()
        func ask(_ context: ProcessContext, _ request: HTTPRequest) async -> HTTPResponse { await context.askUntilDefinitive(gateway, request) }
        func record(_ context: ProcessContext, _ request: HTTPRequest, fromPlatform: Bool) -> HTTPResponse {
            guard var receiver = shared.receiver else { return .error(503, "not subscribed yet") }
            let verdict = receiver.receive(id: request.headers["webhook-id"], signature: request.headers["webhook-signature"], body: request.body["event"], nowSeconds: context.localTime / Nanos.second)
            shared.receiver = receiver
            simulation.security.webhookReceipts.append((simulation.now, request.headers["webhook-id"] ?? "", fromPlatform, verdict))
            simulation.security.revision &+= 1
            if case .accepted = verdict, fromPlatform, shared.captured == nil { shared.captured = request }
            if case .refused(let why) = verdict { return .error(401, why) }
            return HTTPResponse(200)
        }
        client.addProcess("hooks") { context in
            // The receiver: what reaches https://client/hooks.
            let mailbox = context.mailbox("hooks")
            while true {
                let envelope = await mailbox.receive()
                guard case .request(let request) = envelope.payload as? HTTPMessage else { continue }
                // The replayer marks its sends (a test-only header; a real receiver cannot tell).
                let fromPlatform = request.headers["x-replayed"] == nil
                context.reply(to: envelope, HTTPMessage.response(record(context, request, fromPlatform: fromPlatform)))
            }
        }
        client.addProcess("hooks-owner") { context in
            let token = await context.token(gateway, user: "ml-engineer")
            var subscribed: HTTPResponse
            repeat {
                subscribed = await ask(context, HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://\(client.name)/hooks"], headers: ["authorization": token]))
                if subscribed.status != 200 { await context.sleep(nanoseconds: 500 * Nanos.millisecond) }
            } while subscribed.status != 200
            guard let id = subscribed.body["id"], let secret = subscribed.body["secret"] else { return }
            shared.receiver = WebhookReceiver(secrets: [secret])
            var rotated = false
            for _ in 0 ..< tests {
                await context.sleep(nanoseconds: interval)
                if !rotated, simulation.now >= rotateAt {
                    let answer = await ask(context, HTTPRequest("POST", "webhooks/rotate", body: ["id": id, "request_id": "\(client.name)-rotation-1"], headers: ["authorization": token]))
                    if let new = answer.body["secret"] {
                        rotated = true
                        shared.receiver?.secrets = [new, secret]
                        simulation.spawn {
                            // The old secret is dropped once the platform stops signing with it.
                            await context.sleep(nanoseconds: (WebhooksService.rotationGraceSeconds + 5) * Nanos.second)
                            shared.receiver?.secrets = [new]
                        }
                    }
                }
                simulation.spawn { _ = await ask(context, HTTPRequest("POST", "webhooks/test", body: ["id": id], headers: ["authorization": token])) }
            }
        }
        client.addProcess("replayer") { context in
            while shared.captured == nil { await context.sleep(nanoseconds: 200 * Nanos.millisecond) }
            guard let captured = shared.captured, let header = captured.headers["webhook-signature"],
                  let (t, _) = WebhookReceiver.parse(header), let body = captured.body["event"] else { return }
            let hooks = Address(node: client.id, service: "hooks")
            var tampered = captured, moved = captured, resigned = captured
            tampered.body["event"] = body + "|refund"
            moved.headers["webhook-signature"] = header.replacingOccurrences(of: "t=\(t)", with: "t=\(t + 1)")
            resigned.body["event"] = "refund"
            resigned.headers["webhook-signature"] = "t=\(t),v1=\(WebhooksService.signature(secret: "whsec-123456", timestamp: t, body: "refund"))"
            for var replay in [captured, tampered, moved, resigned] {
                replay.headers["x-replayed"] = "1"
                _ = await context.call(hooks, HTTPMessage.request(replay), timeout: 2 * Nanos.second)
                await context.sleep(nanoseconds: interval)
            }
        }
        client.addProcess("ssrf") { context in
            let token = await context.token(gateway, user: "ml-engineer")
            simulation.names.set(Self.rebinding, to: external, at: simulation.now)
            for url in Self.ssrfTargets(inside: inside) {
                await context.sleep(nanoseconds: interval)
                let subscribed = await ask(context, HTTPRequest("POST", "webhooks/endpoints", body: ["url": url], headers: ["authorization": token]))
                guard let id = subscribed.body["id"] else { continue }  // refused
                if url.contains(Self.rebinding) { simulation.names.set(Self.rebinding, to: inside, at: simulation.now) }
                _ = await ask(context, HTTPRequest("POST", "webhooks/test", body: ["id": id], headers: ["authorization": token]))
            }
        }
    }
}

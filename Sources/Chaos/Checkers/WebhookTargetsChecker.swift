import SimKernel
import SimServices

/// No webhook goes inside the platform (SSRF): every delivery attempt went to a node of the
/// topology's `client` role (the internet), at an address that is not loopback, private or
/// link-local. I2 judges only the subscribed URL's text, so other spellings of an internal
/// address, a node's name and a rebound name all get through.
public final class WebhookTargetsChecker: SecurityObservationsChecker, Checker {
    public static let name = "webhook-targets"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.workloads.contains { $0 is WebhookAttacksWorkload } ? nil : "no webhook_attacks workload runs in this scenario"
    }
    var external: Set<String> = []

    public override func install(on platform: Platform) {
        external = Set(platform.topology.nodes(role: "client").map(\.name))
        super.install(on: platform)
    }

    /// Whether a dotted IPv4 address (or a bracketed IPv6 one) is in a range the internet cannot
    /// reach: judged here from the text, apart from the service's own classification.
    static func isPrivate(_ address: String) -> Bool {
        if address.hasPrefix("[") { return true }  // the platform has no public IPv6 receivers
        let octets = address.splitBytes(".").compactMap { Int($0) }
        guard octets.count == 4 else { return true }
        return [0, 10, 127].contains(octets[0]) || (octets[0] == 169 && octets[1] == 254) || (octets[0] == 192 && octets[1] == 168)
            || (octets[0] == 172 && (16 ... 31).contains(octets[1])) || (octets[0] == 100 && (64 ... 127).contains(octets[1])) || octets[0] >= 224
    }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.webhookAttempts, from: &checked) { attempt in
            external.contains(attempt.node) && !Self.isPrivate(attempt.address) ? nil
                : "webhooks delivered endpoint \(attempt.endpoint) (\(attempt.url)) to \(attempt.address) (node \(attempt.node)), inside the platform, at \(formatNanoseconds(attempt.at)): server-side request forgery"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["webhooks", "users-db", "gateway"] }
}

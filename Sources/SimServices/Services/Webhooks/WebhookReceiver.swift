/// What a subscriber runs to accept the platform's webhooks (the platform's receiving SDK): a
/// delivery is accepted when its `webhook-signature` (`t=<unix s>,v1=<hex>[,v1=<hex>...]`) carries a
/// v1 that is HMAC-SHA256(secret, "<t>.<body>") for one of the receiver's secrets (two during a
/// rotation), compared in constant time, and `t` is within `tolerance` seconds of the receiver's
/// clock (a captured delivery cannot be replayed later, nor its `t` moved without the secret); an
/// event id already accepted is acknowledged again but not processed twice (deliveries are at
/// least once).
public struct WebhookReceiver: Sendable {
    public enum Verdict: Equatable, Sendable {
        case accepted, duplicate
        case refused(String)
    }

    /// The secrets the receiver accepts signatures of (the newest first).
    public var secrets: [String]
    public var toleranceSeconds: Int64 = 300
    private var seen: Set<String> = []

    public init(secrets: [String]) { self.secrets = secrets }

    /// The `t` and every `v1` of a signature header.
    public static func parse(_ header: String) -> (t: Int64, v1: [String])? {
        var t: Int64?, v1: [String] = []
        for part in header.splitBytes(",") {
            let sides = part.splitBytes("=", maxSplits: 1).map(String.init)
            guard sides.count == 2 else { return nil }
            switch sides[0] {
            case "t": t = Int64(sides[1])
            case "v1": v1.append(sides[1])
            default: continue  // other schemes are ignored, as Stripe's receivers do
            }
        }
        guard let t, !v1.isEmpty else { return nil }
        return (t, v1)
    }

    /// Judges one delivery at the receiver's clock `nowSeconds` (and remembers an accepted id).
    public mutating func receive(id: String?, signature: String?, body: String?, nowSeconds: Int64) -> Verdict {
        guard let id, let signature, let body, let (t, values) = Self.parse(signature) else { return .refused("unsigned or malformed") }
        guard t.isWithin(toleranceSeconds, of: nowSeconds) else { return .refused("timestamp \(t) outside the tolerance at \(nowSeconds)") }
        let expected = secrets.map { WebhooksService.signature(secret: $0, timestamp: t, body: body) }
        // Every pair is compared (no early exit on a match either).
        var matched = false
        for value in values { for candidate in expected { matched = SHA256.constantTimeEqual(Array(value.utf8), Array(candidate.utf8)) || matched } }
        guard matched else { return .refused("no valid signature") }
        return seen.insert(id).inserted ? .accepted : .duplicate
    }
}

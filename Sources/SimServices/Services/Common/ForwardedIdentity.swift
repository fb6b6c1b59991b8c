import SimKernel

/// The identity the gateway forwards (`x-user`, `x-tenant`, `x-role`), signed so that services can
/// tell it from headers anyone could write: the gateway signs the identity with the request's
/// method, path, body, the time it signed it (its node's clock), the node it sends it to and a
/// nonce under a key only the platform's services hold (the service mesh's credential). Every
/// service but the gateway refuses (401, logged) a request carrying an identity without a valid
/// signature, one signed more than `windowNanos` from its own clock, one signed for another node,
/// one whose nonce it has accepted before (`ReplayCache`), and a request carrying no identity at
/// all unless its route carries its own proof (`ServiceSpec.routesWithOwnProof`: a login's API key,
/// an operator's certificate). So a call straight to a service's address cannot claim an identity,
/// cannot pass for the platform's own, and a header set captured inside the mesh is good for
/// nothing: not for another request, another node, nor the same request again.
public enum ForwardedIdentity {
    public static let header = "x-identity-signature"
    /// When the identity was signed: the signer's node clock, in ns.
    public static let timeHeader = "x-identity-time"
    /// The node the identity was signed for (`n<index>`): a replica does not take another's.
    public static let audienceHeader = "x-identity-for"
    /// Unique to each signature (`<signer node>-<epoch>-<n>`): a verifier takes it once.
    public static let nonceHeader = "x-identity-nonce"
    /// The headers a signature travels in (a client's copies are dropped by the gateway).
    public static let signatureHeaders = [header, timeHeader, audienceHeader, nonceHeader]
    /// The headers that make up an identity.
    public static let identityHeaders = ["x-user", "x-tenant", "x-role"]
    static let key = Array("synapsenet-mesh-key".utf8)
    /// How far a signature's time may be from the verifier's clock, either way: 30 s (the mesh's
    /// clocks are kept within a second of one another; a retry goes out within a few seconds).
    public static let windowNanos: Int64 = 30 * Nanos.second

    /// `key`'s HMAC schedule, computed once.
    static let meshKey = SHA256.HMACKey(key)

    /// The body's fields in key order, each length-prefixed, so that no two bodies read the same
    /// (the operator proof's body digest uses the same form: `PlatformPKI.proofBytes`).
    public static func canonicalBody(_ body: [String: String]) -> [UInt8] {
        var fields: [UInt8] = []
        appendCanonicalBody(body, to: &fields)
        return fields
    }

    /// `canonicalBody(body)` appended to `bytes`: `<length>:<key><length>:<value>` for each field in
    /// key order, written byte by byte (interpolated strings were a tenth of each signature).
    /// The fields are sorted as pairs (String's `<`, as sorting the keys was), so no key is looked
    /// up again after the sort.
    static func appendCanonicalBody(_ body: [String: String], to bytes: inout [UInt8]) {
        for (key, value) in body.sorted(by: { $0.key < $1.key }) {
            appendLengthPrefixed(key, to: &bytes)
            appendLengthPrefixed(value, to: &bytes)
        }
    }

    /// `<length in bytes>:<value>`, the form every signed field takes. The length's decimal digits
    /// are written without making a string of them, and the value's bytes copied from its
    /// contiguous UTF-8 storage when it has one (native strings do).
    static func appendLengthPrefixed(_ value: String, to bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            appendDecimal(utf8.count, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: utf8)
        }
    }

    /// `number`'s decimal digits (it is a length: never negative), most significant first.
    static func appendDecimal(_ number: Int, to bytes: inout [UInt8]) {
        precondition(number >= 0, "a length is never negative: \(number)")
        var divisor = 1
        while divisor <= number / 10 { divisor *= 10 }  // the power of ten of the leading digit
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(number / divisor % 10))
            divisor /= 10
        }
    }

    /// The signature of the identity in `request`'s headers for its method, path, body and `time`:
    /// every field length-prefixed, an absent identity header told from an empty one, so no two
    /// requests sign the same bytes.
    static func signature(_ request: HTTPRequest, time: String) -> String { String(decoding: signatureHex(request, time: time), as: UTF8.self) }

    /// `signature`'s lower-case hex digits as bytes.
    static func signatureHex(_ request: HTTPRequest, time: String) -> [UInt8] {
        hexDigits(meshKey.mac(signedText(request, time: time)))
    }

    /// The bytes `signatureHex` authenticates: the identity headers, method, path, `time`,
    /// audience and nonce, each length-prefixed (`-` for an absent one), then the canonical body.
    static func signedText(_ request: HTTPRequest, time: String) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(256)
        func field(_ value: String?) {
            if let value { appendLengthPrefixed(value, to: &text) } else { text.append(UInt8(ascii: "-")) }
            text.append(UInt8(ascii: ";"))
        }
        for name in identityHeaders { field(request.headers[name]) }
        field(request.method)
        field(request.path)
        field(time)
        field(request.headers[audienceHeader])
        field(request.headers[nonceHeader])
        appendCanonicalBody(request.body, to: &text)
        return text
    }

    /// Signs the identity `request` carries, at `time` (the signer's node clock), for node
    /// `audience`, with `nonce` (unique to this signature).
    public static func sign(_ request: inout HTTPRequest, at time: Int64, for audience: NodeID, nonce: String) {
        request.headers.reserveCapacity(request.headers.count + signatureHeaders.count)  // one allocation, not a growth per header
        request.headers[timeHeader] = String(time)
        request.headers[audienceHeader] = audience.description
        request.headers[nonceHeader] = nonce
        request.headers[header] = signature(request, time: String(time))
    }

    /// Signs the identity `request` carries as `context`'s process, now, for `destination`'s node,
    /// with a fresh nonce.
    public static func sign(_ request: inout HTTPRequest, by context: ProcessContext, for destination: Address) {
        sign(&request, at: context.localTime, for: destination.node, nonce: nonce(context))
    }

    /// A nonce no other signature of the run carries: the signer's node and process start, and a
    /// counter of the run's signatures.
    public static func nonce(_ context: ProcessContext) -> String {
        let counter = context.simulation.component(NonceCounter.self) { NonceCounter() }
        counter.next += 1
        return "\(context.node.id)-\(context.epoch)-\(counter.next)"
    }

    final class NonceCounter {
        var next: UInt64 = 0
    }

    /// The role of a platform service acting as itself (a job of the platform's, not a user's).
    public static let serviceRole = "service"

    /// `request` carrying the identity of platform service `service` (`x-user: svc:<service>`, role
    /// `service`, no tenant: the platform's own work, as its jobs always acted), signed with the
    /// mesh key by `context` for `destination`. The gateway lets such a request through without a
    /// token from a node of the mesh; nobody outside the mesh can sign one.
    public static func asService(_ service: String, _ request: HTTPRequest, by context: ProcessContext, for destination: Address) -> HTTPRequest {
        var request = request
        request.headers["x-user"] = "svc:\(service)"
        request.headers["x-tenant"] = nil
        request.headers["x-role"] = serviceRole
        sign(&request, by: context, for: destination)
        return request
    }

    /// Whether `request` claims a platform service's identity (its signature is `verify`'s).
    public static func claimsService(_ request: HTTPRequest) -> Bool {
        guard let user = request.headers["x-user"], user.hasPrefix("svc:") else { return false }
        return request.headers["x-role"] == serviceRole && request.headers["x-tenant"] == nil
    }

    /// Whether a validly signed identity may act without a tenant: only a platform service acting as
    /// itself (`svc:<name>`, role `service`). Any other identity without a tenant (a user whose
    /// tenant claim was lost or left empty) is not the platform's and is refused.
    public static func mayLackTenant(_ headers: HTTPHeaders) -> Bool {
        let hasTenant = !(headers["x-tenant"] ?? "").isEmpty
        let isPlatformService = headers["x-user"]?.hasPrefix("svc:") == true && headers["x-role"] == serviceRole
        return hasTenant || isPlatformService
    }

    /// Whether `headers` carry an identity at all.
    public static func claimed(_ headers: HTTPHeaders) -> Bool { identityHeaders.contains { headers[$0] != nil } }

    /// Why the identity in `request` does not carry a valid signature for node `audience` as of
    /// `now` (the verifier's node clock), or nil when it does. Its nonce is `ReplayCache`'s.
    public static func verify(_ request: HTTPRequest, now: Int64, audience: NodeID) -> String? {
        guard let signature = request.headers[header], !signature.isEmpty else { return "identity without the gateway's signature" }
        guard let text = request.headers[timeHeader], let time = Int64(text) else { return "identity signature without its time" }
        guard time.isWithin(windowNanos, of: now) else {
            return "identity signed at \(time) ns, more than \(windowNanos / Nanos.second) s from \(now)"
        }
        guard SHA256.constantTimeEqual(signatureHex(request, time: text), Array(signature.utf8)) else {
            return "identity without the gateway's signature"
        }
        guard request.headers[audienceHeader] == audience.description else {
            return "identity signed for node \(request.headers[audienceHeader] ?? "-"), not \(audience)"
        }
        guard let nonce = request.headers[nonceHeader], !nonce.isEmpty else { return "identity signature without its nonce" }
        return nil
    }

    /// The signing time of a request `verify` accepted.
    static func signedAt(_ request: HTTPRequest) -> Int64 { request.headers[timeHeader].flatMap { Int64($0) } ?? 0 }
}

/// The nonces of the identity signatures a process accepted, each kept until its signature's
/// window has closed on the process's clock (after which `verify` refuses the signature anyway)
/// and, against a clock stepped back, until twice the window has passed in true time: a second
/// request with a nonce already taken is a replay, unless it came in the same transport message
/// (the network's duplicate). In memory: a restarted process starts empty, so it refuses (503:
/// send again, signed anew) signatures dated before its start plus the mesh's clock tolerance,
/// which the process before it may have accepted. A signature dated at or before the latest
/// signing time of a nonce it has forgotten is refused too (a clock stepped back by more than the
/// window could otherwise reopen a forgotten nonce's window).
final class ReplayCache {
    /// Nonce -> the transport message that brought it first.
    private var seen: [String: String] = [:]
    /// (signing time, true time taken, nonce) in the order they were taken; expired from the front.
    private var order: [(signedAt: Int64, takenAt: Int64, nonce: String)] = []
    private var head = 0
    /// The process's clock when it started, and how far the mesh's clocks may be apart.
    let startedAt: Int64
    static let clockTolerance = Nanos.second

    /// The signing times the process's previous lives took, per signer, and this life's, kept on
    /// its disk (nil: none kept, as in the cache's unit tests).
    let marks: SignedUntilMarks?

    init(startedAt: Int64, marks: SignedUntilMarks? = nil) {
        self.startedAt = startedAt
        self.marks = marks
    }

    enum Verdict: Equatable { case first, duplicate, replay, beforeStart, forgotten, unrecorded }

    /// The latest signing time among the nonces forgotten so far (`Int64.min`: none). A signature
    /// dated at or before it may carry a forgotten nonce: refused (`forgotten`, answered 503),
    /// whatever the clock says. With a clock that never goes back no signature the window admits
    /// is that old (a nonce is forgotten only after its signature has left the window), so this
    /// refuses only what a clock stepped back by more than the window would have let through again.
    private(set) var forgottenUpTo = Int64.min

    /// Takes `nonce` of a signature made at `signedAt`, brought by transport message `message`,
    /// judged at `now` (this process's clock) and `trueNow` (the simulation's).
    func take(_ nonce: String, message: String, signedAt: Int64, now: Int64, trueNow: Int64) -> Verdict {
        if signedAt < startedAt + Self.clockTolerance { return .beforeStart }
        let signer = SignedUntilMarks.signer(ofNonce: nonce)
        // Signed no later than something a previous life took from the same signer (or, with the
        // previous lives' marks lost, than anything they can have taken).
        if let marks, signedAt <= marks.previousMark(of: signer) { return .beforeStart }
        // Expire what no signature window can bring back; an entry behind a later one waits for
        // it (kept a little longer, never dropped early).
        while head < order.count, order[head].signedAt + ForwardedIdentity.windowNanos < now,
              order[head].takenAt + 2 * ForwardedIdentity.windowNanos < trueNow {
            seen[order[head].nonce] = nil
            forgottenUpTo = Swift.max(forgottenUpTo, order[head].signedAt)
            head += 1
        }
        if head >= 1024, head * 2 >= order.count {
            order.removeFirst(head)
            head = 0
        }
        if let first = seen[nonce] { return first == message ? .duplicate : .replay }
        if signedAt <= forgottenUpTo { return .forgotten }
        // Durable before it is taken: the next life must know this signer signed this late.
        if let marks, !marks.cover(signer, signedAt: signedAt) { return .unrecorded }
        seen[nonce] = message
        order.append((signedAt, trueNow, nonce))
        return .first
    }

    var count: Int { seen.count }
}

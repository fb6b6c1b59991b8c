import SimKernel

/// The identity the gateway forwards (`x-user`, `x-tenant`, `x-role`), signed so that services can
/// tell it from headers anyone could write: the gateway signs the identity with the request's
/// method, path, body and the time it signed it (its node's clock) under a key only the platform's
/// services hold (the service mesh's credential). Every service but the gateway refuses (401,
/// logged) a request carrying an identity without a valid signature, one signed more than
/// `windowNanos` from its own clock, and a request carrying no identity at all unless its route
/// carries its own proof (`ServiceSpec.routesWithOwnProof`: a login's API key, an operator's
/// certificate). So a call straight to a service's address cannot claim an identity, cannot pass
/// for the platform's own, and a header set captured inside the mesh is good only for the same
/// method, path and body, for at most the window.
public enum ForwardedIdentity {
    public static let header = "x-identity-signature"
    /// When the identity was signed: the signer's node clock, in ns.
    public static let timeHeader = "x-identity-time"
    /// The headers that make up an identity.
    public static let identityHeaders = ["x-user", "x-tenant", "x-role"]
    static let key = Array("synapsenet-mesh-key".utf8)
    /// How far a signature's time may be from the verifier's clock, either way: 30 s (the mesh's
    /// clocks are kept within a second of one another; a retry goes out within a few seconds).
    public static let windowNanos: Int64 = 30 * Nanos.second

    /// The body's fields in key order, each length-prefixed, so that no two bodies read the same
    /// (the operator proof's body digest uses the same form: `PlatformPKI.proofBytes`).
    public static func canonicalBody(_ body: [String: String]) -> [UInt8] {
        var fields: [UInt8] = []
        for key in body.keys.sorted() {
            let value = body[key] ?? ""
            fields += Array("\(key.utf8.count):\(key)\(value.utf8.count):\(value)".utf8)
        }
        return fields
    }

    /// The signature of the identity in `request`'s headers for its method, path, body and `time`:
    /// every field length-prefixed, an absent identity header told from an empty one, so no two
    /// requests sign the same bytes.
    static func signature(_ request: HTTPRequest, time: String) -> String {
        var text: [UInt8] = []
        func field(_ value: String?) {
            guard let value else { return text += Array("-;".utf8) }
            text += Array("\(value.utf8.count):\(value);".utf8)
        }
        for name in identityHeaders { field(request.headers[name]) }
        for value in [request.method, request.path, time] { field(value) }
        text += canonicalBody(request.body)
        return SHA256.hex(SHA256.hmac(key: key, message: text))
    }

    /// Signs the identity `request` carries, at `time` (the signer's node clock).
    public static func sign(_ request: inout HTTPRequest, at time: Int64) {
        request.headers[timeHeader] = String(time)
        request.headers[header] = signature(request, time: String(time))
    }

    /// `request` signed at `time` (`sign(_:at:)`).
    public static func signed(_ request: HTTPRequest, at time: Int64) -> HTTPRequest {
        var request = request
        sign(&request, at: time)
        return request
    }

    /// The role of a platform service acting as itself (a job of the platform's, not a user's).
    public static let serviceRole = "service"

    /// `request` carrying the identity of platform service `service` (`x-user: svc:<service>`, role
    /// `service`, no tenant: the platform's own work, as its jobs always acted), signed with the
    /// mesh key at `time`. The gateway lets such a request through without a token from a node of
    /// the mesh; nobody outside the mesh can sign one.
    public static func asService(_ service: String, _ request: HTTPRequest, at time: Int64) -> HTTPRequest {
        var request = request
        request.headers["x-user"] = "svc:\(service)"
        request.headers["x-tenant"] = nil
        request.headers["x-role"] = serviceRole
        sign(&request, at: time)
        return request
    }

    /// Whether `request` carries a platform service's identity, validly signed as of `now`.
    public static func isService(_ request: HTTPRequest, now: Int64) -> Bool {
        guard let user = request.headers["x-user"], user.hasPrefix("svc:"), request.headers["x-role"] == serviceRole, request.headers["x-tenant"] == nil else { return false }
        return verify(request, now: now) == nil
    }

    /// Whether a validly signed identity may act without a tenant: only a platform service acting as
    /// itself (`svc:<name>`, role `service`). Any other identity without a tenant (a user whose
    /// tenant claim was lost or left empty) is not the platform's and is refused.
    public static func mayLackTenant(_ headers: [String: String]) -> Bool {
        let hasTenant = !(headers["x-tenant"] ?? "").isEmpty
        let isPlatformService = headers["x-user"]?.hasPrefix("svc:") == true && headers["x-role"] == serviceRole
        return hasTenant || isPlatformService
    }

    /// Whether `headers` carry an identity at all.
    public static func claimed(_ headers: [String: String]) -> Bool { identityHeaders.contains { headers[$0] != nil } }

    /// Why the identity in `request` does not carry a valid signature as of `now` (the verifier's
    /// node clock), or nil when it does.
    public static func verify(_ request: HTTPRequest, now: Int64) -> String? {
        guard let signature = request.headers[header], !signature.isEmpty else { return "identity without the gateway's signature" }
        guard let text = request.headers[timeHeader], let time = Int64(text) else { return "identity signature without its time" }
        // Overflow-safe: a time so far off that the difference overflows is refused with the rest.
        let (difference, overflow) = now.subtractingReportingOverflow(time)
        guard !overflow, difference.magnitude <= UInt64(windowNanos) else {
            return "identity signed at \(time) ns, more than \(windowNanos / Nanos.second) s from \(now)"
        }
        guard SHA256.constantTimeEqual(Array(self.signature(request, time: text).utf8), Array(signature.utf8)) else {
            return "identity without the gateway's signature"
        }
        return nil
    }
}

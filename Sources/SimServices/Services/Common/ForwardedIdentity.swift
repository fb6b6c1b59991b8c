/// The identity the gateway forwards (`x-user`, `x-tenant`, `x-role`), signed so that services can
/// tell it from headers anyone could write: the gateway signs the identity with the request's
/// method and path under a key only the platform's services hold (the service mesh's credential),
/// and every service but the gateway refuses a request carrying an identity without a valid
/// signature (401, logged), so a call straight to a service's address cannot claim an identity.
public enum ForwardedIdentity {
    public static let header = "x-identity-signature"
    /// The headers that make up an identity.
    public static let identityHeaders = ["x-user", "x-tenant", "x-role"]
    static let key = Array("synapsenet-mesh-key".utf8)

    /// The signature of the identity in `headers` for `method path`.
    public static func sign(_ headers: [String: String], method: String, path: String) -> String {
        let text = (identityHeaders.map { headers[$0] ?? "" } + [method, path]).joined(separator: "\n")
        return SHA256.hex(SHA256.hmac(key: key, message: Array(text.utf8)))
    }

    /// Whether `headers` carry an identity at all.
    public static func claimed(_ headers: [String: String]) -> Bool { identityHeaders.contains { headers[$0] != nil } }

    /// Whether the identity in `headers` carries the gateway's signature for `method path`.
    public static func verify(_ headers: [String: String], method: String, path: String) -> Bool {
        guard let signature = headers[header] else { return false }
        return SHA256.constantTimeEqual(Array(sign(headers, method: method, path: path).utf8), Array(signature.utf8))
    }
}

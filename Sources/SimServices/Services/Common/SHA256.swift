import Crypto

/// SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and constant-time comparison for auth's key
/// digests and tokens, the gateway's identity signatures and webhook signatures: a thin facade over
/// swift-crypto (BoringSSL's implementations), so the platform's code names one place and works on
/// byte arrays. (Until issue 13 these were written by hand here.)
public enum SHA256 {
    public static func hash(_ message: [UInt8]) -> [UInt8] { Array(Crypto.SHA256.hash(data: message)) }

    /// HMAC-SHA256(key, message).
    public static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<Crypto.SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Lower-case hex (the platform's one encoder, `hexBytes`).
    public static func hex(_ bytes: [UInt8]) -> String { hexBytes(bytes) }

    /// Compares in time independent of where the first difference is (swift-crypto's comparison
    /// of keys, which reads every byte; only a difference in length returns early).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        SymmetricKey(data: a) == SymmetricKey(data: b)
    }
}

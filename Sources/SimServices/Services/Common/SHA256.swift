import Crypto

/// SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and constant-time comparison for auth's key
/// digests and tokens, the gateway's identity signatures and webhook signatures: a thin facade over
/// swift-crypto (BoringSSL's implementations), so the platform's code names one place and works on
/// byte arrays. (Until issue 13 these were written by hand here.)
public enum SHA256 {
    public static func hash(_ message: [UInt8]) -> [UInt8] { Array(Crypto.SHA256.hash(data: message)) }

    /// HMAC-SHA256(key, message).
    public static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] { HMACKey(key).mac(message) }

    /// HMAC-SHA256 (RFC 2104) under one key, over swift-crypto's SHA-256, with the key's schedule
    /// (the hash states after the inner and outer pads, the first block of each pass) computed
    /// once: the platform signs and checks under a few fixed keys (the mesh's, auth's token
    /// secret), and setting the key up on every call was a third of each signature's work.
    public struct HMACKey: @unchecked Sendable { // safe to share: the pad states are never mutated in place; each `mac` updates a copy, which copies BoringSSL's context first
        private let inner: Crypto.SHA256
        private let outer: Crypto.SHA256
        public init(_ key: [UInt8]) {
            // A key longer than SHA-256's 64-byte block is replaced by its digest (RFC 2104, 2).
            var block = key.count > 64 ? SHA256.hash(key) : key
            block += [UInt8](repeating: 0, count: 64 - block.count)
            var inner = Crypto.SHA256(), outer = Crypto.SHA256()
            block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.update(bufferPointer: $0) }
            block.map { $0 ^ 0x5c }.withUnsafeBytes { outer.update(bufferPointer: $0) }
            self.inner = inner
            self.outer = outer
        }
        /// HMAC-SHA256(key, message) = H((key ^ opad) || H((key ^ ipad) || message)).
        public func mac(_ message: [UInt8]) -> [UInt8] {
            var inner = self.inner, outer = self.outer
            message.withUnsafeBytes { inner.update(bufferPointer: $0) }
            inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
            return outer.finalize().withUnsafeBytes { Array($0) }
        }
    }

    /// Lower-case hex (the platform's one encoder, `hexBytes`).
    public static func hex(_ bytes: [UInt8]) -> String { hexBytes(bytes) }

    /// Compares in time independent of where the first difference is (only a difference in length
    /// returns early).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        // Every byte is read and the differences are or-ed together, so the time does not tell
        // where the first one is (swift-crypto's key comparison does the same, but building two
        // keys cost more than the comparison).
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

import Crypto
import Foundation

/// Mutual TLS between the platform's parts, reduced to what a peer's certificate chain proves: a
/// certificate names its subject and issuer, whether it may issue (CA), what it is for, its
/// validity (unix seconds) and its Ed25519 public key, and carries its issuer's Ed25519 signature
/// over all of that (swift-crypto; Ed25519 signatures are deterministic, RFC 8032). The platform's
/// root (`PlatformPKI`) is the only trust anchor, by key, never by name.
public struct PeerCertificate: Codable, Sendable, Equatable {
    public var subject: String
    public var issuer: String
    public var isCA: Bool
    /// `clientAuth` for a peer's leaf, `ca` for an issuer.
    public var usage: String
    public var notBefore: Int64
    public var notAfter: Int64
    public var publicKey: [UInt8]
    public var signature: [UInt8] = []

    /// The signed part: every field but the signature, one per line.
    var signedBytes: [UInt8] { Array("\(subject)\n\(issuer)\n\(isCA)\n\(usage)\n\(notBefore)\n\(notAfter)\n\(SHA256.hex(publicKey))".utf8) }

    /// Whether `key` (an Ed25519 public key) signed this certificate.
    public func isSigned(by key: [UInt8]) -> Bool {
        guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else { return false }
        return publicKey.isValidSignature(signature, for: signedBytes)
    }

    /// A chain as the `x-client-certificates` header carries it: base64 of its JSON, leaf first.
    public static func header(_ chain: [PeerCertificate]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return ((try? encoder.encode(chain)) ?? Data()).base64EncodedString()
    }

    public static func chain(fromHeader header: String) -> [PeerCertificate]? {
        guard let data = Data(base64Encoded: header) else { return nil }
        return try? JSONDecoder().decode([PeerCertificate].self, from: data)
    }
}

/// The platform's certificate authority and its checks.
public enum PlatformPKI {
    public static let header = "x-client-certificates"

    /// A signing key from a name (a fixed seed: the platform's keys are provisioned, not drawn).
    static func key(_ name: String) -> Curve25519.Signing.PrivateKey {
        // determinism-ok: a 32-byte seed from the name; Ed25519 keys from raw bytes are deterministic.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: SHA256.hash(Array("synapsenet-pki\n\(name)".utf8)))
    }

    /// The public half of the key named `name`.
    public static func publicKey(_ name: String) -> [UInt8] { Array(key(name).publicKey.rawRepresentation) }

    static let rootName = "SynapseNet Internal CA"
    /// The trust anchor: the platform's self-signed root.
    public static let root = issue(subject: rootName, isCA: true, usage: "ca", keyName: rootName, issuer: rootName, issuerKeyName: rootName)

    /// A certificate of `subject` for the key named `keyName`, signed with the key named `issuerKeyName`.
    public static func issue(subject: String, isCA: Bool, usage: String, keyName: String, issuer: String, issuerKeyName: String,
                             notBefore: Int64 = 0, notAfter: Int64 = 4_102_444_800) -> PeerCertificate {
        var certificate = PeerCertificate(subject: subject, issuer: issuer, isCA: isCA, usage: usage, notBefore: notBefore, notAfter: notAfter, publicKey: publicKey(keyName))
        certificate.signature = Array((try? key(issuerKeyName).signature(for: certificate.signedBytes)) ?? Data())
        return certificate
    }

    /// A client certificate for `subject` issued by the platform's root.
    public static func clientCertificate(_ subject: String, notBefore: Int64 = 0, notAfter: Int64 = 4_102_444_800) -> PeerCertificate {
        issue(subject: subject, isCA: false, usage: "clientAuth", keyName: subject, issuer: rootName, issuerKeyName: rootName, notBefore: notBefore, notAfter: notAfter)
    }

    /// Proof of possession: the header carrying the peer's signature, with its leaf's key, over the
    /// request, a time and a nonce (`<unix seconds>.<nonce>.<signature hex>`). A chain alone is
    /// public (anyone who saw it can send it again); only the holder of the leaf's key can sign.
    public static let proofHeader = "x-client-proof"
    /// How far a proof's time may be from the verifier's clock, either way (seconds).
    public static let proofWindowSeconds: Int64 = 300
    /// The subjects that may use the operator routes (`admin/ops/...`): a valid certificate of the
    /// platform's is not enough, its subject must be an operator's.
    public static let operators: Set<String> = ["ops-agent"]

    /// What a proof signs: method, path, the SHA-256 of the body (its fields in key order, each
    /// length-prefixed so that no two bodies read the same), time and nonce, one per line.
    public static func proofBytes(method: String, path: String, body: [String: String], timestamp: Int64, nonce: String) -> [UInt8] {
        let fields = ForwardedIdentity.canonicalBody(body)
        return Array("\(method)\n\(path)\n\(SHA256.hex(SHA256.hash(fields)))\n\(timestamp)\n\(nonce)".utf8)
    }

    /// The proof header for a request, signed with the key named `keyName`.
    public static func prove(keyName: String, method: String, path: String, body: [String: String], timestamp: Int64, nonce: String) -> String {
        let signature = (try? key(keyName).signature(for: proofBytes(method: method, path: path, body: body, timestamp: timestamp, nonce: nonce))) ?? Data()
        return "\(timestamp).\(nonce).\(SHA256.hex(Array(signature)))"
    }

    /// A proof header's parts, nil when it is not `<seconds>.<nonce>.<hex>` (nonce: 8-64 letters or digits).
    public static func parseProof(_ header: String) -> (timestamp: Int64, nonce: String, signature: [UInt8])? {
        let parts = header.splitBytes(".", omittingEmptySubsequences: false)
        guard parts.count == 3, let timestamp = Int64(parts[0]), (8 ... 64).contains(parts[1].count),
              parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }), parts[2].count == 128,
              let signature = hexDecode(String(parts[2])) else { return nil }
        return (timestamp, String(parts[1]), signature)
    }

    static func hexDecode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 48 ... 57: return digit - 48
        case 97 ... 102: return digit - 87
        default: return nil
        }
    }

    /// Why a request's proof of possession of `leaf`'s key is refused at `now` (unix seconds), or
    /// nil with the proof's nonce (which the verifier must not accept twice).
    public static func proofRefusal(_ header: String?, leaf: PeerCertificate, method: String, path: String, body: [String: String], now: Int64) -> Result<String, ProofRefusal> {
        guard let header else { return .failure(.init(reason: "no proof of possession of the leaf's key")) }
        guard let proof = parseProof(header) else { return .failure(.init(reason: "a malformed proof of possession")) }
        // Compared without subtracting the caller's number (an extreme time must not overflow).
        guard proof.timestamp.isWithin(proofWindowSeconds, of: now) else {
            return .failure(.init(reason: "a proof made at \(proof.timestamp) s, outside \(now) s ± \(proofWindowSeconds) s"))
        }
        guard let nonce = signedNonce(header, leaf: leaf, method: method, path: path, body: body) else {
            return .failure(.init(reason: "a proof not signed by \(leaf.subject)'s key"))
        }
        return .success(nonce)
    }

    /// The nonce of a proof signed with `leaf`'s key over this request, whatever its time; nil
    /// when it is malformed or signed by another key.
    public static func signedNonce(_ header: String, leaf: PeerCertificate, method: String, path: String, body: [String: String]) -> String? {
        guard let proof = parseProof(header), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: leaf.publicKey),
              key.isValidSignature(proof.signature, for: proofBytes(method: method, path: path, body: body, timestamp: proof.timestamp, nonce: proof.nonce)) else { return nil }
        return proof.nonce
    }

    public struct ProofRefusal: Error, Equatable { public var reason: String }

    /// Why a chain (leaf first) is refused at `now` (unix seconds), or nil: the leaf is a client
    /// certificate, each certificate is within its validity, is signed by the next one, which is
    /// a CA of that name, and the last is signed by the root's key (or is the root itself).
    /// `nameOnly` is G6's check: the chain holds together, and its top names the root.
    public static func refusal(of chain: [PeerCertificate], now: Int64, nameOnly: Bool = false) -> String? {
        guard let leaf = chain.first, chain.count <= 4 else { return "no certificate, or a chain longer than 4" }
        guard leaf.usage == "clientAuth", !leaf.isCA else { return "the leaf is not a client certificate" }
        for (index, certificate) in chain.enumerated() {
            guard certificate.notBefore <= now, now < certificate.notAfter else { return "\(certificate.subject) is outside its validity" }
            guard index + 1 < chain.count else { break }
            let issuer = chain[index + 1]
            guard issuer.isCA, issuer.subject == certificate.issuer, certificate.isSigned(by: issuer.publicKey) else { return "\(certificate.subject) is not signed by \(issuer.subject)" }
        }
        let top = chain[chain.count - 1]
        if nameOnly { return top.issuer == root.subject ? nil : "the chain does not end at \(root.subject)" }
        return top.issuer == root.subject && top.isSigned(by: root.publicKey) ? nil : "the chain does not end at the platform's root"
    }
}

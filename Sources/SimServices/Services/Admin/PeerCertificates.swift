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

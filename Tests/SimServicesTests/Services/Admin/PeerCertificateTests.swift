import XCTest
@testable import SimKernel
@testable import SimServices

/// Mutual TLS peers of the admin service: chains that end at the platform's root by key, with a
/// fresh proof signed by the leaf's key, from an operator, are accepted; look-alikes, self-signed,
/// expired and leaf-issued chains, copied certificates and replayed proofs are refused; G6 checks names.
final class PeerCertificateTests: XCTestCase {
    static let genuine = [PlatformPKI.clientCertificate("ops-agent")]
    static let rootName = PlatformPKI.root.subject
    static let lookAlike = [PlatformPKI.issue(subject: "ops-agent", isCA: false, usage: "clientAuth", keyName: "impostor", issuer: rootName, issuerKeyName: "attacker root"),
                            PlatformPKI.issue(subject: rootName, isCA: true, usage: "ca", keyName: "attacker root", issuer: rootName, issuerKeyName: "attacker root")]

    /// Ed25519 signatures: the same certificate issued twice has the same bytes (deterministic,
    /// RFC 8032), verifies under its issuer's key, and fails when any signed field changes.
    func testCertificatesAreSignedDeterministicallyAndTamperingShows() {
        let certificate = PlatformPKI.clientCertificate("ops-agent")
        XCTAssertEqual(certificate, PlatformPKI.clientCertificate("ops-agent"))
        XCTAssertEqual(certificate.signature.count, 64)
        XCTAssertTrue(certificate.isSigned(by: PlatformPKI.root.publicKey))
        XCTAssertFalse(certificate.isSigned(by: PlatformPKI.publicKey("attacker root")))
        var tampered = certificate
        tampered.notAfter += 1
        XCTAssertFalse(tampered.isSigned(by: PlatformPKI.root.publicKey))
        XCTAssertEqual(PeerCertificate.chain(fromHeader: PeerCertificate.header(Self.lookAlike)), Self.lookAlike)
    }

    /// The genuine chain (with or without the root appended) is accepted; every other is refused
    /// with its reason; G6's name check accepts the look-alike root but still refuses the rest.
    func testOnlyAChainSignedByTheRootsKeyIsAccepted() {
        XCTAssertNil(PlatformPKI.refusal(of: Self.genuine, now: 100))
        XCTAssertNil(PlatformPKI.refusal(of: Self.genuine + [PlatformPKI.root], now: 100))
        let selfSigned = [PlatformPKI.issue(subject: "ops-agent", isCA: false, usage: "clientAuth", keyName: "impostor", issuer: "ops-agent", issuerKeyName: "impostor")]
        let issuedByLeaf = [PlatformPKI.issue(subject: "x", isCA: false, usage: "clientAuth", keyName: "x", issuer: "intern", issuerKeyName: "intern"), PlatformPKI.clientCertificate("intern")]
        let cases: [([PeerCertificate], String)] = [
            (Self.lookAlike, "the chain does not end at the platform's root"),
            (selfSigned, "the chain does not end at the platform's root"),
            ([PlatformPKI.clientCertificate("old", notBefore: 0, notAfter: 50)], "old is outside its validity"),
            (issuedByLeaf, "x is not signed by intern"),
            ([PlatformPKI.root], "the leaf is not a client certificate"),
            ([], "no certificate, or a chain longer than 4"),
        ]
        for (chain, reason) in cases { XCTAssertEqual(PlatformPKI.refusal(of: chain, now: 100), reason, reason) }
        XCTAssertNil(PlatformPKI.refusal(of: Self.lookAlike, now: 100, nameOnly: true), "G6 takes the look-alike")
        XCTAssertEqual(PlatformPKI.refusal(of: selfSigned, now: 100, nameOnly: true), "the chain does not end at SynapseNet Internal CA")
    }

    /// A quota override carrying `chain` and a proof of possession signed with the key named
    /// `keyName` (made at `timestamp` seconds, over `signedQuota` when it differs from the body's).
    static func override(_ chain: [PeerCertificate]?, quota: Int = 500, keyName: String = "ops-agent", nonce: String = "0123456789abcdef",
                         timestamp: Int64 = 0, signedQuota: Int? = nil) -> HTTPRequest {
        var headers = chain.map { [PlatformPKI.header: PeerCertificate.header($0)] } ?? [:]
        headers[PlatformPKI.proofHeader] = PlatformPKI.prove(keyName: keyName, method: "POST", path: "admin/ops/quota",
                                                             body: ["tenant": "t1", "quota": "\(signedQuota ?? quota)"], timestamp: timestamp, nonce: nonce)
        return HTTPRequest("POST", "admin/ops/quota", body: ["tenant": "t1", "quota": "\(quota)"], headers: headers)
    }

    /// Proof of possession, through the service: the genuine certificate with a proof signed by
    /// another key (a copied certificate), a proof over another body, a proof 400 s old, a
    /// genuine certificate that is not an operator's (403), and the accepted request sent again
    /// (the same nonce) are each refused and logged; only the first request changed the quota.
    func testACopiedCertificateAStaleOrForeignProofAReplayAndANonOperatorAreRefused() {
        let first = Self.override(Self.genuine, quota: 700, nonce: "00000000000000a1")
        let outcome = ServiceHarness.run("admin", [
            first,
            Self.override(Self.genuine, quota: 800, keyName: "impostor", nonce: "00000000000000a2"),
            Self.override(Self.genuine, quota: 900, nonce: "00000000000000a3", signedQuota: 600),
            Self.override(Self.genuine, quota: 900, nonce: "00000000000000a4", timestamp: -400),
            Self.override(Self.genuine, quota: 900, nonce: "00000000000000a6", timestamp: .min),
            Self.override(Self.genuine, quota: 900, nonce: "00000000000000a7", timestamp: .max),
            Self.override([PlatformPKI.clientCertificate("intern")], quota: 900, keyName: "intern", nonce: "00000000000000a5"),
            first,
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401, 401, 401, 401, 401, 403, 401], "the extreme times refused, not a trap")
        let reasons = outcome.simulation.security.refusals.map(\.reason)
        XCTAssertEqual(reasons.count, 7, "\(reasons)")
        XCTAssertEqual(reasons[0], "untrusted peer: a proof not signed by ops-agent's key")
        XCTAssertEqual(reasons[1], "untrusted peer: a proof not signed by ops-agent's key", "signed over quota 600, sent with 900")
        XCTAssertTrue(reasons[2].hasPrefix("untrusted peer: a proof made at -400 s"), reasons[2])
        XCTAssertTrue(reasons[3].hasPrefix("untrusted peer: a proof made at \(Int64.min) s"), reasons[3])
        XCTAssertTrue(reasons[4].hasPrefix("untrusted peer: a proof made at \(Int64.max) s"), reasons[4])
        XCTAssertEqual(reasons[5], "intern is not an operator")
        XCTAssertEqual(reasons[6], "untrusted peer: proof 00000000000000a1 was used before")
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT quota FROM tenants WHERE name = 't1'")?.first?.first?.integer, 700)
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT nonce, subject FROM peer_proofs")?.map { $0.map(\.text) }, [["00000000000000a1", "ops-agent"]])
        XCTAssertEqual(outcome.simulation.security.peersAccepted.count, 1)
    }

    /// The proof covers the body as the client spelled it: an operator writing the quota `0500`
    /// signs `0500` and is taken (quota 500); the same proof sent with `500` is another body.
    func testTheProofCoversTheBodyAsTheClientSpelledIt() {
        func spelled(_ sent: String, signed: String, nonce: String) -> HTTPRequest {
            let headers = [PlatformPKI.header: PeerCertificate.header(Self.genuine),
                           PlatformPKI.proofHeader: PlatformPKI.prove(keyName: "ops-agent", method: "POST", path: "admin/ops/quota", body: ["tenant": "t1", "quota": signed], timestamp: 0, nonce: nonce)]
            return HTTPRequest("POST", "admin/ops/quota", body: ["tenant": "t1", "quota": sent], headers: headers)
        }
        let outcome = ServiceHarness.run("admin", [spelled("0500", signed: "0500", nonce: "00000000000000b1"), spelled("500", signed: "0500", nonce: "00000000000000b2")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401])
        XCTAssertEqual(outcome.responses[0]?.body["quota"], "500")
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), ["untrusted peer: a proof not signed by ops-agent's key"])
    }

    /// Through the service: the genuine peer sets the quota; the look-alike and a missing chain
    /// are refused 401, each logged, and change nothing; with G6 the look-alike sets it.
    func testTheAdminServiceTakesOnlyTrustedPeersAndG6TakesALookAlike() {
        let outcome = ServiceHarness.run("admin", [Self.override(Self.genuine), Self.override(Self.lookAlike, quota: 999_999, keyName: "impostor", nonce: "0123456789abcde1"),
                                                   Self.override(nil, quota: 999_999, nonce: "0123456789abcde2")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401, 401])
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), ["untrusted peer: the chain does not end at the platform's root", "no client certificate"])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT quota FROM tenants WHERE name = 't1'")?.first?.first?.integer, 500)
        let g6 = ServiceHarness.run("admin", defects: DefectSet([.G6]), [Self.override(Self.lookAlike, quota: 999_999, keyName: "impostor")])
        XCTAssertEqual(g6.responses[0]?.status, 200)
        XCTAssertEqual(g6.simulation.security.peersAccepted.first?.chain, Self.lookAlike)
    }
}

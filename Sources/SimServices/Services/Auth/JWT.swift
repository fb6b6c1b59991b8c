import Foundation

/// JSON Web Tokens as auth issues them: HS256 only (RFC 7519 / RFC 7515 compact form,
/// `base64url(header).base64url(claims).base64url(HMAC-SHA256(secret, header.claims))`).
///
/// Verification pins the algorithm: the header must say `HS256`, so `alg: none` (an unsigned token)
/// and any other algorithm are refused before the signature is looked at; the signature is compared
/// in constant time; `exp` and `nbf` are judged on the verifying node's clock (which may be skewed)
/// with a small leeway, as domain.md asks: refused when now >= exp + leeway or now < nbf - leeway.
public enum JWT {
    /// The claims auth puts in a token. Times are whole seconds of the issuing node's clock.
    public struct Claims: Codable, Sendable, Equatable {
        /// The user (`sub`).
        public var sub: String
        public var tenant: String
        /// The role when the token was issued (auth re-reads the current role when it verifies).
        public var role: String
        public var iat: Int64
        public var nbf: Int64
        public var exp: Int64
        /// The token's id, the key of a revocation.
        public var jti: String
        /// The login session that issued the token (`auth/sessions`, `auth/refresh`), absent for a
        /// token asked with the API key alone: revoking the session recalls its access tokens.
        public var sid: String?
        public init(sub: String, tenant: String, role: String, iat: Int64, nbf: Int64, exp: Int64, jti: String, sid: String? = nil) {
            self.sub = sub; self.tenant = tenant; self.role = role; self.iat = iat; self.nbf = nbf; self.exp = exp; self.jti = jti; self.sid = sid
        }
    }

    /// Why a token is refused (the text is the reason logged with the security event).
    public enum Refusal: String, Error, Sendable, Equatable {
        case malformed = "malformed token"
        case algorithm = "algorithm not allowed"
        case signature = "bad signature"
        case expired = "token expired"
        case notYetValid = "token not yet valid"
    }

    /// The only header auth writes and accepts.
    static let header = #"{"alg":"HS256","typ":"JWT"}"#

    /// The compact token for `claims`, signed with `secret`.
    public static func issue(_ claims: Claims, secret: [UInt8]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys // a fixed byte string for the same claims
        let body = (try? encoder.encode(claims)).map { [UInt8]($0) } ?? []
        let signingInput = base64URL(Array(header.utf8)) + "." + base64URL(body)
        return signingInput + "." + base64URL(SHA256.hmac(key: secret, message: Array(signingInput.utf8)))
    }

    /// The claims of `token` if its header names HS256, its signature holds under `secret`, and
    /// `now` (seconds of the verifying node's clock) lies in [nbf - leeway, exp + leeway).
    public static func verify(_ token: String, secret: [UInt8], now: Int64, leeway: Int64) -> Result<Claims, Refusal> {
        verify(token, key: SHA256.HMACKey(secret), now: now, leeway: leeway)
    }

    /// The same under a prepared key.
    public static func verify(_ token: String, key: SHA256.HMACKey, now: Int64, leeway: Int64) -> Result<Claims, Refusal> {
        checkTimes(signedClaims(token, key: key), now: now, leeway: leeway)
    }

    /// `checked` unless its claims' times do not hold at `now`.
    static func checkTimes(_ checked: Result<Claims, Refusal>, now: Int64, leeway: Int64) -> Result<Claims, Refusal> {
        guard case .success(let claims) = checked else { return checked }
        guard now < claims.exp + leeway else { return .failure(.expired) }
        guard now >= claims.nbf - leeway else { return .failure(.notYetValid) }
        return .success(claims)
    }

    /// The base64url form of the only header auth writes: a token starting with it names HS256
    /// without a JSON parse (any other spelling is parsed).
    static let encodedHeader = base64URL(Array(header.utf8))

    /// The claims of `token` if its header names HS256 and its signature holds under `key`, before
    /// any clock is read: the same answer for the same token and key, whenever it is asked.
    static func signedClaims(_ token: String, key: SHA256.HMACKey) -> Result<Claims, Refusal> {
        let parts = token.splitBytes(".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return .failure(.malformed) }
        if parts[0] != encodedHeader {
            guard let headerBytes = fromBase64URL(parts[0]),
                  let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else { return .failure(.malformed) }
            // The algorithm is pinned before anything else is trusted: "none", "HS512", "RS256"... are refused.
            guard header["alg"] as? String == "HS256" else { return .failure(.algorithm) }
        }
        guard let signature = fromBase64URL(parts[2]) else { return .failure(.malformed) }
        let expected = key.mac(Array((parts[0] + "." + parts[1]).utf8))
        guard SHA256.constantTimeEqual(expected, signature) else { return .failure(.signature) }
        guard let body = fromBase64URL(parts[1]), let claims = try? JSONDecoder().decode(Claims.self, from: Data(body)) else { return .failure(.malformed) }
        return .success(claims)
    }

    /// A verifier under one key that remembers what `signedClaims` found for the tokens it has
    /// seen, so that a client's token, presented with each of its requests, is parsed, decoded and
    /// its signature checked once while it is remembered (a JSON decoding and an HMAC per request
    /// were a sixth of a serving run). The clock's checks run on every call. Only ASCII tokens of
    /// at most `maxTokenBytes` are remembered: a valid token is always ASCII, and Swift compares
    /// strings by canonical equivalence, so a token with a KELVIN SIGN where a genuine one has `K`
    /// would otherwise find the genuine one's answer; for ASCII text equivalence is byte equality,
    /// and the memo's answer is then a function of the token's bytes and the key alone, as
    /// `signedClaims`'s is. Bounded: emptied when it holds `capacity` tokens.
    public final class VerifiedTokens {
        public let key: SHA256.HMACKey
        public let capacity: Int
        public static let maxTokenBytes = 4096
        public private(set) var entries: [String: Result<Claims, Refusal>] = [:]
        public init(key: SHA256.HMACKey, capacity: Int = 4096) {
            self.key = key
            self.capacity = capacity
        }

        /// `JWT.verify(token, key: key, now: now, leeway: leeway)`.
        public func verify(_ token: String, now: Int64, leeway: Int64) -> Result<Claims, Refusal> {
            guard token.utf8.count <= Self.maxTokenBytes, token.utf8.allSatisfy({ $0 < 0x80 }) else {
                return checkTimes(signedClaims(token, key: key), now: now, leeway: leeway)
            }
            if let known = entries[token] { return checkTimes(known, now: now, leeway: leeway) }
            let checked = signedClaims(token, key: key)
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = checked
            return checkTimes(checked, now: now, leeway: leeway)
        }
    }

    /// The claims of `token` read without any check (for logging a refusal and for checkers).
    public static func unverifiedClaims(_ token: String) -> Claims? {
        let parts = token.splitBytes(".", omittingEmptySubsequences: false)
        guard parts.count == 3, let body = fromBase64URL(String(parts[1])) else { return nil }
        return try? JSONDecoder().decode(Claims.self, from: Data(body))
    }

    /// Base64url without padding (RFC 7515, section 2).
    public static func base64URL(_ bytes: [UInt8]) -> String {
        String(Data(bytes).base64EncodedString().compactMap { c -> Character? in
            switch c { case "+": return "-"; case "/": return "_"; case "=": return nil; default: return c }
        })
    }

    /// The bytes of an unpadded base64url text; nil when it is not one (`=` padding is refused).
    /// Checked and mapped byte by byte (a Character's letter test looked up Unicode properties
    /// for every character: a fifth of a serving run once every request's token was verified);
    /// Foundation decodes the standard alphabet.
    public static func fromBase64URL(_ text: String) -> [UInt8]? {
        var standard: [UInt8] = []
        standard.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "0") ... UInt8(ascii: "9"): standard.append(byte)
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            default: return nil
            }
        }
        standard += [UInt8](repeating: UInt8(ascii: "="), count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: Data(standard)).map { [UInt8]($0) }
    }
}

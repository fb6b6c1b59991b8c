import SimKernel

/// API key rotation: `POST auth/keys/rotate {request_id}` gives the caller (as the gateway forwarded
/// it) a new API key, and the key it replaces stays valid for `keyGraceSeconds` on auth's clock,
/// so the caller's fleet can switch over without a moment in which no key works. The new key is
/// derived from the request id (HMAC under auth's secret), so a retried rotation (its answer
/// lost) gets the same key and rotates nothing twice. Every id a user has used is kept
/// (`key_rotations`): an id of an earlier rotation sent again is refused (409, logged as a
/// security event), since honouring it would make that rotation's key current again. G5 retires
/// the old key at once: until the caller has deployed the new one, no key of its is accepted.
extension AuthService {
    public struct Rotate: Codable, Sendable, Equatable {
        /// The client's id for this rotation (a retry sends the same).
        public var requestId: String
    }
    public struct Rotated: Codable, Sendable, Equatable {
        public var apiKey: String
        /// How long the replaced key stays valid (seconds).
        public var graceS: Int64
    }

    public static let keyGraceSeconds: Int64 = 60

    static func rotatedKey(user: String, requestID: String) -> String {
        "k-" + SHA256.hex(SHA256.hmac(key: secret, message: Array("rotate\n\(user)\n\(requestID)".utf8))).prefix(24)
    }

    static func rotateKey(_ runtime: ServiceRuntime, _ request: Rotate, _ info: RequestInfo) async throws(ServiceError) -> Rotated {
        guard let user = info.user else { throw ServiceError(401, "rotating a key needs an authenticated caller") }
        guard !request.requestId.isEmpty, request.requestId.count <= 64 else { throw .badRequest("request_id must be 1-64 characters") }
        let key = rotatedKey(user: user, requestID: request.requestId), digest = SHA256.hex(keyHash(key))
        let now = runtime.context.localTime / Nanos.second
        guard case .success(let found) = await runtime.transaction([
            SQLStatement("SELECT key_hash, rotation_id FROM users WHERE name = ?", [.text(user)]),
            SQLStatement("SELECT COUNT(*) FROM key_rotations WHERE user = ? AND request_id = ?", [.text(user), .text(request.requestId)]),
        ]) else {
            throw .unavailable("users_db did not answer")
        }
        guard let current = found[0].rows.first else { throw ServiceError(404, "no user \(user)") }
        let latest = current[1].text == request.requestId
        if !latest && found[1].rows.first?.first?.integer != 0 {
            throw await reusedRotation(runtime, info, request.requestId)
        }
        let security = runtime.context.simulation.security, sentAt = runtime.context.simulation.now
        if !latest {
            // The rotation as it is about to be sent (the checker's ledger; only this user rotates
            // its key, and its old key stays the current one if the update does not commit).
            security.keyRotations.append((sentAt, user, current[0].text.flatMap(bytesFromHex), keyHash(key), now))
            security.revision &+= 1
        }
        // The replaced key becomes the previous one (G5: is dropped); a repeat of this rotation changes nothing.
        let keep = runtime.defects.contains(.G5) ? "NULL" : "key_hash"
        // The id is recorded with the rotation, in one transaction (a retry of the latest
        // rotation, already recorded, records nothing); the table's primary key refuses an id
        // used meanwhile by a rotation that raced this one (the same refusal as above).
        let rotation = await runtime.transaction([
            SQLStatement("INSERT INTO key_rotations(user, request_id) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM users WHERE name = ? AND rotation_id IS ?)",
                         [.text(user), .text(request.requestId), .text(user), .text(request.requestId)]),
            SQLStatement("UPDATE users SET previous_key_hash = \(keep), key_hash = ?, rotated_at = ?, rotation_id = ? WHERE name = ? AND rotation_id IS NOT ?",
                         [.text(digest), .integer(now), .text(request.requestId), .text(user), .text(request.requestId)]),
        ])
        switch rotation {
        case .success: return Rotated(apiKey: key, graceS: keyGraceSeconds)
        case .failure(.sql(let error)) where error.kind == .constraint:
            // Rolled back for certain (a rotation that raced this one used the id meanwhile): the
            // ledger forgets the rotation it was told of, which the checker would otherwise take
            // for the user's latest.
            if !latest, let index = security.keyRotations.lastIndex(where: { $0.at == sentAt && $0.user == user && $0.new == keyHash(key) }) {
                security.keyRotations.remove(at: index)
                security.revision &+= 1
            }
            throw await reusedRotation(runtime, info, request.requestId)
        case .failure: throw .unavailable("users_db did not answer")
        }
    }

    /// The refusal of a rotation id an earlier rotation used, logged as a security event.
    static func reusedRotation(_ runtime: ServiceRuntime, _ info: RequestInfo, _ id: String) async -> ServiceError {
        await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "rotation request id used by an earlier rotation",
                                    detail: "request_id \(id)", status: 409)
    }

    /// Whether `presented` is the account's current key, or its previous key within the grace
    /// period after the rotation (`now`: auth's clock, seconds). Both comparisons always run.
    static func keyAccepted(_ runtime: ServiceRuntime, user: String, presented: [UInt8], current: [UInt8], previous: [UInt8]?, rotatedAt: Int64?, now: Int64) async -> Bool {
        let matchesCurrent = await keysMatch(runtime, user: user, presented: presented, stored: current)
        let matchesPrevious = SHA256.constantTimeEqual(presented, previous ?? [UInt8](repeating: 0, count: 32))
        let inGrace = previous != nil && rotatedAt.map { now - $0 < keyGraceSeconds } == true
        return matchesCurrent || (matchesPrevious && inGrace)
    }
}

import SimKernel

/// How late the identity signatures a service process took were signed, per signer node, kept on
/// the process's own disk so that its next life knows it.
///
/// Why: the replay cache (`ReplayCache`) is memory. A restarted process refuses signatures dated
/// before its start plus the mesh's 1 s clock tolerance, but a signer whose clock ran further
/// ahead than that plus the restart's length (or a process whose own clock stepped back) could
/// have a signature its previous life took replayed once to the new one. Each signer's nonces
/// name it (`<signer node>-<epoch>-<n>`, inside the signed bytes), and a signer's clock does not go
/// back, so its new signatures are dated after everything it signed before: a mark per signer,
/// "everything taken from it was signed no later than this", refuses every replay of what the
/// previous life took and nothing a signer of good faith signs after the restart.
///
/// A mark is leased ahead (`lease`): it is written, and made durable, before a signature beyond it
/// is taken, as the signature's time plus the lease, so a steady stream of requests costs one
/// write a second per signer, not one a request (a Spanner-style timestamp lease). Marks are a
/// record with a CRC-32 (`RecordLog`); a record that does not read back whole after three reads
/// (a corrupted read each time) gives no marks, and the caller falls back to refusing everything
/// a window could still hold (`unreadable`).
final class SignedUntilMarks {
    /// How far ahead of a signature's time its signer's mark is written.
    static let lease = Nanos.second

    /// The file of `service`'s marks on its node's disk.
    static func path(service: String) -> String { "identity/\(service).signed-until" }

    private let disk: SimDisk
    private let path: String
    /// Signer -> the latest signing time the previous lives' taken signatures may have.
    let previous: [String: Int64]
    /// The same for every life so far, this one included (durable).
    private(set) var marks: [String: Int64]
    /// Whether the marks of the previous life could not be read back.
    let unreadable: Bool

    /// The marks kept in `path` on `disk` (none when the file does not exist).
    init(disk: SimDisk, path: String) {
        self.disk = disk
        self.path = path
        var read: [String: Int64]? = disk.exists(path) ? nil : [:]
        for _ in 0 ..< 3 where read == nil {
            if let bytes = try? disk.readAll(path) { read = Self.decode(bytes) }
        }
        previous = read ?? [:]
        marks = previous
        unreadable = read == nil
    }

    /// The signer a nonce names (its text before the first `-`; the whole nonce without one).
    static func signer(ofNonce nonce: String) -> String {
        guard let dash = nonce.utf8.firstIndex(of: UInt8(ascii: "-")) else { return nonce }
        return String(nonce[..<dash])
    }

    /// The mark of `signer`'s signatures taken by the previous lives (`Int64.min`: none): a
    /// signature dated no later may be one of them.
    func previousMark(of signer: String) -> Int64 { previous[signer] ?? Int64.min }

    /// Makes sure `signer`'s mark covers a signature made at `signedAt` before it is taken:
    /// writes the marks with `signer`'s at `signedAt + lease` and makes them durable when it did
    /// not. False when the disk refused (full): the signature must not be taken then.
    func cover(_ signer: String, signedAt: Int64) -> Bool {
        if signedAt <= marks[signer] ?? Int64.min { return true }
        var next = marks
        next[signer] = signedAt &+ Self.lease
        let created = !disk.exists(path)
        do {
            try disk.writeAll(path, Self.encode(next))
            try disk.fsync(path)
        } catch {
            return false
        }
        if created { disk.syncDirectory() }  // the file's name is durable only after its directory syncs
        marks = next
        return true
    }

    /// `signer=mark` lines in signer order, in one checksummed record.
    static func encode(_ marks: [String: Int64]) -> [UInt8] {
        let text = marks.keys.sorted().map { "\($0)=\(marks[$0]!)" }.joined(separator: "\n")
        return RecordLog.encode(Array(text.utf8))
    }

    /// The marks `encode` wrote, or nil when the bytes are not one whole record of them.
    static func decode(_ bytes: [UInt8]) -> [String: Int64]? {
        let records = RecordLog.decodeAll(bytes)
        guard records.count == 1, RecordLog.encode(records[0]).count == bytes.count else { return nil }
        var marks: [String: Int64] = [:]
        for line in String(decoding: records[0], as: UTF8.self).splitBytes("\n") {
            let parts = line.splitBytes("=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let mark = Int64(parts[1]) else { return nil }
            marks[String(parts[0])] = mark
        }
        return marks
    }
}

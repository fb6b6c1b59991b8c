import SimKernel

/// How late the identity signatures a service process took were signed, per signer node, kept on
/// the process's own disk so that its next life knows it.
///
/// Why: the replay cache (`ReplayCache`) is memory. A restarted process refuses signatures dated
/// before its start plus the mesh's 1 s clock tolerance, but a signer whose clock ran further
/// ahead than that plus the restart's length (or a process whose own clock stepped back) could
/// have a signature its previous life took replayed once to the new one. Each signer's nonces
/// name it (`<signer node>-<epoch>-<n>`, inside the signed bytes), and unless a signer's clock is
/// stepped back its new signatures are dated after everything it signed before: a mark per signer,
/// "everything taken from it was signed no later than this", refuses every replay of what the
/// previous life took, and a signer of good faith at most for the lease past its last taken
/// signature (one whose clock was stepped back by X, for X more).
///
/// A mark is leased ahead (`lease`): it is written, and made durable, before a signature beyond it
/// is taken, as the signature's time plus the lease, so a steady stream of requests costs one
/// write a second per signer, not one a request (a Spanner-style timestamp lease). Marks are a
/// record with a CRC-32 (`RecordLog`), written to a temporary file, made durable and renamed over
/// the old one, so the file always holds the old marks or the new ones, never none. Marks that do
/// not read back whole in three reads (a corrupted read each time) are replaced by a mark for
/// every signer (`anySigner`) at the start plus the window plus the lease, later than anything a
/// previous life can have taken while its clock was behind this one's; it is kept on disk with
/// the rest, so a later life still refuses what the lost marks covered.
final class SignedUntilMarks {
    /// How far ahead of a signature's time its signer's mark is written.
    static let lease = Nanos.second
    /// The key of the mark that holds for every signer (set when marks were lost).
    static let anySigner = "*"

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

    /// Whether `marks` differ from what the file holds (the replacement of lost marks, until it
    /// is written).
    private var unwritten = false

    /// The marks kept in `path` on `disk` (none when the file does not exist); lost marks are
    /// replaced by one for every signer at `startedAt` (this process's clock) plus the window and
    /// the lease.
    init(disk: SimDisk, path: String, startedAt: Int64) {
        self.disk = disk
        self.path = path
        var read: [String: Int64]? = disk.exists(path) ? nil : [:]
        for _ in 0 ..< 3 where read == nil {
            if let bytes = try? disk.readAll(path) { read = Self.decode(bytes) }
        }
        unreadable = read == nil
        previous = read ?? [Self.anySigner: startedAt &+ ForwardedIdentity.windowNanos &+ Self.lease]
        marks = previous
        unwritten = unreadable
    }

    /// The signer a nonce names: its node (`n<digits>`, the text before the first `-`); any other
    /// nonce (none is signed so) counts as one signer, `?`.
    static func signer(ofNonce nonce: String) -> String {
        let node = nonce.utf8.prefix { $0 != UInt8(ascii: "-") }
        guard node.count >= 2, node.first == UInt8(ascii: "n"), node.dropFirst().allSatisfy({ (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }) else { return "?" }
        return String(decoding: node, as: UTF8.self)
    }

    /// The mark of `signer`'s signatures taken by the previous lives (`Int64.min`: none): a
    /// signature dated no later may be one of them.
    func previousMark(of signer: String) -> Int64 {
        Swift.max(previous[signer] ?? Int64.min, previous[Self.anySigner] ?? Int64.min)
    }

    /// Makes sure `signer`'s mark covers a signature made at `signedAt` before it is taken:
    /// writes the marks with `signer`'s at `signedAt + lease` and makes them durable when it did
    /// not. False when the disk refused (full): the signature must not be taken then.
    func cover(_ signer: String, signedAt: Int64) -> Bool {
        if signedAt <= marks[signer] ?? Int64.min && !unwritten { return true }
        var next = marks
        next[signer] = Swift.max(next[signer] ?? Int64.min, signedAt &+ Self.lease)
        // A temporary file made durable, then renamed over the marks: a write the disk refuses
        // halfway leaves the old marks whole.
        let temporary = path + ".tmp"
        do {
            try disk.writeAll(temporary, Self.encode(next))
            try disk.fsync(temporary)
            try disk.rename(temporary, to: path)
        } catch {
            try? disk.delete(temporary)
            return false
        }
        disk.syncDirectory()  // the rename is durable only after its directory syncs
        marks = next
        unwritten = false
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
        guard records.count == 1, 8 + records[0].count == bytes.count else { return nil }  // one record (its 8-byte header), nothing after it
        var marks: [String: Int64] = [:]
        for line in String(decoding: records[0], as: UTF8.self).splitBytes("\n") {
            let parts = line.splitBytes("=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let mark = Int64(parts[1]) else { return nil }
            marks[String(parts[0])] = mark
        }
        return marks
    }
}

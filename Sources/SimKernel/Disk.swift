/// Fault knobs and geometry of a node's disk. Defaults: no faults, unsynced data simply lost.
public struct DiskOptions: Hashable, Sendable, Codable {
    /// Bytes per sector: the unit a crash tears at.
    public var sectorSize: Int = 512
    /// Bytes the disk holds; a write past it fails with `DiskError.full`.
    public var capacityBytes: Int = 1 << 40
    /// Probability that a crash tears a file's unsynced data (keeps a random subset of its unsynced
    /// sectors and the old or new length) instead of dropping all of it.
    public var tornWriteProbability: Ratio = .zero
    /// Probability that one read returns data with one bit flipped (the stored data is intact).
    public var readCorruptionProbability: Ratio = .zero
    /// Latency of an asynchronous read or write through a process context.
    public var ioLatency: DurationDistribution = .constant(0)
    /// Latency of an asynchronous `fsync` through a process context.
    public var syncLatency: DurationDistribution = .constant(0)

    public init() {}
}

/// Errors of the simulated disk.
public enum DiskError: Error, Hashable, Sendable, CustomStringConvertible {
    case fileNotFound(path: String)
    case full(path: String, needed: Int, free: Int)
    case invalidOffset(path: String, offset: Int)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file"
        case .full(let path, let needed, let free): return "\(path): disk full (needs \(needed) bytes, \(free) free)"
        case .invalidOffset(let path, let offset): return "\(path): invalid offset \(offset)"
        }
    }
}

/// A set of sector numbers as a bitmap, iterated in increasing order.
///
/// Why not `Set<Int>`: every write marks each sector it touches (eight for an SQLite page), and a
/// set hashes each one with SipHash; a bit is set in a few instructions, and the sectors come out
/// sorted, which a crash's draws need anyway.
struct SectorSet: Sequence {
    private var words: [UInt64] = []
    /// The number of sectors in the set.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func insert(_ sector: Int) {
        precondition(sector >= 0, "sector \(sector) is negative")
        let word = sector >> 6, bit = UInt64(1) << UInt64(sector & 63)
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word + 1 - words.count)) }
        if words[word] & bit == 0 {
            words[word] |= bit
            count += 1
        }
    }

    func contains(_ sector: Int) -> Bool {
        let word = sector >> 6
        return sector >= 0 && word < words.count && words[word] & (UInt64(1) << UInt64(sector & 63)) != 0
    }

    mutating func removeAll(keepingCapacity: Bool = false) {
        if keepingCapacity {
            for index in words.indices { words[index] = 0 }
        } else {
            words = []
        }
        count = 0
    }

    /// The sectors in increasing order.
    func sorted() -> [Int] { Array(self) }

    struct Iterator: IteratorProtocol {
        let words: [UInt64]
        var word = 0
        var remaining: UInt64
        init(words: [UInt64]) {
            self.words = words
            remaining = words.first ?? 0
        }
        mutating func next() -> Int? {
            while remaining == 0 {
                word += 1
                guard word < words.count else { return nil }
                remaining = words[word]
            }
            let bit = remaining.trailingZeroBitCount
            remaining &= remaining - 1
            return word << 6 | bit
        }
    }

    func makeIterator() -> Iterator { Iterator(words: words) }
}

/// File contents, durable and volatile, plus which sectors changed since the last `fsync`.
final class Inode {
    @exclusivity(unchecked) var volatile: [UInt8] = []
    @exclusivity(unchecked) var durable: [UInt8] = []
    @exclusivity(unchecked) var dirtySectors = SectorSet()
    @exclusivity(unchecked) var sizeChanged = false
}

/// What a crash did to a disk.
public struct DiskCrashReport: Hashable, Sendable, CustomStringConvertible {
    /// Files whose unsynced data was dropped entirely.
    public var filesReverted = 0
    /// Files torn: some unsynced sectors kept, others lost.
    public var filesTorn = 0
    /// Unsynced sectors kept by tearing.
    public var sectorsKept = 0
    /// Unsynced sectors lost.
    public var sectorsLost = 0
    /// Names whose creation, deletion or rename had not been made durable, undone.
    public var namesReverted = 0
    public var description: String {
        "\(filesReverted) reverted, \(filesTorn) torn (\(sectorsKept) sectors kept, \(sectorsLost) lost), \(namesReverted) names reverted"
    }
}

/// A node's disk: files of bytes. Writes land in a volatile cache and become durable with `fsync`;
/// names (create, delete, rename) become durable with `syncDirectory()`, as in POSIX. On a crash
/// everything not durable is lost, or torn at sector granularity as the seed decides.
/// Reads always see the latest writes while the node is up.
public final class SimDisk {
    /// The disk's fault settings; the nemesis clears them when faults heal.
    @exclusivity(unchecked) public var options: DiskOptions
    @exclusivity(unchecked) var names: [String: Inode] = [:]
    @exclusivity(unchecked) var durableNames: [String: Inode] = [:]
    /// Bit flips injected into reads so far.
    @exclusivity(unchecked) public private(set) var corruptedReads = 0
    @exclusivity(unchecked) var corruption = SimRandom(seed: 0)
    /// Mutating operations so far (write, truncate, fsync, delete, rename, directory sync).
    @exclusivity(unchecked) public private(set) var operationCount = 0
    /// Called after every mutating operation with the new count: fault injection ("crash the node
    /// after the k-th disk operation") hooks in here.
    @exclusivity(unchecked) public var afterOperation: ((Int) -> Void)?

    init(options: DiskOptions) { self.options = options }

    private func counted() {
        operationCount += 1
        afterOperation?(operationCount)
    }

    func seedFaults(_ random: SimRandom) { corruption = random }

    /// Bytes used by the volatile view of all files.
    public var usedBytes: Int { names.values.reduce(0) { $0 + $1.volatile.count } }

    /// Whether `path` exists (in the current, volatile view).
    public func exists(_ path: String) -> Bool { names[path] != nil }

    /// Paths starting with `prefix`, sorted.
    public func list(prefix: String = "") -> [String] { names.keys.filter { $0.hasPrefix(prefix) }.sorted() }

    /// Creates an empty file if it does not exist.
    public func create(_ path: String) {
        if names[path] == nil { names[path] = Inode() }
    }

    /// Size of `path` in bytes.
    public func size(_ path: String) throws(DiskError) -> Int {
        guard let inode = names[path] else { throw .fileNotFound(path: path) }
        return inode.volatile.count
    }

    /// Writes `bytes` at `offset`, creating the file and zero-filling any gap.
    public func write(_ path: String, at offset: Int, _ bytes: [UInt8]) throws(DiskError) {
        var failure: DiskError?
        bytes.withUnsafeBytes { source in
            do throws(DiskError) { try write(path, at: offset, from: source) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// `write(path, at: offset, bytes)` with the bytes read from `source` (SQLite's pages, without
    /// copying them into an array first).
    public func write(_ path: String, at offset: Int, from source: UnsafeRawBufferPointer) throws(DiskError) {
        guard offset >= 0 else { throw .invalidOffset(path: path, offset: offset) }
        let existing = names[path]
        let inode = existing ?? Inode()
        let end = offset + source.count
        let growth = Swift.max(0, end - inode.volatile.count)
        if growth > 0 {  // the sum over all files is only needed when the file grows
            let free = options.capacityBytes - usedBytes
            if growth > free { throw .full(path: path, needed: growth, free: free) }
        }
        // Only a new name changes the table: storing an existing inode again would copy the whole
        // table whenever `syncDirectory` had just shared it with `durableNames`.
        if existing == nil { names[path] = inode }
        let oldCount = inode.volatile.count
        if end > oldCount {
            // Room for a few more writes of the size: SQLite's journals and Redis's log grow by a
            // page or a record at a time, and growing each time to the size needed cost a copy of
            // the file per growth.
            Self.reserve(&inode.volatile, end)
            inode.sizeChanged = true
        }
        if offset >= oldCount {
            // Zero-fill with an Array, not `repeatElement`: unspecialized (debug builds, which the
            // tests use) the latter costs a generic call per byte, 83 % of a scenario-03 replay.
            if offset > oldCount { inode.volatile.append(contentsOf: [UInt8](repeating: 0, count: offset - oldCount)) }
            inode.volatile.append(contentsOf: source)  // an append: no zero-fill first
        } else {
            if end > oldCount { inode.volatile.append(contentsOf: [UInt8](repeating: 0, count: end - oldCount)) }
            inode.volatile.withUnsafeMutableBytes { target in
                guard let from = source.baseAddress, let to = target.baseAddress else { return }
                (to + offset).copyMemory(from: from, byteCount: source.count)
            }
        }
        if source.count > 0 {
            for sector in (offset / options.sectorSize) ... ((end - 1) / options.sectorSize) { inode.dirtySectors.insert(sector) }
        }
        counted()
    }

    /// Grows `bytes`' capacity to at least `count`, geometrically (at least doubling, at least 16 KiB).
    private static func reserve(_ bytes: inout [UInt8], _ count: Int) {
        if count > bytes.capacity { bytes.reserveCapacity(Swift.max(count, 2 * bytes.capacity, 16_384)) }
    }

    /// Appends `bytes` at the end of `path` (creating it).
    public func append(_ path: String, _ bytes: [UInt8]) throws(DiskError) {
        try write(path, at: names[path]?.volatile.count ?? 0, bytes)
    }

    /// Replaces the whole content of `path`.
    public func writeAll(_ path: String, _ bytes: [UInt8]) throws(DiskError) {
        try truncate(path, to: 0)
        try write(path, at: 0, bytes)
    }

    /// Reads up to `count` bytes at `offset`; fewer at the end of the file.
    public func read(_ path: String, at offset: Int, count: Int) throws(DiskError) -> [UInt8] {
        guard let inode = names[path] else { throw .fileNotFound(path: path) }
        guard offset >= 0 else { throw .invalidOffset(path: path, offset: offset) }
        let start = Swift.min(offset, inode.volatile.count)
        let end = Swift.min(inode.volatile.count, offset + Swift.max(0, count))
        var result = Array(inode.volatile[start ..< end])
        if !result.isEmpty && corruption.chance(options.readCorruptionProbability) {
            let bit = corruption.uniform(0 ..< result.count * 8)
            result[bit / 8] ^= UInt8(1 << (bit % 8))
            corruptedReads += 1
        }
        return result
    }

    /// The whole content of `path`.
    public func readAll(_ path: String) throws(DiskError) -> [UInt8] {
        try read(path, at: 0, count: Int.max / 2)
    }

    /// Truncates or extends `path` to `length` bytes (creating it).
    public func truncate(_ path: String, to length: Int) throws(DiskError) {
        let inode = names[path] ?? Inode()
        names[path] = inode
        let old = inode.volatile.count
        if length < old {
            inode.volatile.removeSubrange(length...)
        } else if length > old {
            inode.volatile.append(contentsOf: [UInt8](repeating: 0, count: length - old))
        }
        if length != old {
            inode.sizeChanged = true
            let from = Swift.min(length, old) / options.sectorSize
            let to = Swift.max(length, old) / options.sectorSize
            for sector in from ... to { inode.dirtySectors.insert(sector) }
        }
        counted()
    }

    /// Makes the file's data durable (not its name: see `syncDirectory`).
    public func fsync(_ path: String) throws(DiskError) {
        guard let inode = names[path] else { throw .fileNotFound(path: path) }
        // Copy only what changed: `durable = volatile` would share the buffer, and the next write
        // would then copy the whole file (copy on write), which made every SQLite commit after an
        // fsync cost the database's size.
        let length = inode.volatile.count
        if inode.durable.count > length { inode.durable.removeSubrange(length...) }
        if inode.durable.count < length {
            // The new tail comes from the volatile bytes (the dirty sectors below cover it again).
            Self.reserve(&inode.durable, length)
            inode.durable.append(contentsOf: inode.volatile[inode.durable.count ..< length])
        }
        let sectorSize = options.sectorSize
        inode.volatile.withUnsafeBufferPointer { source in
            inode.durable.withUnsafeMutableBufferPointer { target in
                guard let from = source.baseAddress, let to = target.baseAddress else { return }
                for sector in inode.dirtySectors {
                    let start = sector * sectorSize
                    guard start < length else { continue }
                    (to + start).update(from: from + start, count: Swift.min(sectorSize, length - start))
                }
            }
        }
        assert(inode.durable.count == inode.volatile.count, "fsync of \(path): durable \(inode.durable.count) bytes, volatile \(inode.volatile.count)")
        inode.dirtySectors.removeAll(keepingCapacity: true)
        inode.sizeChanged = false
        counted()
    }

    /// Makes every name change (create, delete, rename) durable.
    public func syncDirectory() {
        durableNames = names
        counted()
    }

    /// Deletes `path` (durable after `syncDirectory`).
    public func delete(_ path: String) throws(DiskError) {
        guard names.removeValue(forKey: path) != nil else { throw .fileNotFound(path: path) }
        counted()
    }

    /// Atomically renames `from` to `to`, replacing `to` (durable after `syncDirectory`).
    public func rename(_ from: String, to: String) throws(DiskError) {
        guard let inode = names.removeValue(forKey: from) else { throw .fileNotFound(path: from) }
        names[to] = inode
        counted()
    }

    /// Whether any data or name is not yet durable.
    public var hasUnsyncedChanges: Bool {
        names.values.contains { !$0.dirtySectors.isEmpty || $0.sizeChanged } || !sameNames(names, durableNames)
    }

    private func sameNames(_ a: [String: Inode], _ b: [String: Inode]) -> Bool {
        a.count == b.count && a.allSatisfy { key, inode in b[key] === inode }
    }

    /// Applies a crash: names revert to the durable directory; each file's data reverts to its
    /// durable bytes, or (torn, with `tornWriteProbability`) keeps a random subset of its unsynced
    /// sectors and the old or the new length. Files are visited in path order, so the draws are
    /// the same on every run.
    func crash(random: inout SimRandom) -> DiskCrashReport {
        var report = DiskCrashReport()
        let volatileKeys = Set(names.keys), durableKeys = Set(durableNames.keys)
        report.namesReverted = volatileKeys.symmetricDifference(durableKeys).count
            + durableKeys.intersection(volatileKeys).filter { names[$0] !== durableNames[$0] }.count
        var seen: [ObjectIdentifier: Bool] = [:]  // determinism-ok: membership only, never iterated
        for path in durableNames.keys.sorted() {
            let inode = durableNames[path]!
            if seen[ObjectIdentifier(inode)] != nil { continue }
            seen[ObjectIdentifier(inode)] = true
            let dirty = inode.dirtySectors.sorted()
            if dirty.isEmpty && !inode.sizeChanged { inode.volatile = inode.durable; continue }
            if random.chance(options.tornWriteProbability) {
                let newLength = random.chance(Ratio(1, 2)) ? inode.volatile.count : inode.durable.count
                var torn = inode.durable
                if torn.count < newLength { torn.append(contentsOf: [UInt8](repeating: 0, count: newLength - torn.count)) }
                if torn.count > newLength { torn.removeSubrange(newLength...) }
                for sector in dirty {
                    let start = sector * options.sectorSize
                    guard start < newLength else { continue }
                    if random.chance(Ratio(1, 2)) {
                        let end = Swift.min(newLength, start + options.sectorSize)
                        for i in start ..< end { torn[i] = i < inode.volatile.count ? inode.volatile[i] : 0 }
                        report.sectorsKept += 1
                    } else {
                        report.sectorsLost += 1
                    }
                }
                inode.durable = torn
                report.filesTorn += 1
            } else {
                report.sectorsLost += dirty.count
                report.filesReverted += 1
            }
            inode.volatile = inode.durable
            inode.dirtySectors.removeAll()
            inode.sizeChanged = false
        }
        names = durableNames
        return report
    }
}

extension ProcessContext {
    /// The node's disk. Synchronous operations; use the `async` ones for simulated latency.
    public var disk: SimDisk { node.disk }

    /// Writes with the disk's I/O latency.
    public func diskWrite(_ path: String, at offset: Int, _ bytes: [UInt8]) async throws(DiskError) {
        await sleep(nanoseconds: latency(node.disk.options.ioLatency))
        try node.disk.write(path, at: offset, bytes)
    }

    /// Reads with the disk's I/O latency.
    public func diskRead(_ path: String, at offset: Int, count: Int) async throws(DiskError) -> [UInt8] {
        await sleep(nanoseconds: latency(node.disk.options.ioLatency))
        return try node.disk.read(path, at: offset, count: count)
    }

    /// `fsync` with the disk's sync latency.
    public func diskSync(_ path: String) async throws(DiskError) {
        await sleep(nanoseconds: latency(node.disk.options.syncLatency))
        try node.disk.fsync(path)
    }

    private func latency(_ distribution: DurationDistribution) -> Int64 {
        if case .constant(let value) = distribution { return value }
        return simulation.withRandom(stream: "disk-latency/\(node.name)") { distribution.sample(&$0) }
    }
}

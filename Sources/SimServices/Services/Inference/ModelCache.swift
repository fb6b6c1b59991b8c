/// Which model version: a model's name and a registry version.
public struct ModelKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var model: String
    public var version: Int64
    public init(_ model: String, _ version: Int64) {
        self.model = model
        self.version = version
    }
    public static func < (a: ModelKey, b: ModelKey) -> Bool { (a.model, a.version) < (b.model, b.version) }
    public var description: String { "\(model) v\(version)" }
}

/// A replica's cache of loaded model versions: at most `capacity` of them, the least recently used
/// evicted first, and never one that a request is using (pinned). A request pins its version at
/// admission and unpins it when it answers; an eviction due while every candidate is pinned waits
/// for the next unpin. The cache only decides: its owner loads weights, charges and returns memory.
///
/// `eviction` picks the victim: the least recently used (correct); H8's oldest loaded (first in,
/// first out: a version every request uses is evicted as soon as it is the oldest, so the hit rate
/// falls below LRU's on the same trace); H1's oldest loaded even while a request uses it (a request
/// can lose its model mid-prediction).
public struct ModelCache: Sendable {
    public struct Entry: Sendable {
        public var artifact: ModelArtifact
        /// Requests using it now.
        public var pins = 0
        /// When it was last used (a counter of the cache's uses) and when it was loaded.
        var lastUse: UInt64
        var loadedAt: UInt64
    }

    /// How the cache picks the version to evict.
    public enum Eviction: Sendable {
        case leastRecentlyUsed
        /// H8: the oldest loaded, ignoring use (pinned versions are still spared).
        case oldestLoaded
        /// H1: the oldest loaded, pinned or not.
        case oldestLoadedEvenInUse
    }

    public let capacity: Int
    public var eviction = Eviction.leastRecentlyUsed
    /// Whether H1's eviction is on (a version in use can be evicted).
    public var evictsInUse: Bool {
        get { eviction == .oldestLoadedEvenInUse }
        set { eviction = newValue ? .oldestLoadedEvenInUse : .leastRecentlyUsed }
    }
    public private(set) var entries: [ModelKey: Entry] = [:]
    /// The version just inserted while every other one is in use: over capacity, it stays until
    /// the next unpin lets an eviction happen (nil when within capacity).
    public private(set) var spared: ModelKey?
    private var clock: UInt64 = 0

    public init(capacity: Int) {
        precondition(capacity >= 1, "a model cache holds at least one version, got capacity \(capacity)")
        self.capacity = capacity
    }

    /// Loaded versions, in key order.
    public var keys: [ModelKey] { entries.keys.sorted() }
    public var count: Int { entries.count }
    /// Memory the loaded versions cost, in bytes.
    public var residentBytes: Int { entries.values.reduce(0) { $0 + $1.artifact.residentBytes } }
    public func contains(_ key: ModelKey) -> Bool { entries[key] != nil }
    public func pins(_ key: ModelKey) -> Int { entries[key]?.pins ?? 0 }

    /// Uses `key` if loaded: pins it and marks it used. False when it is not loaded.
    public mutating func pin(_ key: ModelKey) -> Bool {
        guard entries[key] != nil else { return false }
        clock += 1
        entries[key]!.pins += 1
        entries[key]!.lastUse = clock
        return true
    }

    /// Ends a use of `key`; returns what can be evicted now (an eviction that waited for it).
    public mutating func unpin(_ key: ModelKey) -> [Entry] {
        if entries[key] != nil, entries[key]!.pins > 0 { entries[key]!.pins -= 1 }
        let evicted = evictions()
        spared = nil
        return evicted
    }

    /// Puts `artifact`'s weights in the place of the loaded version `key` (M1's rollback reload),
    /// keeping its pins and use; returns the artifact replaced (nil: `key` is not loaded).
    public mutating func replace(_ key: ModelKey, with artifact: ModelArtifact) -> ModelArtifact? {
        guard let old = entries[key]?.artifact else { return nil }
        entries[key]!.artifact = artifact
        return old
    }

    /// The weights of a loaded version (nil once it is evicted).
    public func artifact(_ key: ModelKey) -> ModelArtifact? { entries[key]?.artifact }

    /// Adds a loaded version (already loaded: marks it used) and returns the versions evicted to
    /// make room, whose memory the owner returns.
    public mutating func insert(_ artifact: ModelArtifact, pinned: Bool = false) -> [Entry] {
        let key = ModelKey(artifact.model, artifact.version)
        clock += 1
        if entries[key] == nil { entries[key] = Entry(artifact: artifact, pins: 0, lastUse: clock, loadedAt: clock) }
        entries[key]!.lastUse = clock
        if pinned { entries[key]!.pins += 1 }
        let evicted = evictions(sparing: key)
        spared = entries.count > capacity && entries[key]!.pins == 0 ? key : nil
        return evicted
    }

    /// Evicts down to the capacity: the least recently used unpinned version each time (H8: the
    /// oldest loaded unpinned; H1: the oldest loaded, pinned or not). `sparing` (the version just inserted) is never the victim.
    private mutating func evictions(sparing: ModelKey? = nil) -> [Entry] {
        var evicted: [Entry] = []
        while entries.count > capacity {
            let candidates = entries.filter { $0.key != sparing && (evictsInUse || $0.value.pins == 0) }
            let victim = eviction != .leastRecentlyUsed
                ? candidates.min { ($0.value.loadedAt, $0.key) < ($1.value.loadedAt, $1.key) }
                : candidates.min { ($0.value.lastUse, $0.key) < ($1.value.lastUse, $1.key) }
            guard let victim else { break }  // every other version is in use: evict at the next unpin
            evicted.append(entries.removeValue(forKey: victim.key)!)
        }
        return evicted
    }
}

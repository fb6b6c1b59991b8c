import SimKernel

/// The elastic job's sharded checkpoints in the object store (bucket `elastic`). At a checkpoint
/// every rank saves its model-parallel shard of the parameters
/// (`<job>/ckpt-<step>/g<generation>-rank-<r>-of-<world>`: a header with step, generation, rank and
/// world, then the floats), and reports it to rank 0 with its CRC-32; rank 0 waits at the barrier
/// until every rank's shard of this step is saved and then writes the manifest
/// (`<job>/manifest-<step>-g<generation>`: the step, generation, world and each shard's key and
/// CRC). A checkpoint
/// without its manifest does not exist. Restarting, a worker loads the newest manifest whose
/// shards are all present, of its step, and match their CRCs.
///
/// Defects: A4 cuts the shards with `ModelParallelLayout`'s boundary defect; A6 lets the barrier
/// time out at once and assembles the manifest from the newest shard each rank has in the store;
/// A10 resumes from the manifest whose key sorts last as text (`manifest-5-g3` after
/// `manifest-10-g4`), unverified.
public struct ElasticCheckpoints: Sendable {
    public static let bucket = "elastic"
    public let store: ObjectStoreClient
    public let job: String
    public let layers: [Int]
    public let defects: DefectSet

    public init(store: ObjectStoreClient, job: String, layers: [Int], defects: DefectSet) {
        self.store = store
        self.job = job
        self.layers = layers
        self.defects = defects
    }

    public func layout(world: Int) -> ModelParallelLayout {
        ModelParallelLayout(layers: layers, parts: world, boundaryDefect: defects.contains(.A4))
    }

    public func shardKey(step: Int, generation: Int, rank: Int, world: Int) -> String { "\(job)/ckpt-\(step)/g\(generation)-rank-\(rank)-of-\(world)" }
    /// `manifest-<step>-g<generation>`: one key per generation, never overwritten (a member of an
    /// older generation may still finish a checkpoint after the next one resumed). Unpadded on
    /// purpose: ordering manifests is the reader's job (A10 sorts them as text).
    public func manifestKey(step: Int, generation: Int) -> String { "\(job)/manifest-\(step)-g\(generation)" }
    var manifestPrefix: String { "\(job)/manifest-" }

    /// (step, generation) of a manifest key, nil for anything else.
    func order(ofManifest key: String) -> (step: Int, generation: Int)? {
        guard key.hasPrefix(manifestPrefix) else { return nil }
        let fields = key.dropFirst(manifestPrefix.count).split(separator: "-g")
        guard fields.count == 2, let step = Int(fields[0]), let generation = Int(fields[1]) else { return nil }
        return (step, generation)
    }

    /// A shard's bytes.
    public static func encodeShard(step: Int, generation: Int, rank: Int, world: Int, values: [Float]) -> [UInt8] {
        var writer = ByteWriter()
        for field in [step, generation, rank, world, values.count] { writer.u64(UInt64(field)) }
        for value in values { writer.f32(value) }
        return writer.bytes
    }

    public static func decodeShard(_ bytes: [UInt8]) -> (step: Int, generation: Int, rank: Int, world: Int, values: [Float])? {
        var reader = ByteReader(bytes)
        var header: [Int] = []
        for _ in 0 ..< 5 {
            guard let field = reader.u64(), field < 1 << 31 else { return nil }
            header.append(Int(field))
        }
        var values: [Float] = []
        for _ in 0 ..< header[4] {
            guard let value = reader.f32() else { return nil }
            values.append(value)
        }
        return (header[0], header[1], header[2], header[3], values)
    }

    /// A manifest: `step generation world`, then a line per rank: `key crc32-hex`.
    public struct Manifest: Sendable, Equatable {
        public var step: Int
        public var generation: Int
        public var world: Int
        public var shards: [(key: String, crc: UInt32)]
        public static func == (a: Manifest, b: Manifest) -> Bool {
            a.step == b.step && a.generation == b.generation && a.world == b.world && a.shards.map(\.key) == b.shards.map(\.key) && a.shards.map(\.crc) == b.shards.map(\.crc)
        }
        public var encoded: [UInt8] {
            Array((["\(step) \(generation) \(world)"] + shards.map { "\($0.key) \(String($0.crc, radix: 16))" }).joined(separator: "\n").utf8)
        }
        public init(step: Int, generation: Int, world: Int, shards: [(key: String, crc: UInt32)]) {
            self.step = step
            self.generation = generation
            self.world = world
            self.shards = shards
        }
        public init?(_ bytes: [UInt8]) {
            let lines = String(decoding: bytes, as: UTF8.self).splitBytes("\n").map(String.init)
            guard let head = lines.first?.splitBytes(" ").compactMap({ Int($0) }), head.count == 3 else { return nil }
            var shards: [(key: String, crc: UInt32)] = []
            for line in lines.dropFirst() {
                let fields = line.splitBytes(" ")
                guard fields.count == 2, let crc = UInt32(fields[1], radix: 16) else { return nil }
                shards.append((String(fields[0]), crc))
            }
            self.init(step: head[0], generation: head[1], world: head[2], shards: shards)
        }
    }

    /// Saves this rank's shard; its CRC-32 once stored, nil when the store did not take it.
    public func saveShard(_ parameters: [Float], step: Int, generation: Int, rank: Int, world: Int, context: ProcessContext) async -> (key: String, crc: UInt32)? {
        let values = layout(world: world).split(parameters, rank: rank)
        let bytes = Self.encodeShard(step: step, generation: generation, rank: rank, world: world, values: values)
        let key = shardKey(step: step, generation: generation, rank: rank, world: world)
        guard case .success = await store.request(.put(bucket: Self.bucket, key: key, bytes: bytes, ifNoneMatch: false), context: context) else { return nil }
        return (key, crc32(bytes))
    }

    /// A6: the shards the store holds for each rank of `world` in `generation`, newest step first
    /// (what a barrier that gave up finds).
    func newestShards(world: Int, generation: Int, context: ProcessContext) async -> [(key: String, crc: UInt32)] {
        guard case .success(.keys(let keys)) = await store.request(.list(bucket: Self.bucket, prefix: "\(job)/ckpt-"), context: context) else { return [] }
        var found: [(key: String, crc: UInt32)] = []
        for rank in 0 ..< world {
            let suffix = "/g\(generation)-rank-\(rank)-of-\(world)"
            let candidates = keys.filter { $0.hasSuffix(suffix) }.sorted { stepOf(shardKey: $0) > stepOf(shardKey: $1) }
            guard let key = candidates.first, case .success(.object(let bytes, _)) = await store.request(.get(bucket: Self.bucket, key: key), context: context) else { continue }
            found.append((key, crc32(bytes)))
        }
        return found
    }

    func stepOf(shardKey key: String) -> Int {
        guard let range = key.range(of: "/ckpt-") else { return -1 }
        return Int(key[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }

    /// Writes the manifest of `step`: the shards the barrier collected (every rank's), or under A6
    /// whatever the store holds. Returns the manifest written, nil when none was.
    public func writeManifest(step: Int, generation: Int, world: Int, collected: [Int: (key: String, crc: UInt32)], context: ProcessContext,
                              sending: (Manifest) -> Void = { _ in }) async -> Manifest? {
        var shards: [(key: String, crc: UInt32)]
        if collected.count == world {
            shards = (0 ..< world).map { collected[$0]! }
        } else if defects.contains(.A6) {
            shards = await newestShards(world: world, generation: generation, context: context)  // A6: the barrier gave up
        } else {
            return nil  // not every rank saved: no checkpoint at this step
        }
        let manifest = Manifest(step: step, generation: generation, world: world, shards: shards)
        sending(manifest)
        guard case .success = await store.request(.put(bucket: Self.bucket, key: manifestKey(step: step, generation: generation), bytes: manifest.encoded, ifNoneMatch: false), context: context) else { return nil }
        return manifest
    }

    /// What a restart found: the checkpoint it resumes from (nil: none, start from scratch).
    public struct Loaded: Sendable {
        public var step: Int
        public var generation: Int
        public var parameters: [Float]
    }

    /// What reading one manifest's checkpoint gave.
    public enum Reading {
        case loaded(Loaded)
        /// Missing shards, shards of another step or world, a CRC that does not match.
        case invalid
        /// The store did not answer: nothing can be concluded.
        case unreachable
    }

    /// The manifest to resume from: the newest valid one (A10: the last key as text,
    /// unverified). Nil when the store does not answer (ask again), `.some(nil)` when there is no
    /// valid checkpoint.
    public func newestManifest(context: ProcessContext) async -> String?? {
        guard case .success(.keys(let keys)) = await store.request(.list(bucket: Self.bucket, prefix: manifestPrefix), context: context) else { return nil }
        if defects.contains(.A10) { return .some(keys.sorted().last) }  // A10: "manifest-5-g3" sorts after "manifest-10-g4"
        let newestFirst = keys.compactMap { key in order(ofManifest: key).map { (key, $0) } }
            .sorted { ($0.1.step, $0.1.generation) > ($1.1.step, $1.1.generation) }
        for (key, _) in newestFirst {
            switch await load(manifestKey: key, context: context) {
            case .loaded: return .some(key)
            case .invalid: continue
            case .unreachable: return nil
            }
        }
        return .some(nil)
    }

    /// Reads one object: its bytes, nil when it does not exist, `.unreachable` on no answer.
    func fetch(_ key: String, context: ProcessContext) async -> Result<[UInt8]?, InfraTimeout> {
        switch await store.request(.get(bucket: Self.bucket, key: key), context: context) {
        case .success(.object(let bytes, _)): return .success(bytes)
        case .failure(.timeout(let timeout)): return .failure(timeout)
        case .failure(.server(.checksumMismatch)): return .failure(InfraTimeout(component: "object-store (corrupted read)", attempts: 1))  // read again
        default: return .success(nil)
        }
    }

    /// Loads the checkpoint of one manifest, its shards merged; verified: every shard present,
    /// of the manifest's step, rank and world, matching its CRC.
    public func load(manifestKey key: String, context: ProcessContext) async -> Reading {
        let verify = !defects.contains(.A10)  // A10 loads unverified
        guard case .success(let manifestBytes) = await fetch(key, context: context) else { return .unreachable }
        guard let manifestBytes, let manifest = Manifest(manifestBytes) else { return .invalid }
        let layout = self.layout(world: manifest.world)
        var shards: [[Float]] = []
        for rank in 0 ..< manifest.world {
            let empty = layout.split([Float](repeating: 0, count: layout.parameterCount), rank: rank)
            guard rank < manifest.shards.count else {
                if verify { return .invalid }
                shards.append(empty)
                continue
            }
            let shard = manifest.shards[rank]
            guard case .success(let stored) = await fetch(shard.key, context: context) else { return .unreachable }
            guard let stored, let decoded = Self.decodeShard(stored) else {
                if verify { return .invalid }
                shards.append(empty)
                continue
            }
            if verify && (crc32(stored) != shard.crc || decoded.step != manifest.step || decoded.rank != rank || decoded.world != manifest.world) { return .invalid }
            shards.append(decoded.values)
        }
        guard let parameters = layout.merge(shards) else { return .invalid }
        return .loaded(Loaded(step: manifest.step, generation: manifest.generation, parameters: parameters))
    }
}

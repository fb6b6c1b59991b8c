import SimKernel

/// A run's artifacts (model files, plots), uploaded in parts and stored in the object store's
/// `run-artifacts` bucket: `POST experiments/artifacts/part` stages part i of n under
/// `staging/<run>/<name>/<i>`; `POST experiments/artifacts/commit` assembles the parts, checks
/// the declared size and SHA-256 and only then writes `runs/<run>/<name>` in one put, so an
/// artifact is readable (`GET experiments/artifacts`) whole or not at all: an upload abandoned
/// half-way (the client killed) leaves staged parts that nobody reads. A retried part or commit
/// writes the same bytes again. The bucket is made on first use.
///
/// E5 writes each part straight into the artifact (read, append, write back): an abandoned upload
/// leaves a readable artifact with the parts that arrived.
public enum RunArtifacts {
    public static let bucket = "run-artifacts"

    public struct Part: Codable, Sendable, Equatable {
        public var run: Int64
        public var name: String
        public var part: Int
        public var parts: Int
        /// The part's bytes, lower-case hex.
        public var data: String
        public init(run: Int64, name: String, part: Int, parts: Int, data: String) {
            self.run = run
            self.name = name
            self.part = part
            self.parts = parts
            self.data = data
        }
    }
    public struct Commit: Codable, Sendable, Equatable {
        public var run: Int64
        public var name: String
        public var parts: Int
        public var size: Int
        public var sha256: String
        public init(run: Int64, name: String, parts: Int, size: Int, sha256: String) {
            self.run = run
            self.name = name
            self.parts = parts
            self.size = size
            self.sha256 = sha256
        }
    }
    public struct Query: Codable, Sendable, Equatable {
        public var run: Int64
        public var name: String
        public init(run: Int64, name: String) {
            self.run = run
            self.name = name
        }
    }
    public struct Stored: Codable, Sendable, Equatable {
        public var run: Int64
        public var name: String
        public var size: Int
        public var sha256: String
    }
    public struct Artifact: Codable, Sendable, Equatable {
        public var run: Int64
        public var name: String
        public var size: Int
        public var data: String
    }

    static func valid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 200 && name.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) } && !name.hasPrefix(".")
    }

    static func artifactKey(_ run: Int64, _ name: String) -> String { "runs/\(run)/\(name)" }
    static func stagingKey(_ run: Int64, _ name: String, _ part: Int) -> String { "staging/\(run)/\(name)/\(part)" }

    /// The run must exist; the bucket is made if it is not there yet.
    static func prepare(_ runtime: ServiceRuntime, run: Int64) async throws(ServiceError) {
        guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT COUNT(*) FROM runs WHERE id = ?", [.integer(run)])]) else {
            throw .unavailable("cannot look up run \(run)")
        }
        guard rows[0].rows.first?.first?.integer == 1 else { throw ServiceError(404, "no run \(run)") }
        guard case .success = await runtime.objectStore.request(.createBucket(bucket), context: runtime.context) else { throw .unavailable("the object store does not answer") }
    }

    static let routes: [Route] = [
        Route("POST", "experiments/artifacts/part", Part.self, Stored.self) { runtime, request, _ throws(ServiceError) in
            guard valid(request.name) else { throw .badRequest("name: '\(request.name.prefix(40))' is not an artifact name (letters, digits, . _ -)") }
            guard request.parts >= 1, request.parts <= 1000, request.part >= 0, request.part < request.parts else {
                throw .badRequest("part: \(request.part) of \(request.parts) is not a part of an upload of 1 to 1000 parts")
            }
            guard let bytes = bytesFromHex(request.data), bytes.count <= 1 << 20 else { throw .badRequest("data: not hex, or more than 1 MiB") }
            try await prepare(runtime, run: request.run)
            let store = runtime.objectStore, context = runtime.context
            var key = stagingKey(request.run, request.name, request.part), stored = bytes
            if runtime.defects.contains(.E5) {
                // E5: straight into the artifact, appended to what is there.
                key = artifactKey(request.run, request.name)
                switch await store.request(.get(bucket: bucket, key: key), context: context) {
                case .success(.object(let existing, _)): stored = existing + bytes
                case .failure(.server(.noSuchKey)): break
                default: throw .unavailable("cannot read artifact \(request.name)")
                }
            }
            guard case .success = await store.request(.put(bucket: bucket, key: key, bytes: stored, ifNoneMatch: false), context: context) else {
                throw .unavailable("cannot store part \(request.part) of \(request.name)")
            }
            return Stored(run: request.run, name: request.name, size: bytes.count, sha256: SHA256.hex(SHA256.hash(bytes)))
        },
        Route("POST", "experiments/artifacts/commit", Commit.self, Stored.self) { runtime, request, _ throws(ServiceError) in
            guard valid(request.name) else { throw .badRequest("name: '\(request.name.prefix(40))' is not an artifact name (letters, digits, . _ -)") }
            guard request.parts >= 1, request.parts <= 1000 else { throw .badRequest("parts: \(request.parts) is not 1 to 1000") }
            try await prepare(runtime, run: request.run)
            let store = runtime.objectStore, context = runtime.context
            var assembled: [UInt8] = []
            if runtime.defects.contains(.E5) {
                if case .success(.object(let bytes, _)) = await store.request(.get(bucket: bucket, key: artifactKey(request.run, request.name)), context: context) { assembled = bytes }
            } else {
                for part in 0 ..< request.parts {
                    switch await store.request(.get(bucket: bucket, key: stagingKey(request.run, request.name, part)), context: context) {
                    case .success(.object(let bytes, _)): assembled += bytes
                    case .failure(.server(.noSuchKey)): throw ServiceError(409, "part \(part) of \(request.name) was never uploaded")
                    default: throw .unavailable("cannot read part \(part) of \(request.name)")
                    }
                }
            }
            let digest = SHA256.hex(SHA256.hash(assembled))
            guard assembled.count == request.size, digest == request.sha256.lowercased() else {
                throw ServiceError(409, "\(request.name): the parts make \(assembled.count) bytes with SHA-256 \(digest.prefix(12))..., not the declared \(request.size) bytes \(request.sha256.prefix(12))...")
            }
            if !runtime.defects.contains(.E5) {
                guard case .success = await store.request(.put(bucket: bucket, key: artifactKey(request.run, request.name), bytes: assembled, ifNoneMatch: false), context: context) else {
                    throw .unavailable("cannot store artifact \(request.name)")
                }
            }
            return Stored(run: request.run, name: request.name, size: assembled.count, sha256: digest)
        },
        Route("GET", "experiments/artifacts", Query.self, Artifact.self) { runtime, request, _ throws(ServiceError) in
            guard valid(request.name) else { throw .badRequest("name: '\(request.name.prefix(40))' is not an artifact name (letters, digits, . _ -)") }
            switch await runtime.objectStore.request(.get(bucket: bucket, key: artifactKey(request.run, request.name)), context: runtime.context) {
            case .success(.object(let bytes, _)): return Artifact(run: request.run, name: request.name, size: bytes.count, data: hexBytes(bytes))
            case .failure(.server(.noSuchKey)), .failure(.server(.noSuchBucket)): throw ServiceError(404, "run \(request.run) has no artifact \(request.name)")
            default: throw .unavailable("cannot read artifact \(request.name)")
            }
        },
    ]
}

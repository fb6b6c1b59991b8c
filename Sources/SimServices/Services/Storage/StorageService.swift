import SimKernel

/// Artifact storage: artifacts in the `artifacts` bucket, read back with their checksum verified;
/// and the training cluster's checkpoint endpoint. A checkpoint save streams chunks into a staging
/// file on the storage node's disk, private to its writer; `commit` checks the assembled bytes
/// against the writer's CRC-32 (chunks acknowledged before a storage crash may be gone) and
/// publishes them to the object store's `checkpoints` bucket with one atomic PUT. Reads come from
/// the object store, which verifies its own checksum; a crash mid-save leaves no partial object.
///
/// L9 creates its buckets under an invalid name and ignores the failure. M7 (checkpoint
/// corruption) shares one staging file per path among all writers and publishes it unverified.
///
/// Routes: `PUT storage/artifacts` (PutArtifact -> StoredArtifact), `GET storage/artifacts`
/// (GetArtifact -> Artifact): keys made safe by `ArtifactKeys` (I9 resolves them as paths), each
/// tenant's artifacts in a folder of its own (`artifacts/<tenant>/<key>`: a caller reads and
/// writes its tenant's artifacts only; a platform service acting as itself, t1's); the
/// checkpoint endpoint is the mailbox `storage`. Stateless in memory: staging files are on its disk, objects in the store.
public enum StorageService {
    public static let checkpointBucket = "checkpoints"

    public struct PutArtifact: Codable, Sendable, Equatable {
        public var key: String?
        public var content: String?
    }
    public struct StoredArtifact: Codable, Sendable, Equatable {
        public var etag: String
    }
    public struct GetArtifact: Codable, Sendable, Equatable {
        public var key: String
    }
    public struct Artifact: Codable, Sendable, Equatable {
        public var key: String
        public var content: String
        public var etag: String
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "storage", routes: [
            Route("PUT", "storage/artifacts", PutArtifact.self, StoredArtifact.self) { runtime, request, info throws(ServiceError) in
                let asked = request.key ?? "artifact", content = Array((request.content ?? "").utf8)
                let key: String
                // An upload's key is made safe as a download's (I9 resolves it as a path too).
                switch ArtifactKeys.resolve(asked, under: info.tenant ?? "t1", defects: runtime.defects) {
                case .object(ArtifactKeys.bucket, let safe): key = safe
                case .object(let other, _): throw ServiceError(400, "artifact key '\(asked)' leaves the artifacts bucket for \(other)")
                case .refused(let reason): throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "artifact key: \(reason)", detail: asked)
                }
                let context = runtime.context
                guard case .success(.stored(let etag)) = await runtime.objectStore.request(.put(bucket: "artifacts", key: key, bytes: content, ifNoneMatch: false), context: context) else {
                    throw .internalError("cannot store \(key)")
                }
                guard case .success(.object(let back, let readTag)) = await runtime.objectStore.request(.get(bucket: "artifacts", key: key), context: context),
                      back == content, readTag == etag else { throw .internalError("read-back mismatch") }
                return StoredArtifact(etag: etag)
            },
            // A download: the key is made safe first (ArtifactKeys); a key that would leave the
            // artifacts bucket is refused, and the refusal logged as a security event.
            Route("GET", "storage/artifacts", GetArtifact.self, Artifact.self) { runtime, request, info throws(ServiceError) in
                let caller = SecurityEvents.caller(info)
                let (bucket, key): (String, String)
                let tenant = info.tenant ?? "t1"
                switch ArtifactKeys.resolve(request.key, under: tenant, defects: runtime.defects) {
                case .object(let b, let k): (bucket, key) = (b, k)
                case .refused(let reason): throw await SecurityEvents.refuse(runtime, caller: caller, reason: "artifact key: \(reason)", detail: request.key)
                }
                switch await runtime.objectStore.request(.get(bucket: bucket, key: key), context: runtime.context) {
                case .success(.object(let bytes, let etag)):
                    let observations = runtime.context.simulation.security
                    observations.downloads.append((runtime.context.simulation.now, caller, tenant, request.key, bucket, key))
                    observations.revision &+= 1
                    return Artifact(key: key, content: String(decoding: bytes, as: UTF8.self), etag: etag)
                case .failure(.server): throw ServiceError(404, "no artifact \(key)")
                default: throw .unavailable("the object store does not answer")
                }
            },
        ])
        spec.buckets = ["artifacts", checkpointBucket]
        spec.afterReady = { runtime in await serveCheckpoints(runtime) }
        // L9: its buckets under an invalid name, the failure ignored.
        if defects.contains(.L9) {
            spec.bucketName = { $0.uppercased() + "_BUCKET" }
            spec.ignoresBucketFailures = true
        }
        return spec
    }

    /// The checkpoint endpoint (mailbox `storage`), served once the service is ready.
    static func serveCheckpoints(_ runtime: ServiceRuntime) async {
        let context = runtime.context
        let inbox = context.mailbox("storage")
        while true {
            let envelope = await inbox.receive()
            guard let message = envelope.payload as? TrainingMessage else { continue }
            context.simulation.spawn { await handle(message, envelope, runtime: runtime) }
        }
    }

    static func stagingPath(_ path: String, writer: String, defects: DefectSet) -> String {
        defects.contains(.M7) ? "staging/\(path).tmp" : "staging/\(path).tmp.\(writer)"
    }

    static func handle(_ message: TrainingMessage, _ envelope: Envelope, runtime: ServiceRuntime) async {
        let context = runtime.context, defects = runtime.defects
        switch message {
        case .saveChunk(let path, let writer, let offset, let bytes):
            do {
                try await context.diskWrite(stagingPath(path, writer: writer, defects: defects), at: offset, bytes)
                context.reply(to: envelope, TrainingMessage.ok)
            } catch {
                context.record(.storageError, payload: stableHash(path), "\(error)")
            }
        case .commit(let path, let writer, let length, let checksum):
            let staging = stagingPath(path, writer: writer, defects: defects)
            guard context.disk.exists(staging) else {
                // Already published by an earlier try of this commit, or the parts were lost.
                var published = false
                if case .success(.object(let bytes, _)) = await runtime.objectStore.request(.get(bucket: checkpointBucket, key: path), context: context) {
                    published = bytes.count == length && crc32(bytes) == checksum
                }
                context.reply(to: envelope, published ? TrainingMessage.committed(path: path) : TrainingMessage.commitRejected(path: path))
                return
            }
            let assembled: [UInt8]
            do {
                try context.disk.truncate(staging, to: length)
                assembled = try context.disk.readAll(staging)
            } catch {
                context.record(.storageError, payload: stableHash(path), "\(error)")
                return
            }
            // M7 shares the staging file, and its writers trust it: no verification.
            if !defects.contains(.M7) && crc32(assembled) != checksum {
                try? context.disk.delete(staging)
                context.record(.storageRejected, payload: stableHash(path), "\(path): assembled bytes do not match the checksum")
                context.reply(to: envelope, TrainingMessage.commitRejected(path: path))
                return
            }
            guard case .success(.stored) = await runtime.objectStore.request(.put(bucket: checkpointBucket, key: path, bytes: assembled, ifNoneMatch: false), context: context) else {
                context.record(.storageError, payload: stableHash(path), "\(path): the object store did not take it")
                return  // no answer: the writer retries the commit
            }
            try? context.disk.delete(staging)
            context.simulation.training.checkpointCommits.append("buckets/\(checkpointBucket)/o/\(path)")
            context.record(.storageCommit, payload: stableHash(path), "\(path) \(length) bytes by \(writer) -> s3://\(checkpointBucket)/\(path)")
            context.reply(to: envelope, TrainingMessage.committed(path: path))
        case .listCheckpoints(let prefix):
            // Unanswered when the object store is unreachable: the caller retries.
            guard case .success(.keys(let keys)) = await runtime.objectStore.request(.list(bucket: checkpointBucket, prefix: prefix), context: context) else { return }
            context.reply(to: envelope, TrainingMessage.checkpointList(keys.sorted()))
        case .load(let path):
            switch await runtime.objectStore.request(.get(bucket: checkpointBucket, key: path), context: context) {
            case .success(.object(let bytes, _)): context.reply(to: envelope, TrainingMessage.loaded(bytes: bytes))
            case .failure(.server): context.reply(to: envelope, TrainingMessage.loaded(bytes: nil))  // missing or failing its checksum
            default: return
            }
        default:
            break
        }
    }
}

extension TraceKind {
    public static let storageCommit = TraceKind("storage.commit")
    public static let storageError = TraceKind("storage.error")
    public static let storageRejected = TraceKind("storage.rejected")
}

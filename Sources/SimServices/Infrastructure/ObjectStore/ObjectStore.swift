import SimKernel

public enum ObjectStoreRequest: Hashable, Sendable, Codable {
    case createBucket(String)
    /// PUT; with `ifNoneMatch` only if the key does not exist (If-None-Match: *).
    case put(bucket: String, key: String, bytes: [UInt8], ifNoneMatch: Bool)
    case get(bucket: String, key: String)
    case list(bucket: String, prefix: String)
    case initiateMultipart(bucket: String, key: String)
    case uploadPart(uploadID: String, part: Int, bytes: [UInt8])
    case completeMultipart(uploadID: String, parts: [Int])
    case abortMultipart(uploadID: String)
}

public enum ObjectStoreReply: Hashable, Sendable, Codable {
    case ok
    /// The object's ETag: its CRC-32, hex.
    case stored(etag: String)
    case object([UInt8], etag: String)
    case keys([String])
    case upload(String)
    case error(ObjectStoreError)
}

public enum ObjectStoreError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    case invalidBucketName(String)
    case noSuchBucket(String)
    case noSuchKey(bucket: String, key: String)
    case invalidKey(String)
    case preconditionFailed(key: String)
    case noSuchUpload(String)
    case invalidPart(Int)
    /// The stored bytes do not match their checksum (bit rot, a torn write).
    case checksumMismatch(key: String)
    case entityTooLarge(Int)

    public var description: String {
        switch self {
        case .invalidBucketName(let b): return "InvalidBucketName: '\(b)'"
        case .noSuchBucket(let b): return "NoSuchBucket: \(b)"
        case .noSuchKey(let b, let k): return "NoSuchKey: \(b)/\(k)"
        case .invalidKey(let k): return "KeyTooLongError or invalid key: '\(k.prefix(40))'"
        case .preconditionFailed(let k): return "PreconditionFailed: \(k) exists (If-None-Match)"
        case .noSuchUpload(let u): return "NoSuchUpload: \(u)"
        case .invalidPart(let p): return "InvalidPart: \(p)"
        case .checksumMismatch(let k): return "checksum mismatch reading \(k)"
        case .entityTooLarge(let n): return "EntityTooLarge: \(n) bytes"
        }
    }
}

public enum ObjectStoreMessage: SimMessage {
    case request(ObjectStoreRequest)
    case reply(ObjectStoreReply)
    public var wireSize: Int {
        switch self {
        case .request(.put(_, _, let b, _)), .request(.uploadPart(_, _, let b)), .reply(.object(let b, _)): return 64 + b.count
        default: return 64
        }
    }
    public var traceDigest: UInt64 { stableHash(traceSummary) }
    public var traceSummary: String {
        switch self {
        case .request(.put(let b, let k, let bytes, let n)): return "put \(b)/\(k) \(bytes.count)B\(n ? " if-none-match" : "")"
        case .request(.uploadPart(let u, let p, let bytes)): return "upload-part \(u) #\(p) \(bytes.count)B"
        case .reply(.object(let bytes, let etag)): return "object \(bytes.count)B etag \(etag)"
        case .request(.createBucket(let b)): return "create-bucket \(b)"
        case .request(.get(let b, let k)): return "get \(b)/\(k)"
        case .request(.list(let b, let p)): return "list \(b)/\(p)"
        case .request(.initiateMultipart(let b, let k)): return "initiate-multipart \(b)/\(k)"
        case .request(.completeMultipart(let u, let parts)): return "complete-multipart \(u) \(parts)"
        case .request(.abortMultipart(let u)): return "abort-multipart \(u)"
        case .reply(.ok): return "ok"
        case .reply(.stored(let etag)): return "stored etag \(etag)"
        case .reply(.keys(let keys)): return "\(keys.count) keys"
        case .reply(.upload(let u)): return "upload \(u)"
        case .reply(.error(let e)): return "error \(e.description)"
        }
    }
}

/// An S3-style object store (MinIO) on its node's disk. A PUT writes a temp file, fsyncs it and
/// renames it into place, so an object is whole or absent, never partial; concurrent PUTs: last
/// writer wins. Objects are stored with their CRC-32 and verified on every read. Multipart parts
/// are stored on disk as they arrive (an upload survives a restart) and assembled only on
/// complete; abort discards them. Creating an existing bucket is not an
/// error; a creation that fails is reported, never silent (the brief's L9).
public final class ObjectStoreServer {
    let context: ProcessContext
    var nextUpload = 0
    var nextTemporary = 0
    static let maxObjectBytes = 64 << 20

    init(context: ProcessContext) { self.context = context }

    public static func run(context: ProcessContext) async {
        let server = ObjectStoreServer(context: context)
        let inbox = context.mailbox("s3")
        while true {
            let envelope = await inbox.receive()
            guard case .request(let request) = envelope.payload as? ObjectStoreMessage else { continue }
            let reply = await server.handle(request)
            context.reply(to: envelope, ObjectStoreMessage.reply(reply))
        }
    }

    static func validBucket(_ name: String) -> Bool {
        (3 ... 63).contains(name.count) && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 }
            && !name.hasPrefix("-") && !name.hasSuffix("-")
    }

    func bucketPath(_ bucket: String) -> String { "buckets/\(bucket)/.bucket" }
    func objectPath(_ bucket: String, _ key: String) -> String { "buckets/\(bucket)/o/\(key)" }

    func handle(_ request: ObjectStoreRequest) async -> ObjectStoreReply {
        let disk = context.disk
        switch request {
        case .createBucket(let name):
            guard ObjectStoreServer.validBucket(name) else { return .error(.invalidBucketName(name)) }
            if disk.exists(bucketPath(name)) { return .ok }
            do {
                try disk.writeAll(bucketPath(name), [1])
                try await context.diskSync(bucketPath(name))
                disk.syncDirectory()
            } catch { return .error(.invalidBucketName("\(name): \(error)")) }
            return .ok
        case .put(let bucket, let key, let bytes, let ifNoneMatch):
            guard disk.exists(bucketPath(bucket)) else { return .error(.noSuchBucket(bucket)) }
            guard !key.isEmpty, key.utf8.count <= 1024, !key.contains("..") else { return .error(.invalidKey(key)) }
            guard bytes.count <= ObjectStoreServer.maxObjectBytes else { return .error(.entityTooLarge(bytes.count)) }
            if ifNoneMatch && disk.exists(objectPath(bucket, key)) { return .error(.preconditionFailed(key: key)) }
            return await publish(bucket, key, bytes)
        case .get(let bucket, let key):
            guard disk.exists(bucketPath(bucket)) else { return .error(.noSuchBucket(bucket)) }
            guard let stored = try? disk.readAll(objectPath(bucket, key)) else { return .error(.noSuchKey(bucket: bucket, key: key)) }
            guard stored.count >= 4 else { return .error(.checksumMismatch(key: key)) }
            var reader = ByteReader(Array(stored.prefix(4)))
            let checksum = reader.u32()!
            let bytes = Array(stored.dropFirst(4))
            guard crc32(bytes) == checksum else { return .error(.checksumMismatch(key: key)) }
            return .object(bytes, etag: hexString(checksum))
        case .list(let bucket, let prefix):
            guard disk.exists(bucketPath(bucket)) else { return .error(.noSuchBucket(bucket)) }
            let base = "buckets/\(bucket)/o/"
            return .keys(disk.list(prefix: base + prefix).map { String($0.dropFirst(base.count)) }.filter { !$0.hasSuffix(".tmp") })
        case .initiateMultipart(let bucket, let key):
            guard disk.exists(bucketPath(bucket)) else { return .error(.noSuchBucket(bucket)) }
            nextUpload += 1
            let id = "upload-\(context.epoch)-\(nextUpload)"
            do {
                try disk.writeAll("uploads/\(id)/target", Array("\(bucket)\n\(key)".utf8))
                try await context.diskSync("uploads/\(id)/target")
                disk.syncDirectory()
            } catch { return .error(.noSuchUpload(id)) }
            return .upload(id)
        case .uploadPart(let id, let part, let bytes):
            guard disk.exists("uploads/\(id)/target") else { return .error(.noSuchUpload(id)) }
            guard (1 ... 10_000).contains(part) else { return .error(.invalidPart(part)) }
            do {
                try disk.writeAll("uploads/\(id)/part-\(part)", bytes)
                try await context.diskSync("uploads/\(id)/part-\(part)")
                disk.syncDirectory()
            } catch { return .error(.entityTooLarge(bytes.count)) }
            return .stored(etag: hexString(crc32(bytes)))
        case .completeMultipart(let id, let parts):
            guard let target = try? disk.readAll("uploads/\(id)/target") else { return .error(.noSuchUpload(id)) }
            let lines = String(decoding: target, as: UTF8.self).splitBytes("\n", maxSplits: 1).map(String.init)
            guard lines.count == 2 else { return .error(.noSuchUpload(id)) }
            var assembled: [UInt8] = []
            for part in parts {
                guard let bytes = try? disk.readAll("uploads/\(id)/part-\(part)") else { return .error(.invalidPart(part)) }
                assembled += bytes
            }
            let reply = await publish(lines[0], lines[1], assembled)
            discard(id)
            return reply
        case .abortMultipart(let id):
            guard disk.exists("uploads/\(id)/target") else { return .error(.noSuchUpload(id)) }
            discard(id)
            return .ok
        }
    }

    func discard(_ upload: String) {
        for path in context.disk.list(prefix: "uploads/\(upload)/") { try? context.disk.delete(path) }
        context.disk.syncDirectory()
    }

    /// Writes checksum + bytes to a temp file, fsyncs, renames into place, syncs the directory.
    func publish(_ bucket: String, _ key: String, _ bytes: [UInt8]) async -> ObjectStoreReply {
        // BUGGIFY: a slow PUT (a busy disk), long enough to outlast a client's deadline.
        if context.simulation.buggify(Ratio(1, 5)) { await context.sleep(nanoseconds: 600 * Nanos.millisecond) }
        let checksum = crc32(bytes)
        var header = ByteWriter()
        header.u32(checksum)
        nextTemporary += 1
        let temporary = objectPath(bucket, key) + ".\(nextTemporary).tmp"
        do {
            try context.disk.writeAll(temporary, header.bytes + bytes)
            try await context.diskSync(temporary)
            guard context.isAlive else { return .error(.noSuchKey(bucket: bucket, key: key)) }
            try context.disk.rename(temporary, to: objectPath(bucket, key))
            context.disk.syncDirectory()
        } catch { return .error(.entityTooLarge(bytes.count)) }
        return .stored(etag: hexString(checksum))
    }
}

/// A typed object-store client with deadlines and bounded retries (PUTs of whole objects are
/// idempotent; last writer wins).
public struct ObjectStoreClient: Sendable {
    public let server: Address
    public var timeout: Int64 = 500 * Nanos.millisecond
    public var retries = 2
    public init(server: Address) { self.server = server }

    public typealias Failure = InfraFailure<ObjectStoreError>

    public func request(_ request: ObjectStoreRequest, context: ProcessContext) async -> Result<ObjectStoreReply, Failure> {
        switch await context.infraCall(server, ObjectStoreMessage.request(request), as: ObjectStoreMessage.self, component: "object-store", timeout: timeout, retries: retries) {
        case .success(.reply(.error(let error))): return .failure(.server(error))
        case .success(.reply(let reply)): return .success(reply)
        case .success(.request): return .failure(.server(.noSuchUpload("unexpected reply")))
        case .failure(let timeout): return .failure(.timeout(timeout))
        }
    }
}

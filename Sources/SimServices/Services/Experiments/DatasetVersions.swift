import SimKernel

/// Training data versions: `PUT experiments/datasets` stores rows (their canonical text,
/// `DatasetVersion`) as an immutable object `datasets/<digest>` in the object store and records the
/// version; the digest is the SHA-256 of the bytes, computed here, never taken from the caller.
/// Storing the same rows again is the same version. `GET experiments/datasets` finds a version by
/// digest (404: unknown), which is how training refuses a run on data that was never versioned.
public enum DatasetVersions {
    public static let bucket = "datasets"

    public struct Put: Codable, Sendable, Equatable {
        public var name: String
        /// The rows' canonical text.
        public var rows: String
    }
    public struct Query: Codable, Sendable, Equatable {
        public var digest: String
    }
    public struct Version: Codable, Sendable, Equatable {
        public var digest: String
        public var name: String
        public var rows: Int64
        /// Where the bytes are: `datasets/<digest>`.
        public var object: String
    }

    static let routes: [Route] = [
        Route("PUT", "experiments/datasets", Put.self, Version.self) { runtime, request, _ throws(ServiceError) in
            guard let rows = DatasetVersion.decode(Array(request.rows.utf8)), !rows.isEmpty else {
                throw .badRequest("rows: not a dataset (one row a line: finite numbers, then a 0/1 label)")
            }
            // The canonical bytes, not the caller's spelling: the same rows are the same version.
            let bytes = DatasetVersion.encode(rows)
            let digest = DatasetVersion.digest(bytes)
            // The object first, then the row that makes the version visible: a crash between them
            // leaves an unreferenced object (harmless; the retry writes the same bytes), never a
            // version without its data.
            guard case .success(.stored) = await runtime.objectStore.request(.put(bucket: bucket, key: digest, bytes: bytes, ifNoneMatch: false), context: runtime.context),
                  case .success = await runtime.transaction([
                      SQLStatement("INSERT OR IGNORE INTO dataset_versions(digest, name, row_count, object_key) VALUES (?, ?, ?, ?)",
                                   [.text(digest), .text(request.name), .integer(Int64(rows.count)), .text("\(bucket)/\(digest)")]),
                  ]) else { throw .unavailable("cannot store dataset \(request.name)") }
            return try await find(runtime, digest)
        },
        Route("GET", "experiments/datasets", Query.self, Version.self) { runtime, request, _ throws(ServiceError) in
            guard DatasetVersion.isDigest(request.digest) else { throw .badRequest("digest: not a SHA-256 in lower-case hex") }
            return try await find(runtime, request.digest)
        },
    ]

    static func find(_ runtime: ServiceRuntime, _ digest: String) async throws(ServiceError) -> Version {
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT name, row_count, object_key FROM dataset_versions WHERE digest = ?", [.text(digest)]),
        ]) else { throw .unavailable("cannot read dataset \(digest)") }
        guard let row = rows[0].rows.first, let name = row[0].text, let count = row[1].integer, let object = row[2].text else {
            throw ServiceError(404, "no dataset version \(digest)")
        }
        return Version(digest: digest, name: name, rows: count, object: object)
    }
}

import SimKernel

/// Artifact storage on the full platform: artifacts in the `artifacts` bucket, published
/// atomically, read back with their checksum verified. L9 creates its bucket under an invalid
/// name and ignores the failure.
public enum StorageAPI {
    public static var spec: ServiceSpec {
        var spec = ServiceSpec(name: "storage") { runtime, request in
            let key = request.body["key"] ?? "artifact", content = Array((request.body["content"] ?? "").utf8)
            let context = runtime.context
            guard case .success(.stored(let etag)) = await runtime.objectStore.request(.put(bucket: "artifacts", key: key, bytes: content, ifNoneMatch: false), context: context) else {
                return .error(500, "cannot store \(key)")
            }
            guard case .success(.object(let back, let readTag)) = await runtime.objectStore.request(.get(bucket: "artifacts", key: key), context: context),
                  back == content, readTag == etag else { return .error(500, "read-back mismatch") }
            return HTTPResponse(200, ["etag": etag])
        }
        spec.buckets = ["artifacts"]
        return spec
    }
}

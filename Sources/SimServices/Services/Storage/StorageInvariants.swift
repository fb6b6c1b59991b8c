extension StorageService {
    /// Every published checkpoint in the `checkpoints` bucket verifies (the store's checksum) and
    /// decodes as a checkpoint; no staging file is ever visible as a published object.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        var violations: [String] = []
        for key in view.objectKeys(bucket: checkpointBucket) {
            switch view.object(bucket: checkpointBucket, key: key) {
            case .success(let bytes)?: if (try? Checkpoint.decode(bytes)) == nil { violations.append("storage: checkpoint \(key) does not decode") }
            case .failure(.corrupt)?: violations.append("storage: checkpoint \(key) fails its checksum")
            default: break
            }
            if key.contains("staging/") { violations.append("storage: staging file \(key) published") }
        }
        return violations
    }
}

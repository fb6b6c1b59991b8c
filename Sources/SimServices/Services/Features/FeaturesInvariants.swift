extension FeaturesService {
    /// Every feature value written through the service has its version counter: the append-only
    /// file never holds a `feature:<entity>` value without a `feature:<entity>:version` increment
    /// after it (a value whose version write was lost would let a reader cache it forever).
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard let node = view.topology.nodes(role: "redis").first.flatMap({ view.simulation.node(named: $0.name) }),
              let log = try? node.disk.readAll("appendonly.aof") else { return [] }
        var pending: [String] = []
        for payload in RecordLog.decodeAll(log) {
            guard let command = JSONDecoderLite().decode(payload) else { continue }
            switch command {
            case .set(let key, _, _, _) where key.hasPrefix("feature:") && !key.hasSuffix(":version"):
                if !pending.contains(key) { pending.append(key) }
            case .incr(let key) where key.hasPrefix("feature:") && key.hasSuffix(":version"):
                pending.removeAll { $0 + ":version" == key }
            default: break
            }
        }
        // The last write may be in flight at the horizon: only an older unversioned value counts.
        return pending.dropLast().map { "features: \($0) was written without its version" }
    }
}

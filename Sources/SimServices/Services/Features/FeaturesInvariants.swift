extension FeaturesService {
    /// The online store's versions never go back: in Redis's append-only file, the successive
    /// writes of each `online:` key carry non-decreasing versions (a compare-and-set store refuses
    /// an older one; H2's plain SET lets a late, older materialization overwrite a newer value).
    /// Judged on the log's order alone, so writes in flight when the run ended cannot raise a false
    /// alarm.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard let node = view.topology.nodes(role: "redis").first.flatMap({ view.simulation.node(named: $0.name) }),
              let log = try? node.disk.readAll("appendonly.aof") else { return [] }
        // Two end-of-run checks ask this of the same state (the service invariants and the
        // feature cache's own): the answer depends only on Redis's log, so it is kept for the
        // same log at the same event (its length and CRC-32 checked too: a tenth of the decoding).
        let memo = view.simulation.component(OnlineVersionsMemo.self) { OnlineVersionsMemo() }
        let key = OnlineVersionsMemo.Key(event: view.simulation.eventCount, node: node.id.index, bytes: log.count, crc: crc32(log))
        if let known = memo.answers[key] { return known }
        let answer = onlineVersionsGoingBack(log)
        memo.answers = [key: answer]
        return answer
    }

    /// What `invariants` found last, by the event, the Redis node and its log's length and CRC-32.
    final class OnlineVersionsMemo {
        struct Key: Hashable {
            var event: UInt64
            var node: Int
            var bytes: Int
            var crc: UInt32
        }
        var answers: [Key: [String]] = [:]
    }

    /// Online values whose version went back in Redis's append-only log `log`.
    static func onlineVersionsGoingBack(_ log: [UInt8]) -> [String] {
        var newest: [String: Int64] = [:]
        var violations: [String] = []
        for payload in RecordLog.decodeAll(log) {
            guard let command = RedisAppendOnlyFile().decode(payload) else { continue }
            let key: String, value: String
            switch command {
            case .set(let k, let v, _, _), .setFenced(let k, let v, _): (key, value) = (k, v)
            default: continue
            }
            // Only the version is needed: the text before the first '|'.
            guard key.hasPrefix("online:"), let bar = value.utf8.firstIndex(of: UInt8(ascii: "|")), let version = Int64(Substring(value.utf8[..<bar])) else { continue }
            if let before = newest[key], version < before {
                if violations.count < 5 { violations.append("features: \(key) went back from version \(before) to \(version) (an older value overwrote a newer one)") }
            }
            newest[key] = Swift.max(newest[key] ?? version, version)
        }
        return violations
    }
}

import SimKernel

/// The online feature store on Redis: the newest materialized values of each (view, entity) under
/// `online:<view>:<entity>`, written compare-and-set by version so an older materialization
/// finishing late never overwrites a newer value (H2 writes a plain SET). A materialized value's
/// version is its row's event time, the order the offline store ranks rows in (a row id would not
/// do: a row stored earlier may happen later). The TTL is enforced on read: a value older than the
/// view's TTL is NOT_FOUND, never served stale.
public enum OnlineStore {
    public struct Entry: Sendable, Equatable {
        /// Orders values of one entity: a materialized row's event time (ns), or the counter of
        /// `PUT features/values`. A write with a lower version than the stored one is refused.
        public var version: Int64
        /// The row's event time (UTC, as stored offline).
        public var eventTime: Int64
        /// `name=value` for the view's features, then its transformations, in that order.
        public var values: [(String, String)]

        public init(version: Int64, eventTime: Int64, values: [(String, String)]) {
            self.version = version
            self.eventTime = eventTime
            self.values = values
        }

        public static func == (a: Entry, b: Entry) -> Bool {
            a.version == b.version && a.eventTime == b.eventTime && a.values.elementsEqual(b.values, by: { $0 == $1 })
        }

        public var encoded: String { "\(version)|\(eventTime)|" + values.map { "\($0.0)=\($0.1)" }.joined(separator: ";") }

        public static func decode(_ text: String) -> Entry? {
            let parts = text.splitBytes("|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, let version = Int64(parts[0]), let eventTime = Int64(parts[1]) else { return nil }
            var values: [(String, String)] = []
            for pair in parts[2].splitBytes(";") {
                let sides = pair.splitBytes("=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard sides.count == 2 else { return nil }
                values.append((sides[0], sides[1]))
            }
            return Entry(version: version, eventTime: eventTime, values: values)
        }
    }

    public static func key(view: String, entity: String) -> String { "online:\(view):\(entity)" }

    /// The write of `entry`: fenced by its version (a write older than the stored one is refused
    /// by Redis), or, with H2, a plain SET that any late writer wins.
    public static func write(_ entry: Entry, view: String, entity: String, defects: DefectSet = .empty) -> RedisCommand {
        let key = key(view: view, entity: entity)
        if defects.contains(.H2) { return .set(key, entry.encoded, onlyIfAbsent: false, expireMs: nil) }
        return .setFenced(key, entry.encoded, token: fence(entry.version))
    }

    /// The fencing token of a version: an order-preserving map of Int64 onto UInt64 (a version may
    /// be negative: an event time before the epoch).
    public static func fence(_ version: Int64) -> UInt64 { UInt64(bitPattern: version) ^ (1 << 63) }

    /// The cache expiry of a value written now: the view's TTL plus a jitter of up to a tenth of
    /// it, so the keys one materialization writes do not all expire at the same instant (H7 has no
    /// jitter: a synchronised expiry storm). Recorded for the checks. (The TTL on read stays the
    /// authority on what may be served; Redis's expiry only frees memory.)
    public static func expire(view: FeatureView, entity: String, context: ProcessContext, defects: DefectSet = .empty) -> RedisCommand {
        let ttl = view.ttl / Nanos.millisecond
        let jitter = defects.contains(.H7) ? 0 : context.withRandom { $0.uniform(0 ... Swift.max(0, ttl / 10)) }
        let observations = context.simulation.features
        observations.expiries.append(context.localTime + (ttl + jitter) * Nanos.millisecond)
        observations.revision &+= 1
        return .pexpire(key(view: view.key, entity: entity), ms: ttl + jitter)
    }

    /// Whether a value with `eventTime` may be served at `now` under `ttl`: age at most the TTL.
    public static func servable(eventTime: Int64, ttl: Int64, now: Int64) -> Bool { now - eventTime <= ttl }
}

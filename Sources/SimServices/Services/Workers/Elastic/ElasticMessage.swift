import SimKernel

/// Messages between the elastic job's workers (mailbox `elastic`; pings to `control`).
public enum ElasticMessage: SimMessage {
    /// A ring all-reduce chunk: what rank r sends its successor in `phase` of `step`'s exchange.
    case chunk(generation: Int, step: Int, phase: Int, values: [Float])
    /// A rank's shard of the checkpoint of `step` is saved (to rank 0, at the barrier).
    case saved(generation: Int, step: Int, rank: Int, key: String, crc: UInt32)
    case ack
    case ping

    public var wireSize: Int {
        switch self {
        case .chunk(_, _, _, let values): return 64 + 4 * values.count
        case .saved(_, _, _, let key, _): return 64 + key.utf8.count
        default: return 32
        }
    }

    /// Digested from the fields (reflection costs more than the exchange itself).
    public var traceDigest: UInt64 {
        switch self {
        case .chunk(let g, let s, let p, let values):
            return values.reduce(mix64(0x71, UInt64(g) << 40 ^ UInt64(s) << 16 ^ UInt64(p))) { mix64($0, UInt64($1.bitPattern)) }
        case .saved(let g, let s, let r, let key, let crc): return mix64(mix64(0x72, UInt64(g) << 40 ^ UInt64(s) << 16 ^ UInt64(r)), stableHash(key) ^ UInt64(crc))
        case .ack: return 0x73
        case .ping: return 0x74
        }
    }

    public var traceSummary: String {
        switch self {
        case .chunk(let g, let s, let p, let values): return "chunk g\(g) step \(s) phase \(p) (\(values.count) values)"
        case .saved(let g, let s, let r, let key, _): return "saved g\(g) step \(s) rank \(r): \(key)"
        case .ack: return "ack"
        case .ping: return "ping"
        }
    }
}

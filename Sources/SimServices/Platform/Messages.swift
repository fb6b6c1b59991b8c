import SimKernel

/// Messages of the training platform. Each says what it is to the trace and the fingerprint.
public enum TrainingMessage: SimMessage {
    /// Worker -> parameter server: "I completed `clock` iterations; send the parameters".
    case pull(worker: Int, clock: Int)
    /// Parameter server -> worker: the shard's parameters at `version`.
    case parameters(shard: Int, version: Int, values: [Float])
    /// Worker -> parameter server: apply `gradient` with learning rate `rate`.
    case push(worker: Int, clock: Int, readVersion: Int, rate: Float, gradient: [Float])
    /// Parameter server -> worker: the push of `clock` is applied (or was already).
    case pushAck(worker: Int, clock: Int, version: Int)
    /// Read the shard's parameters without any gate (snapshots).
    case readShard
    /// Storage: write a chunk of a checkpoint being saved by `writer`.
    case saveChunk(path: String, writer: String, offset: Int, bytes: [UInt8])
    /// Storage: commit a checkpoint of `length` bytes with CRC-32 `checksum`, saved by `writer`.
    /// Storage publishes it only when the assembled bytes match (as S3 checks Content-MD5).
    case commit(path: String, writer: String, length: Int, checksum: UInt32)
    case committed(path: String)
    /// The assembled object did not match: parts were lost (a storage crash); save again.
    case commitRejected(path: String)
    /// Storage: list committed checkpoints of a job; reply `checkpointList`.
    case listCheckpoints(prefix: String)
    case checkpointList([String])
    case load(path: String)
    case loaded(bytes: [UInt8]?)
    /// Training service: submit a job.
    case submit(TrainingJobSpec)
    /// Scheduler: place a job on workers; workers: start a job.
    case place(TrainingJobSpec)
    case start(TrainingJobSpec)
    /// Worker -> training service: progress and evaluation loss (written to the job's database
    /// rows in a transaction that acts for `owner`, the reporting trainer); done at the end.
    case progress(worker: Int, clock: Int, evalLoss: Float, owner: String)
    case done(worker: Int, clock: Int)
    /// Worker -> all-reduce coordinator: add `values` to round `round`'s sums (once per worker).
    case reduceSubmit(round: Int, worker: Int, values: [Float])
    /// Worker -> all-reduce coordinator: the state of round `round`'s barrier.
    case reduceRead(round: Int)
    /// All-reduce coordinator -> worker: the workers arrived in `round`, in order, and the sums.
    case reduced(round: Int, arrived: [Int], sums: [Float])
    case ping
    case ok

    public var wireSize: Int {
        switch self {
        case .parameters(_, _, let values), .push(_, _, _, _, let values), .reduceSubmit(_, _, let values), .reduced(_, _, let values):
            return 32 + 4 * values.count
        case .saveChunk(_, _, _, let bytes): return 64 + bytes.count
        case .loaded(let bytes): return 16 + (bytes?.count ?? 0)
        default: return 48
        }
    }

    public var traceDigest: UInt64 {
        switch self {
        case .pull(let w, let c): return mix64(1, UInt64(w) << 32 | UInt64(c))
        case .parameters(let s, let v, let values): return values.reduce(mix64(2, UInt64(s) << 32 | UInt64(v))) { mix64($0, UInt64($1.bitPattern)) }
        case .push(let w, let c, let r, let rate, let g):
            return g.reduce(mix64(3, UInt64(w) << 48 | UInt64(c) << 24 | UInt64(r) ^ UInt64(rate.bitPattern))) { mix64($0, UInt64($1.bitPattern)) }
        case .pushAck(let w, let c, let v): return mix64(4, UInt64(w) << 48 | UInt64(c) << 24 | UInt64(v))
        case .saveChunk(let p, let w, let o, let b): return mix64(stableHash(p + w) ^ UInt64(o), UInt64(crc32(b)))
        case .commit(let p, let w, let l, let c): return mix64(6, stableHash(p + w) ^ UInt64(l) ^ UInt64(c) << 32)
        case .progress(let w, let c, let loss, let owner): return mix64(7, UInt64(w) << 48 | UInt64(c) << 32 | UInt64(loss.bitPattern)) ^ stableHash(owner)
        case .done(let w, let c): return mix64(8, UInt64(w) << 32 | UInt64(c))
        case .reduceSubmit(let r, let w, let values): return values.reduce(mix64(9, UInt64(r) << 32 | UInt64(w))) { mix64($0, UInt64($1.bitPattern)) }
        case .reduced(let r, let arrived, let sums):
            return sums.reduce(arrived.reduce(mix64(10, UInt64(r))) { mix64($0, UInt64($1)) }) { mix64($0, UInt64($1.bitPattern)) }
        default: return stableHash(traceSummary)
        }
    }

    public var traceSummary: String {
        switch self {
        case .pull(let w, let c): return "pull w\(w) clock \(c)"
        case .parameters(let s, let v, _): return "parameters shard \(s) v\(v)"
        case .push(let w, let c, let r, _, _): return "push w\(w) clock \(c) read v\(r)"
        case .pushAck(let w, let c, let v): return "ack w\(w) clock \(c) v\(v)"
        case .readShard: return "read-shard"
        case .saveChunk(let p, let w, let o, let b): return "chunk \(p) by \(w) @\(o) +\(b.count)"
        case .commit(let p, let w, let l, _): return "commit \(p) by \(w) (\(l) bytes)"
        case .committed(let p): return "committed \(p)"
        case .commitRejected(let p): return "commit rejected \(p)"
        case .listCheckpoints(let p): return "list \(p)"
        case .checkpointList(let l): return "list: \(l.count) checkpoints"
        case .load(let p): return "load \(p)"
        case .loaded(let b): return "loaded \(b?.count ?? -1) bytes"
        case .submit(let j): return "submit \(j.name)"
        case .place(let j): return "place \(j.name)"
        case .start(let j): return "start \(j.name)"
        case .progress(let w, let c, let l, _): return "progress w\(w) clock \(c) eval loss \(l)"
        case .done(let w, let c): return "done w\(w) clock \(c)"
        case .reduceSubmit(let r, let w, _): return "all-reduce submit round \(r) w\(w)"
        case .reduceRead(let r): return "all-reduce read round \(r)"
        case .reduced(let r, let arrived, _): return "all-reduce round \(r): \(arrived.count) arrived"
        case .ping: return "ping"
        case .ok: return "ok"
        }
    }
}

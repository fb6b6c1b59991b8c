#if canImport(Glibc)
import Glibc
#endif

/// The kind of a traced event (`net.send`, `lock.acquire`, ...). Its code is a stable hash of
/// the name, computed once, so folding a kind into the fingerprint costs one integer mix.
public struct TraceKind: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let code: UInt64
    public init(_ name: String) {
        self.name = name
        code = stableHash(name)
    }
    public var description: String { name }
}

/// One traced event, as sinks and failure reports see it.
public struct TraceRecord: Sendable, Hashable {
    /// 0-based position among traced events of the run.
    public var index: UInt64
    public var time: Int64
    public var kind: String
    /// Node name, or `-` for kernel-level events.
    public var node: String
    /// The actor or process that acted (`ps-0/shard`, `lock-manager`, ...).
    public var actor: String
    /// A digest of the event's payload (what was sent, written, granted).
    public var payload: UInt64
    /// A readable one-line description.
    public var detail: String
    /// The run's fingerprint after folding this event.
    public var fingerprint: UInt64

    /// `12.345s ps-0 worker-1 net.send detail`
    public var line: String {
        "\(formatNanoseconds(time)) \(node) \(actor) \(kind) \(detail)"
    }
}

/// Receives every traced event of a run. Sinks write outside the simulation (files) and must
/// never feed anything back into it.
public protocol TraceSink: AnyObject {
    func record(_ record: TraceRecord)
    /// Called for each failure the run finds (the one that ends it, and those found beside it),
    /// when it is found. Not part of the fingerprint.
    func failure(_ outcome: Outcome, at time: Int64)
    /// Called once when the run ends.
    func finish(fingerprint: UInt64)
    /// Called when process `process` of `node` opens mailbox `mailbox` (its traffic is recorded
    /// under the mailbox's name), so that a viewer can put that traffic on the process's track.
    /// Not part of the fingerprint.
    func mailboxOpened(node: String, mailbox: String, process: String)
}

extension TraceSink {
    public func failure(_ outcome: Outcome, at time: Int64) {}
    public func mailboxOpened(node: String, mailbox: String, process: String) {}
}

/// The trace of one run: the rolling 64-bit fingerprint, a ring buffer of recent events for
/// failure reports, and optional sinks.
public final class Trace {
    /// The rolling fingerprint over every event so far (traced events, handler events, jobs).
    public var fingerprint: UInt64 { hot.pointee.fingerprint }
    /// Folded on every event: kept behind a pointer so the fold carries no exclusivity check.
    let hot: UnsafeMutablePointer<(fingerprint: UInt64, logging: Bool)>
    /// Number of traced (described) events.
    @exclusivity(unchecked) public private(set) var recordCount: UInt64 = 0
    /// Capacity of the ring of recent records; 0 turns it off.
    public let ringCapacity: Int
    @exclusivity(unchecked) private var ring: [TraceRecord] = []
    @exclusivity(unchecked) private var ringNext = 0
    @exclusivity(unchecked) private var sinks: [TraceSink] = []
    /// Per-event fingerprints, kept only by the determinism self-check.
    var digestLog: [UInt64]? { didSet { hot.pointee.logging = digestLog != nil } }
    @exclusivity(unchecked) var recordLog: [TraceRecord]?

    init(ringCapacity: Int) {
        self.ringCapacity = ringCapacity
        ring.reserveCapacity(ringCapacity)
        hot = .allocate(capacity: 1)
        hot.initialize(to: (0x5359_4E41_5053_454E, false))  // "SYNAPSEN"
    }

    deinit { hot.deallocate() }

    /// Whether anyone reads event details; when false, callers may skip building strings.
    public var wantsDetail: Bool { ringCapacity > 0 || !sinks.isEmpty || recordLog != nil }

    public func add(sink: TraceSink) { sinks.append(sink) }

    @inline(__always) func fold(_ value: UInt64) {
        hot.pointee.fingerprint = mix64(hot.pointee.fingerprint, value)
        if hot.pointee.logging { digestLog!.append(hot.pointee.fingerprint) }
    }

    func record(time: Int64, kind: TraceKind, node: String, actor: String, payload: UInt64, detail: () -> String) {
        var fingerprint = hot.pointee.fingerprint
        fingerprint = mix64(fingerprint, UInt64(bitPattern: time))
        fingerprint = mix64(fingerprint, kind.code)
        fingerprint = mix64(fingerprint, stableHash(node) ^ stableHash(actor) &* 31)
        fingerprint = mix64(fingerprint, payload)
        hot.pointee.fingerprint = fingerprint
        if digestLog != nil { digestLog!.append(fingerprint) }
        defer { recordCount += 1 }
        guard wantsDetail else { return }
        let record = TraceRecord(
            index: recordCount, time: time, kind: kind.name, node: node, actor: actor,
            payload: payload, detail: detail(), fingerprint: fingerprint)
        if ringCapacity > 0 {
            if ring.count < ringCapacity { ring.append(record) } else { ring[ringNext] = record }
            ringNext = (ringNext + 1) % ringCapacity
        }
        if recordLog != nil { recordLog!.append(record) }
        for sink in sinks { sink.record(record) }
    }

    /// The most recent records, oldest first.
    public var recent: [TraceRecord] {
        if ring.count < ringCapacity { return ring }
        return Array(ring[ringNext...] + ring[..<ringNext])
    }

    /// The most recent records that mention any of `names` as node or actor, oldest first.
    public func recent(involving names: [String], limit: Int = 20) -> [TraceRecord] {
        let matching = recent.filter { r in names.contains { r.node == $0 || r.actor == $0 || r.actor.hasPrefix($0 + "/") } }
        return Array(matching.suffix(limit))
    }

    func finish() {
        for sink in sinks { sink.finish(fingerprint: fingerprint) }
    }

    /// Tells the sinks which process opened a mailbox (outside the fingerprint and the records).
    func noteMailbox(node: String, mailbox: String, process: String) {
        for sink in sinks { sink.mailboxOpened(node: node, mailbox: mailbox, process: process) }
    }

    /// Tells the sinks of a failure found at `time`.
    func noteFailure(_ outcome: Outcome, at time: Int64) {
        for sink in sinks { sink.failure(outcome, at: time) }
    }
}

/// Escapes a string for a JSON document.
public func jsonEscaped(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// Hex with `0x` and 16 digits: how fingerprints are printed everywhere.
public func hex64(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}

/// Writes one JSON object per line: index, time, node, actor, kind, payload, detail, fingerprint.
public final class JSONLinesTraceSink: TraceSink {
    private let writer: OutputFile
    /// Why the file could not be written, after `finish` (nil: it was written in full).
    public private(set) var error: OutputFileError?
    public init(path: String) throws(OutputFileError) { writer = try OutputFile(path: path) }
    public func record(_ r: TraceRecord) {
        writer.write(
            "{\"i\":\(r.index),\"t_ns\":\(r.time),\"node\":\(jsonEscaped(r.node)),\"actor\":\(jsonEscaped(r.actor)),"
                + "\"kind\":\(jsonEscaped(r.kind)),\"payload\":\"\(hex64(r.payload))\",\"detail\":\(jsonEscaped(r.detail)),"
                + "\"fp\":\"\(hex64(r.fingerprint))\"}\n")
        records += 1
    }
    private var records: UInt64 = 0
    public func finish(fingerprint: UInt64) {
        writer.write("{\"end\":true,\"fingerprint\":\"\(hex64(fingerprint))\",\"records\":\(records)}\n")
        do { try writer.commit() } catch { self.error = error }
    }
}

/// Writes Chrome Trace Event JSON (the array form), which Perfetto UI and chrome://tracing open:
/// one process per node, one thread per actor, instant events at virtual microseconds.
public final class ChromeTraceSink: TraceSink {
    private let writer: OutputFile
    /// Why the file could not be written, after `finish` (nil: it was written in full).
    public private(set) var error: OutputFileError?
    private var processIDs: [String: Int] = [:]
    private var threadIDs: [String: Int] = [:]
    /// The processes started on each node, in order (from `process.start` records).
    private var processesByNode: [String: [String]] = [:]
    /// `node/mailbox` -> the process that opened it.
    private var mailboxOwners: [String: String] = [:]
    private var first = true

    public init(path: String) throws(OutputFileError) {
        writer = try OutputFile(path: path)
        writer.write("[\n")
    }

    private func emit(_ object: String) {
        writer.write(first ? object : ",\n" + object)
        first = false
    }

    private func processID(_ node: String) -> Int {
        if let id = processIDs[node] { return id }
        let id = processIDs.count + 1
        processIDs[node] = id
        emit("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":\(id),\"tid\":0,\"args\":{\"name\":\(jsonEscaped(node))}}")
        return id
    }

    private func threadID(_ actor: String, pid: Int) -> Int {
        let key = "\(pid)/\(actor)"
        if let id = threadIDs[key] { return id }
        let id = threadIDs.count + 1
        threadIDs[key] = id
        emit("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":\(pid),\"tid\":\(id),\"args\":{\"name\":\(jsonEscaped(actor))}}")
        return id
    }

    /// The envelope number a network record starts with (`#123 ...`).
    private func envelopeID(_ detail: String) -> Int? {
        guard detail.hasPrefix("#") else { return nil }
        return Int(detail.dropFirst().prefix { $0.isNumber })
    }

    private func timestamp(_ time: Int64) -> String {
        let micros = time / 1000, fraction = time % 1000
        return "\(micros).\(fraction < 10 ? "00\(fraction)" : (fraction < 100 ? "0\(fraction)" : "\(fraction)"))"
    }

    public func record(_ r: TraceRecord) {
        let pid = processID(r.node)
        let ts = timestamp(r.time)
        let args = "\"args\":{\"detail\":\(jsonEscaped(r.detail)),\"i\":\(r.index)}"
        switch r.kind {
        case "net.send", "net.deliver":
            // A 1 ns slice with a flow arrow from the send to its delivery (flows bind to slices).
            // A delivery (and a reply's send) is recorded under its mailbox's name (`http`); it
            // goes on the track of the process that opened the mailbox (or, on a node that runs
            // one process, on that process's), so one actor is one track.
            let only = processesByNode[r.node].flatMap { $0.count == 1 ? $0.first : nil }
            let tid = threadID(mailboxOwners["\(r.node)/\(r.actor)"] ?? only ?? r.actor, pid: pid)
            emit("{\"name\":\(jsonEscaped(r.kind)),\"cat\":\"net\",\"ph\":\"X\",\"dur\":0.001,\"ts\":\(ts),\"pid\":\(pid),\"tid\":\(tid),\(args)}")
            if let id = envelopeID(r.detail) {
                let phase = r.kind == "net.send" ? "\"ph\":\"s\"" : "\"ph\":\"f\",\"bp\":\"e\""
                emit("{\"name\":\"message\",\"cat\":\"flow\",\(phase),\"id\":\(id),\"ts\":\(ts),\"pid\":\(pid),\"tid\":\(tid)}")
            }
        case "lock.acquire", "lock.release":
            // One "locks" track per node (lock owners are often one-shot tasks), and each hold as
            // a span from its grant to its release, keyed by the grant's token.
            let tid = threadID("locks", pid: pid)
            let resource = r.detail.split(separator: " ").first.map(String.init) ?? "?"
            emit("{\"name\":\(jsonEscaped(r.kind)),\"cat\":\"lock\",\"ph\":\"i\",\"s\":\"t\",\"ts\":\(ts),\"pid\":\(pid),\"tid\":\(tid),"
                + "\"args\":{\"owner\":\(jsonEscaped(r.actor)),\"detail\":\(jsonEscaped(r.detail)),\"i\":\(r.index)}}")
            emit("{\"name\":\(jsonEscaped("hold " + resource)),\"cat\":\"lock\",\"ph\":\"\(r.kind == "lock.acquire" ? "b" : "e")\",\"id\":\(r.payload),"
                + "\"ts\":\(ts),\"pid\":\(pid),\"tid\":\(tid),\"args\":{\"owner\":\(jsonEscaped(r.actor))}}")
        default:
            if r.kind == "process.start", !(processesByNode[r.node]?.contains(r.actor) ?? false) { processesByNode[r.node, default: []].append(r.actor) }
            let tid = threadID(r.actor, pid: pid)
            emit("{\"name\":\(jsonEscaped(r.kind)),\"cat\":\"sim\",\"ph\":\"i\",\"s\":\"t\",\"ts\":\(ts),\"pid\":\(pid),\"tid\":\(tid),\(args)}")
        }
    }

    public func mailboxOpened(node: String, mailbox: String, process: String) {
        if mailbox != process { mailboxOwners["\(node)/\(mailbox)"] = process }
    }

    /// The failure as a global event, a line across every track at the moment it was found.
    public func failure(_ outcome: Outcome, at time: Int64) {
        let name = "failure: \(outcome.kind)" + (outcome.checker.map { " [\($0)]" } ?? "")
        emit("{\"name\":\(jsonEscaped(name)),\"cat\":\"failure\",\"ph\":\"i\",\"s\":\"g\",\"ts\":\(timestamp(time)),\"pid\":0,\"tid\":0,"
            + "\"args\":{\"outcome\":\(jsonEscaped(String(describing: outcome)))}}")
    }

    public func finish(fingerprint: UInt64) {
        writer.write("\n]\n")
        do { try writer.commit() } catch { self.error = error }
    }
}

/// Keeps every record in memory (reports, tests). Bounded: past `limit` records it keeps the
/// first `limit / 2` and the most recent ones, and counts what it dropped.
public final class RecordingTraceSink: TraceSink {
    public private(set) var records: [TraceRecord] = []
    public private(set) var dropped = 0
    public private(set) var finalFingerprint: UInt64?
    let limit: Int
    public init(limit: Int = 200_000) { self.limit = limit }
    public func record(_ record: TraceRecord) {
        if records.count >= limit {
            records.remove(at: limit / 2)
            dropped += 1
        }
        records.append(record)
    }
    public func finish(fingerprint: UInt64) { finalFingerprint = fingerprint }
}

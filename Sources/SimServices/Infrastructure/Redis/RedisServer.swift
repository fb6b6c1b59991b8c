import SimKernel

/// Redis commands the simulated server understands.
public enum RedisCommand: Hashable, Sendable, Codable {
    case get(String)
    /// `SET key value [NX] [PX ms]`.
    case set(String, String, onlyIfAbsent: Bool, expireMs: Int64?)
    case del(String)
    /// Lock release: delete `key` only if its value is `token` (the Lua compare-and-delete).
    case compareAndDelete(String, token: String)
    case incr(String)
    case hset(String, field: String, value: String)
    case hget(String, field: String)
    /// `HLEN key`: the number of fields of a hash (0 when absent).
    case hlen(String)
    case pttl(String)
    /// `PEXPIRE key ms`: the key expires `ms` from now (1 when set, 0 when the key is absent).
    case pexpire(String, ms: Int64)
    /// Write `value` to `key` only with a fencing token at least as new as any seen for the key.
    case setFenced(String, String, token: UInt64)
    case publish(channel: String, message: String)
    /// Subscribe the caller's address to `channel`; messages arrive as `RedisReply.message`.
    case subscribe(channel: String, subscriber: Address)
    /// What a cluster-mode client sends first (`CLUSTER SLOTS`).
    case clusterSlots
    /// Several commands in one round trip, run in order (a client-side pipeline: not a
    /// transaction, each command succeeds or fails alone). Answered with `.replies`.
    case pipeline([RedisCommand])
}

/// Replies of the server.
public enum RedisReply: Hashable, Sendable, Codable {
    case ok
    case null
    case string(String)
    case integer(Int64)
    case error(RedisError)
    case message(channel: String, message: String)
    /// The replies of a `.pipeline`, in order.
    case replies([RedisReply])
}

/// Typed errors.
public enum RedisError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    case wrongType(String)
    case invalidKey(String)
    case valueTooLarge(Int)
    case notAnInteger(String)
    case staleFencingToken(key: String, token: UInt64, highest: UInt64)
    /// The client runs in cluster mode against a standalone server (the brief's L7).
    case clusterSupportDisabled

    public var description: String {
        switch self {
        case .wrongType(let k): return "WRONGTYPE Operation against a key holding the wrong kind of value: \(k)"
        case .invalidKey(let k): return "ERR invalid key '\(k.prefix(40))'"
        case .valueTooLarge(let n): return "ERR value of \(n) bytes exceeds the limit"
        case .notAnInteger(let k): return "ERR value is not an integer or out of range: \(k)"
        case .staleFencingToken(let k, let t, let h): return "ERR fencing token \(t) for \(k) is older than \(h)"
        case .clusterSupportDisabled: return "ERR This instance has cluster support disabled"
        }
    }
}

public enum RedisMessage: SimMessage {
    case command(RedisCommand)
    case reply(RedisReply)
    public var wireSize: Int {
        switch self {
        case .command(.pipeline(let commands)): return 64 * Swift.max(1, commands.count)
        case .reply(.replies(let replies)): return 64 * Swift.max(1, replies.count)
        default: return 64
        }
    }
    public var traceDigest: UInt64 { stableHash(traceSummary) }
    /// Written out by hand: printing enums by reflection costs more than the simulation itself.
    public var traceSummary: String {
        switch self {
        case .command(let command):
            switch command {
            case .get(let k): return "GET \(k)"
            case .set(let k, let v, let nx, let px): return "SET \(k) \(v.prefix(32))\(nx ? " NX" : "")\(px.map { " PX \($0)" } ?? "")"
            case .del(let k): return "DEL \(k)"
            case .compareAndDelete(let k, let token): return "CAD \(k) \(token)"
            case .incr(let k): return "INCR \(k)"
            case .hset(let k, let f, let v): return "HSET \(k) \(f) \(v.prefix(32))"
            case .hget(let k, let f): return "HGET \(k) \(f)"
            case .hlen(let k): return "HLEN \(k)"
            case .pttl(let k): return "PTTL \(k)"
            case .pexpire(let k, let ms): return "PEXPIRE \(k) \(ms)"
            case .setFenced(let k, let v, let t): return "SETFENCED \(k) \(v.prefix(32)) token \(t)"
            case .publish(let c, let m): return "PUBLISH \(c) \(m.prefix(32))"
            case .subscribe(let c, let a): return "SUBSCRIBE \(c) \(a)"
            case .clusterSlots: return "CLUSTER SLOTS"
            case .pipeline(let commands): return "PIPELINE of \(commands.count)"
            }
        case .reply(let reply):
            switch reply {
            case .ok: return "OK"
            case .null: return "(nil)"
            case .string(let v): return "\"\(v.prefix(32))\""
            case .integer(let v): return "(integer) \(v)"
            case .error(let e): return e.description
            case .message(let c, let m): return "message \(c) \(m.prefix(32))"
            case .replies(let replies): return "\(replies.count) replies"
            }
        }
    }
}

/// When the append-only file is fsynced.
public enum AppendFsync: String, Hashable, Sendable, Codable {
    /// After every write command: nothing acknowledged is lost.
    case always
    /// Once a second: up to a second of writes lost on a crash.
    case everysec
    /// Never (left to the OS): everything since the last OS flush may be lost.
    case no
}

/// A standalone Redis: strings, hashes, TTLs on the node's clock (skew matters, as in real Redis),
/// `SET NX PX` locks and compare-and-delete release, fencing tokens, pub/sub, and an append-only
/// file replayed on restart with the chosen fsync policy.
public final class RedisServer {
    let context: ProcessContext
    let fsync: AppendFsync
    var strings: [String: String] = [:]
    var hashes: [String: [String: String]] = [:]
    /// Expiry instants on the node's local clock.
    var expiry: [String: Int64] = [:]
    var fences: [String: UInt64] = [:]
    var subscribers: [String: [Address]] = [:]
    static let maxKeyBytes = 512, maxValueBytes = 512 * 1024

    init(context: ProcessContext, fsync: AppendFsync) {
        self.context = context
        self.fsync = fsync
    }

    public static func run(fsync: AppendFsync = .always, context: ProcessContext) async {
        let server = RedisServer(context: context, fsync: fsync)
        server.replay()
        if fsync == .everysec {
            context.simulation.spawn {
                while true {
                    await context.sleep(for: .seconds(1))
                    try? context.disk.fsync("appendonly.aof")
                }
            }
        }
        let inbox = context.mailbox("redis")
        while true {
            let envelope = await inbox.receive()
            guard case .command(let command) = envelope.payload as? RedisMessage else { continue }
            let reply = server.execute(command, logging: true)
            context.reply(to: envelope, RedisMessage.reply(reply))
        }
    }

    func replay() {
        let decoder = RedisAppendOnlyFile()
        for payload in RecordLog.decodeAll((try? context.disk.readAll("appendonly.aof")) ?? []) {
            if let command = decoder.decode(payload) { _ = execute(command, logging: false) }
        }
    }

    func expired(_ key: String) -> Bool {
        guard let at = expiry[key] else { return false }
        if context.localTime >= at {
            strings[key] = nil
            hashes[key] = nil
            expiry[key] = nil
            return true
        }
        return false
    }

    func log(_ command: RedisCommand) {
        guard let payload = RedisAppendOnlyFile().encode(command) else { return }
        try? context.disk.append("appendonly.aof", RecordLog.encode(payload))
        if fsync == .always { try? context.disk.fsync("appendonly.aof"); context.disk.syncDirectory() }
    }

    func valid(_ key: String) -> RedisError? {
        key.isEmpty || key.utf8.count > RedisServer.maxKeyBytes || key.hasPrefix("__expire__") ? .invalidKey(key) : nil
    }

    func execute(_ command: RedisCommand, logging: Bool) -> RedisReply {
        switch command {
        case .get(let key):
            if let error = valid(key) { return .error(error) }
            _ = expired(key)
            if hashes[key] != nil { return .error(.wrongType(key)) }
            return strings[key].map { .string($0) } ?? .null
        case .set(let key, let value, let nx, let px):
            if !logging && key.hasPrefix("__expire__") {  // an expiry instant from the append-only file
                expiry[String(key.dropFirst(10))] = Int64(value)
                return .ok
            }
            if let error = valid(key) { return .error(error) }
            guard value.utf8.count <= RedisServer.maxValueBytes else { return .error(.valueTooLarge(value.utf8.count)) }
            _ = expired(key)
            if nx && (strings[key] != nil || hashes[key] != nil) { return .null }
            strings[key] = value
            hashes[key] = nil
            // Relative expiries are logged as absolute ones, so a replay does not extend them.
            expiry[key] = px.map { context.localTime + $0 * Nanos.millisecond }
            if logging { log(.set(key, value, onlyIfAbsent: false, expireMs: nil)); if let at = expiry[key] { log(.set("__expire__" + key, "\(at)", onlyIfAbsent: false, expireMs: nil)) } }
            return .ok
        case .del(let key):
            _ = expired(key)
            let existed = strings.removeValue(forKey: key) != nil || hashes.removeValue(forKey: key) != nil
            expiry[key] = nil
            if logging && existed { log(command) }
            return .integer(existed ? 1 : 0)
        case .compareAndDelete(let key, let token):
            _ = expired(key)
            guard strings[key] == token else { return .integer(0) }
            strings[key] = nil
            expiry[key] = nil
            if logging { log(.del(key)) }
            return .integer(1)
        case .incr(let key):
            if let error = valid(key) { return .error(error) }
            _ = expired(key)
            guard let current = Int64(strings[key] ?? "0") else { return .error(.notAnInteger(key)) }
            strings[key] = "\(current + 1)"
            if logging { log(command) }
            return .integer(current + 1)
        case .hset(let key, let field, let value):
            if let error = valid(key) { return .error(error) }
            _ = expired(key)
            if strings[key] != nil { return .error(.wrongType(key)) }
            let added = hashes[key, default: [:]].updateValue(value, forKey: field) == nil
            if logging { log(command) }
            return .integer(added ? 1 : 0)
        case .hget(let key, let field):
            _ = expired(key)
            if strings[key] != nil { return .error(.wrongType(key)) }
            return hashes[key]?[field].map { .string($0) } ?? .null
        case .hlen(let key):
            _ = expired(key)
            if strings[key] != nil { return .error(.wrongType(key)) }
            return .integer(Int64(hashes[key]?.count ?? 0))
        case .pttl(let key):
            _ = expired(key)
            guard strings[key] != nil || hashes[key] != nil else { return .integer(-2) }
            guard let at = expiry[key] else { return .integer(-1) }
            return .integer((at - context.localTime) / Nanos.millisecond)
        case .pexpire(let key, let ms):
            if let error = valid(key) { return .error(error) }
            _ = expired(key)
            guard strings[key] != nil || hashes[key] != nil else { return .integer(0) }
            let at = context.localTime + ms * Nanos.millisecond
            expiry[key] = at
            // Logged as an absolute instant, as SET PX is, so a replay does not extend it.
            if logging { log(.set("__expire__" + key, "\(at)", onlyIfAbsent: false, expireMs: nil)) }
            return .integer(1)
        case .setFenced(let key, let value, let token):
            if let error = valid(key) { return .error(error) }
            let highest = fences[key] ?? 0
            guard token >= highest else { return .error(.staleFencingToken(key: key, token: token, highest: highest)) }
            fences[key] = token
            strings[key] = value
            if logging { log(command) }
            return .ok
        case .publish(let channel, let message):
            let receivers = subscribers[channel] ?? []
            for address in receivers { context.send(to: address, RedisMessage.reply(.message(channel: channel, message: message))) }
            return .integer(Int64(receivers.count))
        case .subscribe(let channel, let subscriber):
            if !(subscribers[channel] ?? []).contains(subscriber) { subscribers[channel, default: []].append(subscriber) }
            return .ok
        case .clusterSlots:
            return .error(.clusterSupportDisabled)
        case .pipeline(let commands):
            // Each command logs itself; a pipeline inside a pipeline is refused.
            return .replies(commands.map { command in
                if case .pipeline = command { return .error(.wrongType("a pipeline cannot hold a pipeline")) }
                return execute(command, logging: logging)
            })
        }
    }
}

/// The append-only file's record format: a write command as its name and arguments, one field
/// each (as Redis's own AOF writes RESP arrays). Only the writes `execute` logs have a form; a
/// replayed `__expire__` record restores an absolute expiry instant. (It was JSON, whose encoder
/// cost 2% of a run.)
struct RedisAppendOnlyFile {
    func encode(_ command: RedisCommand) -> [UInt8]? {
        func field(_ text: String) -> [UInt8] { Array(text.utf8) }
        switch command {
        case .set(let key, let value, false, nil): return Fields.join([field("SET"), field(key), field(value)])
        case .del(let key): return Fields.join([field("DEL"), field(key)])
        case .incr(let key): return Fields.join([field("INCR"), field(key)])
        case .hset(let key, let name, let value): return Fields.join([field("HSET"), field(key), field(name), field(value)])
        case .setFenced(let key, let value, let token): return Fields.join([field("SETFENCED"), field(key), field(value), field(String(token))])
        default: return nil
        }
    }

    func decode(_ bytes: [UInt8]) -> RedisCommand? {
        let fields = Fields.split(bytes).map { String(decoding: $0, as: UTF8.self) }
        switch (fields.first, fields.count) {
        case ("SET", 3): return .set(fields[1], fields[2], onlyIfAbsent: false, expireMs: nil)
        case ("DEL", 2): return .del(fields[1])
        case ("INCR", 2): return .incr(fields[1])
        case ("HSET", 4): return .hset(fields[1], field: fields[2], value: fields[3])
        case ("SETFENCED", 4): return UInt64(fields[3]).map { .setFenced(fields[1], fields[2], token: $0) }
        default: return nil
        }
    }
}

import Foundation
enum JSONCoding {
    nonisolated(unsafe) static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
    nonisolated(unsafe) static let decoder = JSONDecoder()
}

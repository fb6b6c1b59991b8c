import SimKernel

/// A health check of a registered instance.
public enum ConsulCheck: Hashable, Sendable, Codable {
    /// The instance must call `pass` at least every `ttl` ns, or the check goes critical.
    case ttl(Int64)
    /// Consul pings the instance's `control` address every `interval` ns; no answer in time: critical.
    case probe(interval: Int64, timeout: Int64)
}

/// A registered service instance.
public struct ServiceInstance: Hashable, Sendable, Codable {
    public var id: String
    public var service: String
    public var address: Address
    public var check: ConsulCheck?
}

public enum ConsulRequest: Hashable, Sendable, Codable {
    case register(ServiceInstance)
    case deregister(id: String)
    case pass(id: String)
    /// Instances of `service` whose check passes (instances without a check count as passing).
    case health(service: String)
    case sessionCreate(checks: [String], ttl: Int64?, lockDelay: Int64)
    case sessionRenew(String)
    case sessionDestroy(String)
    case kvGet(String)
    /// Put; with `cas` only when the key's modify index equals it (0: only if absent).
    case kvPut(String, String, cas: UInt64?)
    case kvAcquire(String, String, session: String)
    case kvRelease(String, session: String)
}

public enum ConsulReply: Hashable, Sendable, Codable {
    case ok
    case bool(Bool)
    case instances([ServiceInstance])
    case session(String)
    case value(String?, modifyIndex: UInt64, session: String?)
    case error(ConsulError)
}

public enum ConsulError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    case unknownCheck(String)
    case unknownSession(String)
    case invalidRegistration(String)
    public var description: String {
        switch self {
        case .unknownCheck(let c): return "unknown check \(c)"
        case .unknownSession(let s): return "session \(s) not found (invalidated or destroyed)"
        case .invalidRegistration(let why): return "invalid registration: \(why)"
        }
    }
}

public enum ConsulMessage: SimMessage {
    case request(ConsulRequest)
    case reply(ConsulReply)
    /// The frequent messages (TTL passes, health look-ups and their answers) are digested from their
    /// fields; the rest from their summary.
    public var traceDigest: UInt64 {
        switch self {
        case .request(.pass(let id)): return mix64(0x10, stableHash(id))
        case .request(.health(let service)): return mix64(0x11, stableHash(service))
        case .request(.sessionRenew(let id)): return mix64(0x12, stableHash(id))
        case .reply(.ok): return 0x20
        case .reply(.bool(let b)): return b ? 0x21 : 0x22
        case .reply(.instances(let list)): return list.reduce(UInt64(0x23)) { mix64($0, stableHash($1.id) ^ UInt64($1.address.node.index) << 32) }
        default: return stableHash(traceSummary)
        }
    }
    /// Written out by hand: printing enums by reflection costs more than the simulation itself.
    public var traceSummary: String {
        switch self {
        case .request(let request):
            switch request {
            case .register(let i): return "register \(i.service)/\(i.id) at \(i.address)\(i.check == nil ? " without check" : "")"
            case .deregister(let id): return "deregister \(id)"
            case .pass(let id): return "pass \(id)"
            case .health(let service): return "health \(service)"
            case .sessionCreate(let checks, let ttl, let delay): return "session-create checks \(checks.joined(separator: ",")) ttl \(ttl ?? 0) lock-delay \(delay)"
            case .sessionRenew(let id): return "session-renew \(id)"
            case .sessionDestroy(let id): return "session-destroy \(id)"
            case .kvGet(let key): return "kv-get \(key)"
            case .kvPut(let key, let value, let cas): return "kv-put \(key)=\(value) cas \(cas.map(String.init) ?? "-")"
            case .kvAcquire(let key, let value, let session): return "kv-acquire \(key)=\(value) by \(session)"
            case .kvRelease(let key, let session): return "kv-release \(key) by \(session)"
            }
        case .reply(let reply):
            switch reply {
            case .ok: return "ok"
            case .bool(let b): return b ? "true" : "false"
            case .instances(let list): return "instances [\(list.map(\.id).joined(separator: ","))]"
            case .session(let id): return "session \(id)"
            case .value(let value, let index, let session): return "value \(value ?? "-") index \(index) session \(session ?? "-")"
            case .error(let error): return "error \(error.description)"
            }
        }
    }
}

/// Consul's catalog, health checks, sessions and KV on one server. Every change is made durable
/// (a snapshot of the state, fsynced, as Raft's log would be) before it is answered, so a restart
/// brings the catalog, the KV store and the sessions back; check and session timers restart then.
/// Sessions are invalidated when a bound check goes critical, the TTL runs out
/// (renewed by `sessionRenew`), or they are destroyed; their locks are released and the keys stay
/// blocked for the lock-delay.

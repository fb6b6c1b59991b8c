import SimKernel

/// A typed Redis client with deadlines and bounded retries. In cluster mode it first asks for the
/// slot map, as cluster clients do; a standalone server refuses (the brief's L7).
public struct RedisClient: Sendable {
    public let server: Address
    public var clusterMode = false
    public var timeout: Int64 = 200 * Nanos.millisecond
    public var retries = 2

    public init(server: Address, clusterMode: Bool = false) {
        self.server = server
        self.clusterMode = clusterMode
    }

    public typealias Failure = InfraFailure<RedisError>

    /// Runs one command (retried after timeouts only when `idempotent`).
    public func run(_ command: RedisCommand, context: ProcessContext, idempotent: Bool = true) async -> Result<RedisReply, Failure> {
        if clusterMode {
            switch await context.infraCall(server, RedisMessage.command(.clusterSlots), as: RedisMessage.self, component: "redis", timeout: timeout, retries: retries) {
            case .success(.reply(.error(let error))): return .failure(.server(error))
            case .failure(let timeout): return .failure(.timeout(timeout))
            default: break
            }
        }
        switch await context.infraCall(server, RedisMessage.command(command), as: RedisMessage.self, component: "redis", timeout: timeout, retries: idempotent ? retries : 0) {
        case .success(.reply(.error(let error))): return .failure(.server(error))
        case .success(.reply(let reply)): return .success(reply)
        case .success(.command): return .failure(.server(.wrongType("unexpected reply")))
        case .failure(let timeout): return .failure(.timeout(timeout))
        }
    }

    /// `SET key token NX PX ttl`: true when the lock was taken.
    public func lock(_ key: String, token: String, ttlMs: Int64, context: ProcessContext) async -> Result<Bool, Failure> {
        await run(.set(key, token, onlyIfAbsent: true, expireMs: ttlMs), context: context, idempotent: false).map { $0 == .ok }
    }

    /// Releases a lock only if it is still ours (compare-and-delete of our token).
    public func unlock(_ key: String, token: String, context: ProcessContext) async -> Result<Bool, Failure> {
        await run(.compareAndDelete(key, token: token), context: context).map { $0 == .integer(1) }
    }
}

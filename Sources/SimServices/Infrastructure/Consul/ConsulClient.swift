import SimKernel

/// A typed Consul client with deadlines and bounded retries.
public struct ConsulClient: Sendable {
    public let server: Address
    public var timeout: Int64 = 200 * Nanos.millisecond
    public var retries = 2
    public init(server: Address) { self.server = server }

    public func request(_ request: ConsulRequest, context: ProcessContext) async -> Result<ConsulReply, InfraTimeout> {
        await context.infraCall(server, ConsulMessage.request(request), as: ConsulMessage.self, component: "consul", timeout: timeout, retries: retries).map {
            if case .reply(let reply) = $0 { return reply }
            return .error(.invalidRegistration("unexpected reply"))
        }
    }

    /// Passing instances of `service`.
    public func healthy(_ service: String, context: ProcessContext) async -> Result<[ServiceInstance], InfraTimeout> {
        await request(.health(service: service), context: context).map {
            if case .instances(let list) = $0 { return list }
            return []
        }
    }
}

/// A service's inbox on a node: delivered messages wait here until a process receives them.
/// A mailbox belongs to one epoch of its node; after a crash it is closed and a restarted
/// process opens a new one.
public final class Mailbox {
    public let address: Address
    let node: Node
    let epoch: UInt64
    @exclusivity(unchecked) var queue = RingQueue<Envelope>(capacity: 16)
    @exclusivity(unchecked) var waiters: [(id: UInt64, continuation: UnsafeContinuation<Envelope?, Never>, timer: TimerID?)] = []
    @exclusivity(unchecked) var nextWaiterID: UInt64 = 0
    unowned let simulation: Simulation

    init(address: Address, node: Node, epoch: UInt64, simulation: Simulation) {
        self.address = address
        self.node = node
        self.epoch = epoch
        self.simulation = simulation
    }

    /// Open while the process epoch that made it is alive.
    public var isOpen: Bool { node.epoch == epoch && node.state != .crashed }

    /// Messages delivered and not yet received.
    public var pendingCount: Int { queue.count }

    func put(_ envelope: Envelope) {
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            if let timer = waiter.timer { simulation.cancel(timer) }
            node.deliver(epoch: epoch) { waiter.continuation.resume(returning: envelope) }
        } else {
            queue.append(envelope)
        }
    }

    /// The next message, waiting as long as it takes.
    public func receive() async -> Envelope {
        // A receive without timeout returns nil never: only the timeout path resumes with nil.
        await receive(timeout: nil)!
    }

    /// The next message, or nil when none arrives within `timeout` ns of virtual time.
    public func receive(timeout: Int64?) async -> Envelope? {
        if let envelope = queue.popFirst() { return envelope }
        let node = self.node, epoch = self.epoch, simulation = self.simulation
        return await withUnsafeContinuation { (continuation: UnsafeContinuation<Envelope?, Never>) in
            guard node.epoch == epoch else { return }  // dead process: never resumes
            nextWaiterID += 1
            let id = nextWaiterID
            var timer: TimerID?
            if let timeout {
                timer = simulation.schedule(after: Swift.max(0, timeout)) { [unowned self] in
                    guard let index = self.waiters.firstIndex(where: { $0.id == id }) else { return }
                    self.waiters.remove(at: index)
                    node.deliver(epoch: epoch) { continuation.resume(returning: nil) }
                }
            }
            waiters.append((id, continuation, timer))
        }
    }
}

/// An RPC failed.
public enum RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No reply within the deadline (the request or the reply was lost, or the server is slow).
    case timeout(to: Address, after: Int64)
    /// The reply was not of the expected type.
    case unexpectedReply(to: Address, got: String)

    public var description: String {
        switch self {
        case .timeout(let to, let after): return "RPC to \(to) timed out after \(formatNanoseconds(after))"
        case .unexpectedReply(let to, let got): return "RPC to \(to): unexpected reply \(got)"
        }
    }
}

/// A request waiting for its reply.
final class PendingCall {
    let correlation: UInt64
    let node: Node
    let epoch: UInt64
    let continuation: UnsafeContinuation<Result<Envelope, RPCError>, Never>
    var timer: TimerID?
    unowned let network: Network

    init(correlation: UInt64, node: Node, epoch: UInt64, continuation: UnsafeContinuation<Result<Envelope, RPCError>, Never>, network: Network) {
        self.correlation = correlation
        self.node = node
        self.epoch = epoch
        self.continuation = continuation
        self.network = network
    }

    func complete(_ result: Result<Envelope, RPCError>) {
        guard network.pendingCalls.removeValue(forKey: correlation) != nil else { return }
        if let timer { network.simulation.cancel(timer) }
        let continuation = self.continuation
        node.deliver(epoch: epoch) { continuation.resume(returning: result) }
    }
}

extension ProcessContext {
    /// The address of `service` on this process's node.
    public func address(_ service: String) -> Address { Address(node: node.id, service: service) }

    /// Opens (or reopens, after a restart) the mailbox of `service` on this node.
    public func mailbox(_ service: String) -> Mailbox {
        let address = self.address(service)
        let network = simulation.network
        if let existing = network.mailboxes[address], existing.epoch == epoch { return existing }
        let mailbox = Mailbox(address: address, node: node, epoch: epoch, simulation: simulation)
        network.mailboxes[address] = mailbox
        simulation.trace.noteMailbox(node: node.name, mailbox: service, process: name)
        return mailbox
    }

    /// Sends a one-way message from this process (as service `from`, default the process name).
    @discardableResult
    public func send(to: Address, _ payload: any SimMessage, from service: String? = nil) -> UInt64 {
        guard isAlive else { return 0 }
        return simulation.network.send(from: address(service ?? name), to: to, payload)
    }

    /// Sends `request` to `to` and waits for the reply, at most `timeout` ns of virtual time.
    public func call(_ to: Address, _ request: any SimMessage, timeout: Int64) async -> Result<Envelope, RPCError> {
        let network = simulation.network, node = self.node, epoch = self.epoch, simulation = self.simulation
        let from = address(name)
        return await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<Envelope, RPCError>, Never>) in
            guard node.epoch == epoch else { return }  // dead process: never resumes
            network.nextCorrelation += 1
            let correlation = network.nextCorrelation
            let call = PendingCall(correlation: correlation, node: node, epoch: epoch, continuation: continuation, network: network)
            network.pendingCalls[correlation] = call
            call.timer = simulation.schedule(after: timeout) {
                simulation.record(.rpcTimeout, node: node.name, actor: from.service, payload: correlation, "to \(to) after \(formatNanoseconds(timeout))")
                call.complete(.failure(.timeout(to: to, after: timeout)))
            }
            network.send(from: from, to: to, request, kind: .request(correlation: correlation))
        }
    }

    /// Sends `request` and returns the reply payload as `Reply`.
    public func call<Reply: SimMessage>(_ to: Address, _ request: any SimMessage, timeout: Int64, as type: Reply.Type) async throws(RPCError) -> Reply {
        let envelope = try await call(to, request, timeout: timeout).get()
        guard let reply = envelope.payload as? Reply else {
            throw .unexpectedReply(to: to, got: String(describing: Swift.type(of: envelope.payload)))
        }
        return reply
    }

    /// Answers a request received in a mailbox.
    public func reply(to request: Envelope, _ payload: any SimMessage) {
        guard isAlive, case .request(let correlation) = request.kind else { return }
        simulation.network.send(from: request.to, to: request.from, payload, kind: .reply(correlation: correlation))
    }
}

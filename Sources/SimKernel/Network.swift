import Synchronization
/// Where a message goes: a service (a named mailbox) on a node.
public struct Address: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var node: NodeID
    public var service: String
    public init(node: NodeID, service: String) {
        self.node = node
        self.service = service
    }
    public static func < (a: Address, b: Address) -> Bool { (a.node, a.service) < (b.node, b.service) }
    public var description: String { "\(node)/\(service)" }
}

/// A message payload. Messages are typed values, never encoded bytes; `wireSize` stands for the
/// encoded size, and `traceDigest`/`traceSummary` describe the message to the trace. The default
/// digest covers the content (`contentDigest`: two messages of one type that differ in any field
/// differ in the fingerprint); override it with a hand-written digest where sends are frequent,
/// since reflection is slow.
public protocol SimMessage: Sendable {
    var wireSize: Int { get }
    var traceDigest: UInt64 { get }
    var traceSummary: String { get }
}

extension SimMessage {
    public var wireSize: Int { 64 }
    public var traceDigest: UInt64 { contentDigest(self) }
    public var traceSummary: String { String(describing: Self.self) }
}

/// A digest of `value`'s content that is the same in every process: its type's name, then its
/// fields by reflection in declaration order with their labels; the elements of a dictionary or
/// a set combined without regard to order (their iteration order differs between processes);
/// values without fields (numbers, strings, enum cases without payload) by their description.
/// Classes are walked like structures, `depth` levels deep at most (a cycle ends there).
public func contentDigest(_ value: Any, depth: Int = 16) -> UInt64 {
    let mirror = Mirror(reflecting: value)
    let typeDigest = typeNameDigest(type(of: value))
    guard depth > 0, !mirror.children.isEmpty else { return mix64(typeDigest, stableHash(String(describing: value))) }
    switch mirror.displayStyle {
    case .dictionary?, .set?:
        var sum: UInt64 = 0
        for child in mirror.children { sum &+= mix64(contentDigest(child.value, depth: depth - 1), 0x5E7) }
        return mix64(typeDigest, sum)
    default:
        var hash = typeDigest
        for child in mirror.children {
            hash = mix64(hash, stableHash(child.label ?? "") ^ contentDigest(child.value, depth: depth - 1))
        }
        return hash
    }
}

/// Digests of type names, computed once per type: formatting a type's name on every send was a
/// measurable share of a run. The digest depends on the name only, so sharing the cache between
/// simulations (and threads) cannot change a fingerprint.
private let typeNameDigests = Mutex<[ObjectIdentifier: UInt64]>([:])

/// The stable hash of `type`'s name (as `String(describing:)` writes it), cached per type.
public func typeNameDigest(_ type: Any.Type) -> UInt64 {
    let key = ObjectIdentifier(type)
    if let digest = typeNameDigests.withLock({ $0[key] }) { return digest }
    let digest = stableHash(String(describing: type))
    typeNameDigests.withLock { $0[key] = digest }
    return digest
}

extension String: SimMessage {
    public var wireSize: Int { utf8.count }
    public var traceDigest: UInt64 { stableHash(self) }
    public var traceSummary: String { self.count <= 60 ? self : String(self.prefix(57)) + "..." }
}

extension Int: SimMessage {
    public var wireSize: Int { 8 }
    public var traceDigest: UInt64 { UInt64(bitPattern: Int64(self)) }
    public var traceSummary: String { String(self) }
}

/// A message in flight or delivered.
public struct Envelope: Sendable {
    public enum Kind: Hashable, Sendable {
        case oneWay
        case request(correlation: UInt64)
        case reply(correlation: UInt64)
    }
    /// Unique per network, in send order.
    public var id: UInt64
    public var from: Address
    public var to: Address
    public var kind: Kind
    public var payload: any SimMessage
    public var sentAt: Int64
    /// True for the extra copy made by duplication.
    public var isDuplicate = false
    /// `payload.traceDigest`, computed once when the message is sent: its arrival records the same
    /// digest without hashing the body again.
    public internal(set) var payloadDigest: UInt64 = 0
}

/// Every fault knob of the network, with its unit; the defaults are a fault-free network.
public struct NetworkOptions: Hashable, Sendable, Codable {
    /// One-way latency of every link unless overridden per link (ns).
    public var latency: DurationDistribution = .uniform(min: 50 * Nanos.microsecond, max: 500 * Nanos.microsecond)
    /// Probability that a message is silently dropped.
    public var dropProbability: Ratio = .zero
    /// Probability that a message is delivered twice.
    public var duplicateProbability: Ratio = .zero
    /// Probability that a message is delayed by `reorderDelay` on top of its latency, so that later
    /// messages on the same link can overtake it.
    public var reorderProbability: Ratio = .zero
    /// Extra delay of a reordered message (ns).
    public var reorderDelay: DurationDistribution = .uniform(min: 0, max: 10 * Nanos.millisecond)

    public init() {}
}

/// Counters of what the network did.
public struct NetworkStatistics: Hashable, Sendable {
    public var sent = 0, delivered = 0, dropped = 0, duplicated = 0, reordered = 0
    public var blockedByPartition = 0, lostToCrashedNode = 0, lostNoListener = 0, held = 0
}

/// A directed link between two nodes.
struct Link: Hashable, Comparable {
    var from: Int
    var to: Int
    static func < (a: Link, b: Link) -> Bool { (a.from, a.to) < (b.from, b.to) }
}

/// The simulated network: typed messages between addresses, with per-link latency, drops,
/// duplicates, reordering, partitions (symmetric and one-way), clogging, and hold/release.
/// Every decision draws from the run's `network` stream.
public final class Network {
    unowned let simulation: Simulation
    @exclusivity(unchecked) public var options: NetworkOptions
    @exclusivity(unchecked) public private(set) var statistics = NetworkStatistics()
    @exclusivity(unchecked) var random: SimRandom
    @exclusivity(unchecked) var nextMessageID: UInt64 = 0
    @exclusivity(unchecked) var partitioned: Set<Link> = []
    /// How many partitions cut each link: overlapping partitions heal one at a time.
    @exclusivity(unchecked) var partitionCuts: [Link: Int] = [:]
    @exclusivity(unchecked) var clogged: [Link: Int64] = [:]
    @exclusivity(unchecked) var heldLinks: Set<Link> = []
    @exclusivity(unchecked) var heldMessages: [Link: [Envelope]] = [:]
    @exclusivity(unchecked) var linkLatency: [Link: DurationDistribution] = [:]
    @exclusivity(unchecked) var mailboxes: [Address: Mailbox] = [:]
    @exclusivity(unchecked) var pendingCalls: [UInt64: PendingCall] = [:]
    @exclusivity(unchecked) var nextCorrelation: UInt64 = 0
    /// When a pair's messages were last scheduled to arrive (FIFO per link unless reordered), in
    /// a square table by `from * arrivalStride + to` (0: none yet): a dictionary keyed by link
    /// hashed the pair twice on every send, a hundredth of a serving run.
    @exclusivity(unchecked) var lastArrivals: [Int64] = []
    @exclusivity(unchecked) var arrivalStride = 0

    /// `link`'s slot in `lastArrivals`, the table grown (its entries kept) to hold it.
    func arrivalSlot(_ link: Link) -> Int {
        let needed = Swift.max(link.from, link.to) + 1
        if needed > arrivalStride {
            let stride = Swift.max(needed, 2 * arrivalStride, 32)
            var table = [Int64](repeating: 0, count: stride * stride)
            for from in 0 ..< arrivalStride {
                for to in 0 ..< arrivalStride { table[from * stride + to] = lastArrivals[from * arrivalStride + to] }
            }
            lastArrivals = table
            arrivalStride = stride
        }
        return link.from * arrivalStride + link.to
    }

    init(simulation: Simulation) {
        self.simulation = simulation
        options = NetworkOptions()
        random = simulation.random(stream: "network")
    }

    // MARK: faults

    /// Cuts both directions between every node of `a` and every node of `b`.
    public func partition(_ a: [NodeID], _ b: [NodeID]) {
        for x in a {
            for y in b where x != y {
                for link in [Link(from: x.index, to: y.index), Link(from: y.index, to: x.index)] {
                    partitioned.insert(link)
                    partitionCuts[link, default: 0] += 1
                }
            }
        }
        simulation.record(.netPartition, actor: "network", payload: UInt64(a.count * 1000 + b.count),
                          "\(a.map(\.description).joined(separator: ",")) | \(b.map(\.description).joined(separator: ","))")
    }

    /// Cuts messages from `from` to `to` only; the reverse direction still works.
    public func partitionOneWay(from: NodeID, to: NodeID) {
        partitioned.insert(Link(from: from.index, to: to.index))
        simulation.record(.netPartition, actor: "network", payload: UInt64(from.index << 16 | to.index), "\(from) -> \(to) one-way")
    }

    /// Ends one partition made by `partition(a, b)`; links that another partition also cuts stay cut.
    public func heal(_ a: [NodeID], _ b: [NodeID]) {
        for x in a {
            for y in b where x != y {
                for link in [Link(from: x.index, to: y.index), Link(from: y.index, to: x.index)] {
                    let cuts = (partitionCuts[link] ?? 0) - 1
                    if cuts <= 0 {
                        partitionCuts[link] = nil
                        partitioned.remove(link)
                    } else {
                        partitionCuts[link] = cuts
                    }
                }
            }
        }
        simulation.record(.netHeal, actor: "network", payload: UInt64(a.count * 1000 + b.count),
                          "\(a.map(\.description).joined(separator: ",")) | \(b.map(\.description).joined(separator: ","))")
    }

    /// Removes every partition.
    public func healPartitions() {
        partitioned.removeAll()
        partitionCuts.removeAll()
        simulation.record(.netHeal, actor: "network")
    }

    /// Whether messages from `from` to `to` are cut.
    public func isPartitioned(from: NodeID, to: NodeID) -> Bool { partitioned.contains(Link(from: from.index, to: to.index)) }

    /// Clogs a link until virtual time `until`: its messages arrive no earlier than that.
    public func clog(from: NodeID, to: NodeID, until: Int64) {
        clogged[Link(from: from.index, to: to.index)] = until
        simulation.record(.netClog, actor: "network", payload: UInt64(bitPattern: until), "\(from) -> \(to) until \(formatNanoseconds(until))")
    }

    /// Holds every message on a link until `release`.
    public func hold(from: NodeID, to: NodeID) {
        heldLinks.insert(Link(from: from.index, to: to.index))
        simulation.record(.netHold, actor: "network", payload: UInt64(from.index << 16 | to.index), "\(from) -> \(to)")
    }

    /// Releases a held link: its held messages are delivered now, in the order they were sent.
    public func release(from: NodeID, to: NodeID) {
        let link = Link(from: from.index, to: to.index)
        heldLinks.remove(link)
        let messages = heldMessages.removeValue(forKey: link) ?? []
        simulation.record(.netRelease, actor: "network", payload: UInt64(messages.count), "\(from) -> \(to): \(messages.count) messages")
        for envelope in messages { scheduleArrival(envelope, at: simulation.now) }
    }

    /// Sets the latency distribution of one direction of a link.
    public func setLatency(from: NodeID, to: NodeID, _ distribution: DurationDistribution) {
        linkLatency[Link(from: from.index, to: to.index)] = distribution
    }

    // MARK: sending

    /// Sends a one-way message. Returns the envelope id.
    @discardableResult
    public func send(from: Address, to: Address, _ payload: any SimMessage, kind: Envelope.Kind = .oneWay) -> UInt64 {
        nextMessageID += 1
        var envelope = Envelope(id: nextMessageID, from: from, to: to, kind: kind, payload: payload, sentAt: simulation.now)
        envelope.payloadDigest = payload.traceDigest
        statistics.sent += 1
        let link = Link(from: from.node.index, to: to.node.index)
        let node = simulation.node(from.node).name
        simulation.record(.netSend, node: node, actor: from.service, payload: envelope.payloadDigest ^ envelope.id,
                          "#\(envelope.id) to \(to) \(payload.traceSummary)")
        // An address on no node (a platform whose topology lacks a role gets one): lost, as to a
        // machine that does not exist, where it used to trap when it arrived.
        if !simulation.nodeRegistry.nodes.indices.contains(to.node.index) {
            statistics.lostNoListener += 1
            simulation.record(.netDrop, node: node, actor: from.service, payload: envelope.id, "#\(envelope.id) no node \(to.node)")
            return envelope.id
        }
        if !partitioned.isEmpty && partitioned.contains(link) {  // most runs have no partition: skip the hash
            statistics.blockedByPartition += 1
            simulation.record(.netDrop, node: node, actor: from.service, payload: envelope.id, "#\(envelope.id) partitioned")
            return envelope.id
        }
        if random.chance(options.dropProbability) {
            statistics.dropped += 1
            simulation.record(.netDrop, node: node, actor: from.service, payload: envelope.id, "#\(envelope.id) dropped")
            return envelope.id
        }
        if !heldLinks.isEmpty && heldLinks.contains(link) {
            statistics.held += 1
            heldMessages[link, default: []].append(envelope)
            return envelope.id
        }
        scheduleArrival(envelope, at: arrivalTime(link))
        if random.chance(options.duplicateProbability) {
            statistics.duplicated += 1
            var copy = envelope
            copy.isDuplicate = true
            scheduleArrival(copy, at: arrivalTime(link))
        }
        return envelope.id
    }

    private func arrivalTime(_ link: Link) -> Int64 {
        let distribution = linkLatency.isEmpty ? options.latency : linkLatency[link] ?? options.latency
        var arrival = simulation.now &+ distribution.sample(&random)
        if let pct = simulation.pct { arrival &+= pct.delay(for: NodeID(link.from)) }
        if !clogged.isEmpty, let until = clogged[link] {
            if until > simulation.now { arrival = Swift.max(arrival, until) } else { clogged[link] = nil }
        }
        if random.chance(options.reorderProbability) {
            statistics.reordered += 1
            return arrival &+ options.reorderDelay.sample(&random)
        }
        // Without reordering a link is FIFO, like a TCP connection.
        let slot = arrivalSlot(link)
        arrival = Swift.max(arrival, lastArrivals[slot])
        lastArrivals[slot] = arrival
        return arrival
    }

    private func scheduleArrival(_ envelope: Envelope, at time: Int64) {
        simulation.schedule(at: time) { [unowned self] in self.arrive(envelope) }
    }

    private func arrive(_ envelope: Envelope) {
        let destination = simulation.node(envelope.to.node)
        let link = Link(from: envelope.from.node.index, to: envelope.to.node.index)
        if !partitioned.isEmpty && partitioned.contains(link) {  // most runs have no partition: skip the hash
            statistics.blockedByPartition += 1
            simulation.record(.netDrop, node: destination.name, actor: envelope.to.service, payload: envelope.id, "#\(envelope.id) partitioned in flight")
            return
        }
        guard destination.state != .crashed else {
            statistics.lostToCrashedNode += 1
            simulation.record(.netDrop, node: destination.name, actor: envelope.to.service, payload: envelope.id, "#\(envelope.id) node crashed")
            return
        }
        if case .reply(let correlation) = envelope.kind {
            guard let call = pendingCalls[correlation] else { return }  // late reply to a timed-out call
            statistics.delivered += 1
            simulation.record(.netDeliver, node: destination.name, actor: envelope.to.service, payload: envelope.payloadDigest ^ envelope.id,
                              "#\(envelope.id) reply from \(envelope.from)")
            call.complete(.success(envelope))
            return
        }
        guard let mailbox = mailboxes[envelope.to], mailbox.isOpen else {
            statistics.lostNoListener += 1
            simulation.record(.netDrop, node: destination.name, actor: envelope.to.service, payload: envelope.id, "#\(envelope.id) no listener")
            return
        }
        statistics.delivered += 1
        simulation.record(.netDeliver, node: destination.name, actor: envelope.to.service, payload: envelope.payloadDigest ^ envelope.id,
                          "#\(envelope.id) from \(envelope.from) \(envelope.payload.traceSummary)")
        mailbox.put(envelope)
    }
}

extension Simulation {
    /// The simulation's network (created on first use).
    public var network: Network {
        if let cachedNetwork { return cachedNetwork }
        let network = component(Network.self) { Network(simulation: self) }
        cachedNetwork = network
        return network
    }
}

extension TraceKind {
    public static let netSend = TraceKind("net.send")
    public static let netDeliver = TraceKind("net.deliver")
    public static let netDrop = TraceKind("net.drop")
    public static let netPartition = TraceKind("net.partition")
    public static let netHeal = TraceKind("net.heal")
    public static let netClog = TraceKind("net.clog")
    public static let netHold = TraceKind("net.hold")
    public static let netRelease = TraceKind("net.release")
    public static let rpcTimeout = TraceKind("rpc.timeout")
}

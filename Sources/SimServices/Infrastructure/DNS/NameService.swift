import SimKernel

/// The simulated network's addresses and DNS. Every node has an IPv4 address: the platform's nodes
/// (its services and infrastructure) are in the private 10.0.0.0/8 network, `client` nodes (the
/// customers, the internet) in the public 203.0.113.0/24; the platform assigns them in topology
/// order. Names resolve through records that a name's owner may change at any time (an attacker's
/// own zone, with a TTL of 0, answers one address now and another the next time: DNS rebinding).
/// Resolution is a lookup in this table (the resolver's round trip is not modelled).
public final class NameService {
    private var addressOfNode: [String: HostAddress] = [:]
    private var nodeAtAddress: [HostAddress: String] = [:]
    private var records: [String: HostAddress] = [:]
    private var nextInternal: UInt32 = 0x0A00_0002  // 10.0.0.2
    private var nextExternal: UInt32 = 0xCB00_7102  // 203.0.113.2
    /// Record changes, in order: (true time, name, address).
    public private(set) var changes: [(at: Int64, name: String, address: HostAddress)] = []

    public init() {}

    /// Gives `node` the next address of its network.
    public func assign(node: String, external: Bool) {
        guard addressOfNode[node] == nil else { return }
        let address = HostAddress.v4(external ? nextExternal : nextInternal)
        if external { nextExternal += 1 } else { nextInternal += 1 }
        addressOfNode[node] = address
        nodeAtAddress[address] = node
    }

    public func address(of node: String) -> HostAddress? { addressOfNode[node] }
    public func node(at address: HostAddress) -> String? { nodeAtAddress[address] }

    /// Points `name` at `address` from now on (the owner of the name's zone does this).
    public func set(_ name: String, to address: HostAddress, at time: Int64) {
        records[Self.canonical(name)] = address
        changes.append((time, Self.canonical(name), address))
    }

    /// The address `host` names now: a literal in any spelling, localhost, a node's own name, or a record.
    public func resolve(_ host: String) -> HostAddress? {
        if let fixed = HostAddress.fixed(host) { return fixed }
        let name = Self.canonical(host)
        return records[name] ?? addressOfNode[name]
    }

    static func canonical(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }
}

extension Simulation {
    public var names: NameService { component(NameService.self) { NameService() } }
}

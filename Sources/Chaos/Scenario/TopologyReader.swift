import SimKernel
import SimServices
import Yams

/// Reads a scenario's `topology`: `platform: standard` (the nine infrastructure components and
/// the fifteen services, a node each) and/or a list of `nodes`, each with a name, a registered
/// role and its machine's options.
struct TopologyReader {
    let reader: FieldReader
    static let nodeKeys = ["name", "role", "crashable", "speed_percent", "memory_mib", "accelerator", "clock_offset_ms"]

    func topology(_ node: Yams.Node) throws(ScenarioError) -> Topology {
        var nodes: [NodeSpec] = []
        var lines: [Yams.Node] = []
        var standardNames: Set<String> = [], overridden: Set<String> = []
        for (key, value, _) in try reader.mapping(node, "topology", allowed: ["platform", "nodes"]) {
            switch key {
            case "platform":
                let text = try reader.string(value, "topology.platform")
                guard text == "standard" else { throw reader.fail(value, "topology.platform", "unknown platform '\(text)' (standard)") }
                nodes += Topology.standard.nodes
                standardNames.formUnion(Topology.standard.names)
                lines += Array(repeating: value, count: Topology.standard.nodes.count)
            default:
                for (i, item) in try reader.list(value, "topology.nodes").enumerated() {
                    let spec = try nodeSpec(item, field: "topology.nodes[\(i)]")
                    // A node of the standard platform listed again with the same role sets its
                    // machine's options (`{name: inference, role: inference, memory_mib: 32768}`).
                    if let standard = nodes.firstIndex(where: { $0.name == spec.name }), standardNames.contains(spec.name),
                       Topology.standard.node(spec.name)?.role == spec.role, overridden.insert(spec.name).inserted {
                        nodes[standard] = spec
                        continue
                    }
                    nodes.append(spec)
                    lines.append(item)
                }
            }
        }
        guard !nodes.isEmpty else { throw reader.fail(node, "topology", "no nodes") }
        var seen: Set<String> = []
        for (spec, line) in zip(nodes, lines) where !seen.insert(spec.name).inserted {
            throw reader.fail(line, "topology", "node '\(spec.name)' is listed twice")
        }
        let topology = Topology(nodes: nodes)
        // Services may have replicas (several nodes of one service role: each registers in Consul
        // as its own instance and the gateway spreads requests over the passing ones); the
        // gateway, the clients' entry point, and each infrastructure component have one node.
        for (spec, line) in zip(nodes, lines) where topology.nodes(role: spec.role).count > 1 {
            let names = topology.nodes(role: spec.role).map(\.name).joined(separator: " and ")
            if Topology.infrastructure.contains(where: { $0.role == spec.role }) {
                throw reader.fail(line, "topology", "role '\(spec.role)' is played by \(names): an infrastructure component has one node")
            }
            if let why = PlatformRoles.singleNodeServices[spec.role] {
                throw reader.fail(line, "topology", "role '\(spec.role)' is played by \(names): \(why)")
            }
        }
        for (spec, line) in zip(nodes, lines) where PlatformRoles.needsInfrastructure(spec.role) {
            if let missing = Topology.infrastructure.first(where: { !topology.has(role: $0.role) }) {
                throw reader.fail(line, "topology", "\(spec.name) (\(spec.role)) needs the infrastructure role '\(missing.role)', which no node plays")
            }
        }
        for (spec, line) in zip(nodes, lines) where spec.role == "parameter_server" || spec.role == "trainer" {
            if let missing = ["training", "scheduler", "storage"].first(where: { !topology.has(role: $0) }) {
                throw reader.fail(line, "topology", "\(spec.name) (\(spec.role)) needs the '\(missing)' service in the topology")
            }
            if !topology.has(role: spec.role == "trainer" ? "parameter_server" : "trainer") {
                throw reader.fail(line, "topology", "a training cluster needs at least one parameter_server and one trainer")
            }
        }
        return topology
    }

    func nodeSpec(_ item: Yams.Node, field: String) throws(ScenarioError) -> NodeSpec {
        var name: String?, role: String?
        var spec = NodeSpec(name: "", role: "")
        for (key, value, _) in try reader.mapping(item, field, allowed: Self.nodeKeys) {
            let path = "\(field).\(key)"
            switch key {
            case "name":
                let text = try reader.string(value, path)
                guard !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw reader.fail(value, path, "a node name is letters, digits, '-' and '_'")
                }
                name = text
            case "role":
                let text = try reader.string(value, path)
                guard PlatformRoles.installers[text] != nil else {
                    throw reader.fail(value, path, "unknown role '\(text)' (known: \(PlatformRoles.names.joined(separator: ", ")))")
                }
                role = text
            case "crashable": spec.crashable = try reader.boolean(value, path)
            case "speed_percent": spec.speedPercent = Int(try reader.integer(value, path, in: 10 ... 1000))
            case "memory_mib": spec.memoryMiB = Int(try reader.integer(value, path, in: 16 ... 1 << 20))
            case "accelerator": spec.accelerator = try reader.boolean(value, path)
            default: spec.clockOffsetMs = try reader.integer(value, path, in: -3_600_000 ... 3_600_000)
            }
        }
        guard let name else { throw reader.fail(item, "\(field).name", "missing") }
        guard let role else { throw reader.fail(item, "\(field).role", "missing") }
        spec.name = name
        spec.role = role
        return spec
    }
}

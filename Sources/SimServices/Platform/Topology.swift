import SimKernel

/// One node of a platform: its name, the role it plays and its machine's options.
public struct NodeSpec: Hashable, Sendable, Codable {
    public var name: String
    /// A role registered in `PlatformRoles`: a service (`training`, `registry`...), an
    /// infrastructure component (`kafka`, `models_db`...), `parameter_server`, `trainer` or `client`.
    public var role: String
    /// Whether a fault profile may crash it.
    public var crashable = true
    /// Compute speed as a percentage of the reference machine's step time (trainers): 250 is slower.
    public var speedPercent = 100
    /// The node's memory budget in MiB (beyond it the kernel kills the node), nil for the default.
    public var memoryMiB: Int?
    /// Whether the node has an accelerator (inference falls back to the CPU without one).
    public var accelerator = false
    /// A fixed offset of the node's clock in ms (a skewed machine), besides any fault skew.
    public var clockOffsetMs: Int64 = 0

    public init(name: String, role: String, crashable: Bool = true) {
        self.name = name
        self.role = role
        self.crashable = crashable
    }
}

/// The nodes of a platform and what runs on each: one list of node names, read by the platform
/// builder, the scenario loader's validation, the nemesis and the report.
public struct Topology: Hashable, Sendable, Codable {
    public var nodes: [NodeSpec]

    public init(nodes: [NodeSpec]) { self.nodes = nodes }

    /// The nine infrastructure components, in start-up listing order: (node name, role).
    public static let infrastructure: [(node: String, role: String)] = [
        ("consul", "consul"), ("kafka", "kafka"), ("redis", "redis"), ("minio", "minio"), ("search", "search"),
        ("models-db", "models_db"), ("users-db", "users_db"), ("experiments-db", "experiments_db"), ("metrics-db", "metrics_db"),
    ]
    /// The fifteen services of the brief.
    public static let services = ["admin", "auth", "experiments", "features", "gateway", "inference", "models", "monitoring",
                                  "pipeline", "registry", "scheduler", "storage", "training", "webhooks", "workers"]

    /// The standard platform: the nine infrastructure components and the fifteen services, a node
    /// each. Consul is not crashable: it stands for a replicated Consul cluster, whose sessions
    /// survive the loss of one server.
    public static var standard: Topology {
        Topology(nodes: infrastructure.map { NodeSpec(name: $0.node, role: $0.role, crashable: $0.node != "consul") }
            + services.map { NodeSpec(name: $0, role: $0) })
    }

    public var names: [String] { nodes.map(\.name) }
    public var crashable: [String] { nodes.filter(\.crashable).map(\.name) }
    public func node(_ name: String) -> NodeSpec? { nodes.first { $0.name == name } }
    /// The nodes playing `role`, in topology order.
    public func nodes(role: String) -> [NodeSpec] { nodes.filter { $0.role == role } }
    public func has(role: String) -> Bool { nodes.contains { $0.role == role } }
    /// The services of the brief present in this topology.
    public var presentServices: [String] { Topology.services.filter { has(role: $0) } }
}

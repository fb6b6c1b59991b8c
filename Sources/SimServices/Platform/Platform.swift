import SimKernel

/// Where everything of a platform lives: the infrastructure, each service's HTTP address, and the
/// training cluster's nodes. Built by `Platform` from the topology.
public struct PlatformDirectory: Sendable {
    public var consul: Address
    public var kafka: Address
    public var redis: Address
    public var objectStore: Address
    public var search: Address
    public var databases: [String: Address]
    public var kafkaURL: String
    /// The HTTP address of each service's first node.
    public var services: [String: Address]
    /// Parameter-server shards (service `ps`), trainers (service `worker`), in topology order.
    public var parameterServers: [Address]
    public var trainers: [Address]
    /// The storage service's checkpoint endpoint and the training service's cluster endpoint.
    public var checkpointStore: Address
    public var trainingCluster: Address
    /// The training cluster's configuration, when the topology has trainers.
    public var training: TrainingPlatformConfiguration?
    /// How the inference replicas serve (cache size, memory, prediction time).
    public var serving = ServingConfiguration()
    /// The nodes that run a platform service (every replica): the service mesh, the only sources
    /// from which the gateway takes a service's own identity (`svc:<name>`).
    public var meshNodes: Set<String> = []
}

/// One platform for every scenario: the topology's nodes on a simulation, each running the role
/// registered under its name (`PlatformRoles`). Infrastructure and services start after
/// seed-chosen delays (the start-up phase of every scenario); a crashed node's lock-service
/// sessions end with it.
public final class Platform {
    public let simulation: Simulation
    public let topology: Topology
    public let defects: DefectSet
    public let directory: PlatformDirectory
    /// Start delay of each node (ns), chosen by the runner from the seed.
    public let startDelays: [String: Int64]
    private var nodesByName: [String: Node] = [:]

    /// Builds every node of `topology` and installs its role. `training` configures the training
    /// cluster (parameter servers and trainers) when the topology has one.
    public init(on simulation: Simulation, topology: Topology, defects: DefectSet, disk: DiskOptions = DiskOptions(),
                startDelays: [String: Int64] = [:], training: TrainingPlatformConfiguration? = nil,
                serving: ServingConfiguration = ServingConfiguration()) {
        self.simulation = simulation
        self.topology = topology
        self.defects = defects
        self.startDelays = startDelays
        var ids: [String: NodeID] = [:]
        var built: [(Node, NodeSpec)] = []
        for spec in topology.nodes {
            // Addresses: the platform's nodes in a private network, the clients on the internet.
            simulation.names.assign(node: spec.name, external: spec.role == "client")
            let node = simulation.addNode(spec.name, memoryBudget: spec.memoryMiB.map { $0 << 20 } ?? 1 << 34, disk: disk)
            node.clock.offset = spec.clockOffsetMs * Nanos.millisecond
            // The lock service (Consul sessions) ends a crashed node's sessions: its locks go.
            node.onCrash { crashed in
                if crashed.lastCrashReason == .outOfMemory { simulation.serving.outOfMemoryKills.append((simulation.now, crashed.name)) }
                simulation.locks.releaseAll(ownersWithPrefix: crashed.name + "/")
                // What its processes held in a database stays held until the database's own
                // timeout, but they wait for nothing now: no cycle runs through them.
                simulation.locks.dropExternal(ownersWithPrefix: crashed.name + "/")
            }
            ids[spec.name] = node.id
            nodesByName[spec.name] = node
            built.append((node, spec))
        }
        func address(role: String, service: String) -> Address {
            // A topology without the role gets an address nobody answers (NodeID of no node).
            Address(node: topology.nodes(role: role).first.flatMap { ids[$0.name] } ?? NodeID(Int.max), service: service)
        }
        var training = training
        let trainerSpecs = topology.nodes(role: "trainer"), shardSpecs = topology.nodes(role: "parameter_server")
        if training != nil {
            training!.workers = trainerSpecs.count
            training!.parameterServers = shardSpecs.count
            training!.workerSpeedPercent = trainerSpecs.map(\.speedPercent)
        }
        var services: [String: Address] = [:]
        for service in Topology.services where topology.has(role: service) { services[service] = address(role: service, service: "http") }
        var directory = PlatformDirectory(
            consul: address(role: "consul", service: "consul"), kafka: address(role: "kafka", service: "kafka"),
            redis: address(role: "redis", service: "redis"), objectStore: address(role: "minio", service: "s3"),
            search: address(role: "search", service: "search"),
            databases: Dictionary(uniqueKeysWithValues: ["models_db", "users_db", "experiments_db", "metrics_db"].map { ($0, address(role: $0, service: "sql")) }),
            kafkaURL: "kafka://kafka:9092", services: services,
            parameterServers: shardSpecs.map { Address(node: ids[$0.name]!, service: "ps") },
            trainers: trainerSpecs.map { Address(node: ids[$0.name]!, service: "worker") },
            checkpointStore: address(role: "storage", service: "storage"), trainingCluster: address(role: "training", service: "training"),
            training: training, serving: serving)
        directory.meshNodes = Set(built.filter { Topology.services.contains($0.1.role) }.map { $0.0.id.description })
        self.directory = directory
        if let training {
            let observations = simulation.training
            observations.shards = (0 ..< training.parameterServers).map { _ in TrainingObservations.Shard() }
            observations.workerClocks = [Int](repeating: 0, count: training.workers)
            observations.skippedSteps = [Int](repeating: 0, count: training.workers)
            observations.lossScales = [Float](repeating: training.job.initialLossScale, count: training.workers)
            observations.storageNode = topology.nodes(role: "minio").first?.name ?? "minio"
        }
        for (node, spec) in built {
            guard let install = PlatformRoles.installers[spec.role] else {
                preconditionFailure("node \(spec.name): no role '\(spec.role)' is registered (the scenario loader validates roles)")
            }
            install(node, spec, self)
        }
    }

    public func node(_ name: String) -> Node? { nodesByName[name] }
    /// The start delay of a node (ns).
    public func startDelay(_ name: String) -> Int64 { startDelays[name] ?? 0 }
}

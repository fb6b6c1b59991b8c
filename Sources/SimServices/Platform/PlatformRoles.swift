import SimKernel

/// The roles a node can play, registered by name: each installs its processes on a node of the
/// platform. A scenario's topology names them; the loader refuses a role that is not here.
public enum PlatformRoles {
    public typealias Installer = @Sendable (Node, NodeSpec, Platform) -> Void

    /// Every role by name.
    public static let installers: [String: Installer] = {
        var roles: [String: Installer] = [
            "consul": infrastructure { await ConsulServer.run(context: $0) },
            "kafka": infrastructure { await KafkaBroker.run(context: $0) },
            "redis": infrastructure { await RedisServer.run(context: $0) },
            "minio": infrastructure { await ObjectStoreServer.run(context: $0) },
            "search": infrastructure { await SearchServer.run(context: $0) },
            "parameter_server": installParameterServer,
            "trainer": installTrainer,
            // The client node runs what the scenario's workloads install on it.
            "client": { _, _, _ in },
            // Elastic workers run what the elastic_training workload installs on them.
            "elastic_worker": { _, _, _ in },
        ]
        for database in ["models_db", "users_db", "experiments_db", "metrics_db"] {
            roles[database] = infrastructure { await SQLServer.run(database: database, context: $0) }
        }
        for service in Topology.services { roles[service] = installService }
        return roles
    }()

    /// The registered role names, sorted (for messages).
    public static var names: [String] { installers.keys.sorted() }

    /// Roles that need the nine infrastructure components.
    public static func needsInfrastructure(_ role: String) -> Bool {
        Topology.services.contains(role) || role == "parameter_server" || role == "trainer" || role == "elastic_worker"
    }

    static func infrastructure(_ body: @escaping @Sendable (ProcessContext) async -> Void) -> Installer {
        { node, spec, platform in
            let delay = platform.startDelay(spec.name)
            node.addProcess(spec.role) { context in
                await context.sleep(nanoseconds: delay)
                await body(context)
            }
        }
    }

    /// Services that cannot have replicas yet, and why: their callers reach the first node
    /// directly, not through Consul, so a second node would never be used (and a crash of the
    /// first would not be routed around).
    public static let singleNodeServices: [String: String] = [
        "gateway": "the gateway is the clients' one entry point",
        "auth": "the gateway reaches auth directly, not through Consul",
        "training": "trainers report to the first training node's cluster endpoint",
        "storage": "trainers save checkpoints through the first storage node's endpoint",
    ]

    static func installService(_ node: Node, _ spec: NodeSpec, _ platform: Platform) {
        let service = spec.role
        let serviceSpec = ServiceCatalogue.spec(service, defects: platform.defects)
        var configuration = serviceSpec.configuration
        configuration.nodeHasAccelerator = spec.accelerator
        let delay = platform.startDelay(spec.name), directory = platform.directory, defects = platform.defects
        // Replicas are numbered in topology order: the instance ids are `models-1`, `models-2`...
        let replica = (platform.topology.nodes(role: service).firstIndex { $0.name == spec.name } ?? 0) + 1
        node.addProcess(service) { context in
            await ServiceHost.run(serviceSpec, directory: directory, defects: defects, configuration: configuration, startDelay: delay,
                                  replica: replica, context: context)
        }
    }

    static func installParameterServer(_ node: Node, _ spec: NodeSpec, _ platform: Platform) {
        guard let configuration = platform.directory.training,
              let shard = platform.topology.nodes(role: "parameter_server").firstIndex(where: { $0.name == spec.name }) else { return }
        let defects = platform.defects, storage = platform.directory.checkpointStore
        node.addProcess("ps") { await ParameterServer.run(shard: shard, configuration: configuration, defects: defects, storage: storage, context: $0) }
    }

    static func installTrainer(_ node: Node, _ spec: NodeSpec, _ platform: Platform) {
        guard let configuration = platform.directory.training,
              let index = platform.topology.nodes(role: "trainer").firstIndex(where: { $0.name == spec.name }) else { return }
        let defects = platform.defects, directory = platform.directory
        let dataset = SyntheticDataset.cached(seed: configuration.job.datasetSeed, featureCount: configuration.features)
        node.addProcess("trainer") { context in
            await TrainingWorker.run(index: index, configuration: configuration, defects: defects, context: context, dataset: dataset,
                                     shards: directory.parameterServers, storage: directory.checkpointStore, trainingService: directory.trainingCluster)
        }
    }
}

/// The fifteen services' specs and configurations, with the run's defects applied.
public enum ServiceCatalogue {
    /// The spec of `service` with `defects` applied (each service applies its own).
    public static func spec(_ service: String, defects: DefectSet) -> ServiceSpec {
        switch service {
        case "gateway": return GatewayService.spec(defects: defects)
        case "auth": return AuthService.spec(defects: defects)
        case "models": return ModelsService.spec(defects: defects)
        case "registry": return RegistryService.spec(defects: defects)
        case "training": return TrainingService.spec(defects: defects)
        case "inference": return InferenceService.spec(defects: defects)
        case "features": return FeaturesService.spec(defects: defects)
        case "pipeline": return PipelineService.spec(defects: defects)
        case "experiments": return ExperimentsService.spec(defects: defects)
        case "monitoring": return MonitoringService.spec(defects: defects)
        case "scheduler": return SchedulerService.spec(defects: defects)
        case "workers": return WorkersService.spec(defects: defects)
        case "storage": return StorageService.spec(defects: defects)
        case "webhooks": return WebhooksService.spec(defects: defects)
        case "admin": return AdminService.spec(defects: defects)
        default: preconditionFailure("no service '\(service)'")
        }
    }
}

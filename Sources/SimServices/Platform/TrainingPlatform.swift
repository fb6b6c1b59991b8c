import SimKernel

/// Wires the distributed-training platform onto a simulation: nodes, processes, addresses.
///
/// Nodes: `training`, `scheduler`, `storage`, `ps-0 ... ps-(P-1)`, `worker-0 ... worker-(W-1)`,
/// `client` (submits the job). When a node crashes, the lock service ends its sessions: every lock
/// held by one of its owners (`<node>/...`) is released.
public struct TrainingPlatform {
    public let configuration: TrainingPlatformConfiguration
    public let defects: DefectSet
    public private(set) var nodes: [String: Node] = [:]
    public let dataset: SyntheticDataset

    /// Builds the platform on `simulation`. The data set derives from the job's data-set seed; the
    /// order in which workers see it derives from the run's seed.
    public init(on simulation: Simulation, configuration: TrainingPlatformConfiguration, defects: DefectSet, disk: DiskOptions = DiskOptions()) {
        self.configuration = configuration
        self.defects = defects
        dataset = SyntheticDataset.cached(seed: configuration.job.datasetSeed, featureCount: configuration.features)
        let observations = simulation.training
        observations.shards = (0 ..< configuration.parameterServers).map { _ in TrainingObservations.Shard() }
        observations.workerClocks = [Int](repeating: 0, count: configuration.workers)
        observations.skippedSteps = [Int](repeating: 0, count: configuration.workers)
        observations.lossScales = [Float](repeating: configuration.job.initialLossScale, count: configuration.workers)

        var nodes: [String: Node] = [:]
        func add(_ name: String) -> Node {
            let node = simulation.addNode(name, disk: disk)
            node.onCrash { crashed in simulation.locks.releaseAll(ownersWithPrefix: crashed.name + "/") }
            nodes[name] = node
            return node
        }
        let training = add("training"), scheduler = add("scheduler"), storage = add("storage")
        let shardNodes = (0 ..< configuration.parameterServers).map { add("ps-\($0)") }
        let workerNodes = (0 ..< configuration.workers).map { add("worker-\($0)") }
        let client = add("client")
        let storageAddress = Address(node: storage.id, service: "storage")
        let shardAddresses = shardNodes.map { Address(node: $0.id, service: "ps") }
        let workerAddresses = workerNodes.map { Address(node: $0.id, service: "worker") }
        let trainingAddress = Address(node: training.id, service: "training")
        let schedulerAddress = Address(node: scheduler.id, service: "scheduler")
        let dataset = self.dataset

        storage.addProcess("storage") { await StorageService.run(defects: defects, context: $0) }
        for (shard, node) in shardNodes.enumerated() {
            node.addProcess("ps") { await ParameterServer.run(shard: shard, configuration: configuration, defects: defects, storage: storageAddress, context: $0) }
        }
        for (index, node) in workerNodes.enumerated() {
            node.addProcess("trainer") { context in
                await TrainingWorker.run(index: index, configuration: configuration, defects: defects, context: context, dataset: dataset,
                                         shards: shardAddresses, storage: storageAddress, trainingService: trainingAddress)
            }
        }
        scheduler.addProcess("scheduler") { await SchedulerService.run(configuration: configuration, workers: workerAddresses, context: $0) }
        training.addProcess("training") { context in
            await TrainingService.run(configuration: configuration, dataset: dataset, scheduler: schedulerAddress, shards: shardAddresses, context: context)
        }
        client.addProcess("submit") { context in
            _ = await context.callUntilAnswered(trainingAddress, .submit(configuration.job), timeout: 60 * Nanos.second)
        }
        self.nodes = nodes
    }
}

import Foundation
import SimKernel
import SimServices

/// A scenario: the incident it reproduces, the platform's topology, the workloads that drive it,
/// the defects switched on, the faults, the duration and the checks. Loaded from YAML
/// (`ScenarioLoader`); every scenario runs on the one `Platform`.
public struct Scenario: Sendable {
    public var name: String
    public var summary: String
    public var incident: String
    /// The nodes and the role each plays.
    public var topology: Topology
    /// What drives the platform, by registered name (`WorkloadRegistry`).
    public var workloads: [any Workload]
    public var defects: [DefectID]
    /// The fault profile (`none`, `lite`, `swarm`); explicit crashes and partitions add to it.
    public var faultProfile: FaultProfile
    public var explicitCrashes: [CrashFault] = []
    public var explicitPartitions: [PartitionFault] = []
    /// End of the safety phase: every fault heals here.
    public var healAtSeconds: Int64
    /// The liveness phase: by heal + this, every liveness check must have converged.
    public var convergeWithinSeconds: Int64
    /// The run's horizon.
    public var durationSeconds: Int64
    /// Held-out accuracy a finished training job must reach (the `progress` check).
    public var minAccuracy: Double
    /// The checks that run, by registered name (`CheckerRegistry`).
    public var checks: [String]
    /// FNV-1a of the file's text: seed files record it, replay refuses a changed scenario.
    public var digest: UInt64
    /// Where it was loaded from.
    public var path: String
    /// The file's text (seed files embed it, so they replay wherever the scenario came from).
    public var text = ""

    /// The training job workload, if the scenario has one.
    public var trainingJob: TrainingJobWorkload? { workloads.lazy.compactMap { $0 as? TrainingJobWorkload }.first }
    public func has(workload name: String) -> Bool { workloads.contains { type(of: $0).name == name } }

    /// The training cluster's configuration: the training job's, with the topology's shards,
    /// trainers and their speeds (a default configuration when there is no training job).
    public var platform: TrainingPlatformConfiguration {
        get {
            var configuration = trainingJob?.configuration ?? TrainingPlatformConfiguration()
            let trainers = topology.nodes(role: "trainer")
            configuration.workers = trainers.count
            configuration.parameterServers = topology.nodes(role: "parameter_server").count
            configuration.workerSpeedPercent = trainers.map(\.speedPercent)
            return configuration
        }
        set {
            guard let index = workloads.firstIndex(where: { $0 is TrainingJobWorkload }), var job = workloads[index] as? TrainingJobWorkload else { return }
            job.configuration = newValue
            workloads[index] = job
        }
    }

    /// Nodes a fault profile may crash.
    public var crashableNodes: [String] { topology.crashable }
    /// Every node of the topology (partitions may cut any of them).
    public var allNodes: [String] { topology.names }

    /// The faults of a run of this scenario with `seed` under `profile`.
    public func faultOptions(seed: UInt64, profile: FaultProfile? = nil) -> FaultOptions {
        var options = (profile ?? faultProfile).options(seed: seed, crashable: crashableNodes, all: allNodes, healAtMs: healAtSeconds * 1000)
        options.crashes += explicitCrashes
        options.partitions += explicitPartitions
        if !explicitCrashes.isEmpty || !explicitPartitions.isEmpty {
            options.healAtMs = healAtSeconds * 1000
            if options.profile == "none" { options.profile = "explicit" }
        }
        return options
    }

    /// Why `defect` cannot fire in this scenario (its code path's roles, workload or checker are
    /// missing), or nil when it can.
    public func whyDefectCannotFire(_ defect: DefectID) -> String? {
        let entry = DefectCatalogue.entry(defect)
        if let missing = entry.services.first(where: { !topology.has(role: $0) }) {
            return "\(defect.rawValue) lives in \(missing), which this scenario's topology does not run"
        }
        if !has(workload: entry.workload) {
            return "\(defect.rawValue)'s code path runs under the \(entry.workload) workload, which this scenario does not have"
        }
        if !checks.contains(entry.checker) {
            return "\(defect.rawValue) is caught by the \(entry.checker) check, which this scenario does not run"
        }
        return nil
    }
}

extension Scenario {
    /// How a person names the scenario on the command line: its name when it is the shipped one
    /// (loaded from the shipped file, or the same text, as a seed file embeds it), else the path
    /// it was loaded from; nil when neither names it (an embedded text no file holds).
    public var commandLineName: String? {
        let shipped = (ScenarioLoader.scenariosFolder as NSString).appendingPathComponent("\(name).yaml")
        if ScenarioLoader.shippedNames().contains(name) {
            if path == shipped || (try? ScenarioLoader.load(nameOrPath: name))?.digest == digest { return name }
        }
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}


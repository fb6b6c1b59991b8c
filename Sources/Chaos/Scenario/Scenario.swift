import SimKernel
import SimServices

/// A scenario: the incident it reproduces, the platform's topology and workload, the defects
/// switched on, the faults, the duration and the checks. Loaded from YAML (`ScenarioLoader`).
/// Which platform a scenario runs.
public enum ScenarioKind: String, Sendable, Codable {
    /// The distributed-training slice (parameter servers, workers, scheduler, storage).
    case training
    /// The whole platform's cold start: nine infrastructure components and fifteen services.
    case coldStart = "cold_start"
}

public struct Scenario: Sendable {
    public var name: String
    public var kind: ScenarioKind = .training
    public var summary: String
    public var incident: String
    public var platform: TrainingPlatformConfiguration
    public var defects: [DefectID]
    /// The fault profile (`none`, `lite`, `swarm`); explicit crashes and partitions add to it.
    public var faultProfile: FaultProfile
    public var explicitCrashes: [CrashFault] = []
    public var explicitPartitions: [PartitionFault] = []
    /// End of the safety phase: every fault heals here.
    public var healAtSeconds: Int64
    /// The liveness phase: by heal + this, the job must be complete and have learned.
    public var convergeWithinSeconds: Int64
    /// The run's horizon.
    public var durationSeconds: Int64
    /// Held-out accuracy the finished job must reach.
    public var minAccuracy: Double
    /// The checks that run (all by default).
    public var checks: [String]
    /// FNV-1a of the file's text: seed files record it, replay refuses a changed scenario.
    public var digest: UInt64
    /// Where it was loaded from.
    public var path: String

    public static let knownChecks = ["deadlock", "ps-consistency", "staleness", "progress", "checkpoint-integrity", "routing", "cold-start"]
    /// The checks of each kind (a scenario without `checks` runs all of its kind's).
    public static func checks(of kind: ScenarioKind) -> [String] {
        kind == .training ? ["deadlock", "ps-consistency", "staleness", "progress", "checkpoint-integrity"] : ["deadlock", "routing", "cold-start"]
    }

    /// Nodes a fault profile may crash (services whose state is durable or rebuilt).
    public var crashableNodes: [String] {
        if kind == .coldStart { return ServicePlatform.infrastructure.filter { $0 != "consul" } + ServicePlatform.services }
        return ["storage"] + (0 ..< platform.parameterServers).map { "ps-\($0)" } + (0 ..< platform.workers).map { "worker-\($0)" }
    }

    /// Every node of the topology (partitions may cut any of them).
    public var allNodes: [String] {
        if kind == .coldStart { return ServicePlatform.infrastructure + ServicePlatform.services + ["client"] }
        return ["training", "scheduler", "client"] + crashableNodes
    }

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
}

import SimKernel
import SimServices
import Yams

/// What drives a scenario (FoundationDB's `TestWorkload`): registered by name, it reads its own
/// keys of the scenario file (`workloads: {NAME: {...}}`), may configure the platform before it
/// is built, and installs its client processes once it is.
public protocol Workload: Sendable {
    /// The name a scenario file uses.
    static var name: String { get }
    /// Roles the topology must have for this workload to run.
    static var requiredRoles: [String] { get }
    /// Reads the workload's keys (`node` is nil for `NAME: {}` or a bare name).
    init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError)
    /// Adjusts the platform's training cluster before the platform is built.
    func configure(training: inout TrainingPlatformConfiguration?)
    /// Adjusts how the inference replicas serve before the platform is built.
    func configure(serving: inout ServingConfiguration)
    /// Why the workload cannot run on `topology` (a node it names is missing...), or nil.
    func validate(topology: Topology) -> String?
    /// Installs the workload's processes on the built platform.
    func install(on platform: Platform)
}

extension Workload {
    public func configure(training: inout TrainingPlatformConfiguration?) {}
    public func configure(serving: inout ServingConfiguration) {}
    public func validate(topology: Topology) -> String? { nil }
}

/// The workloads, by name.
public enum WorkloadRegistry {
    public static let all: [any Workload.Type] = [FirstRequestsWorkload.self, TrainingJobWorkload.self, ModelDeploymentsWorkload.self, ABTestWorkload.self, FeatureDriftWorkload.self, SecurityProbeWorkload.self, AuthSessionsWorkload.self, ModelAttacksWorkload.self, WebhookAttacksWorkload.self, MeshPeersWorkload.self, TrainingRunsWorkload.self, ElasticTrainingWorkload.self]
    public static func type(named name: String) -> (any Workload.Type)? { all.first { $0.name == name } }
    public static var names: [String] { all.map { $0.name } }
}

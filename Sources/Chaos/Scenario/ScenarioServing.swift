import SimServices

extension Scenario {
    /// The serving configuration the scenario's workloads set (defaults where none does): what the
    /// runner gives the platform and what the serving checkers judge against.
    public var servingConfiguration: ServingConfiguration {
        var serving = ServingConfiguration()
        for workload in workloads { workload.configure(serving: &serving) }
        return serving
    }
}

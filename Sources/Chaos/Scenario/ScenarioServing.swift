import SimServices

extension Scenario {
    /// The serving configuration the scenario's workloads set (defaults where none does): what the
    /// runner gives the platform and what the serving checkers judge against.
    public var servingConfiguration: ServingConfiguration {
        var serving = ServingConfiguration()
        for workload in workloads { workload.configure(serving: &serving) }
        return serving
    }

    /// The scenario with request batching of its serving workloads set to `maxSize` requests or
    /// `maxWaitMillis` (size 1: no batching): what `simrun bench --serving` compares.
    public func withRequestBatching(maxSize: Int, maxWaitMillis: Int) -> Scenario {
        var copy = self
        copy.workloads = workloads.map { workload -> any Workload in
            if var ab = workload as? ABTestWorkload {
                ab.serving.batchMaxSize = maxSize
                ab.serving.batchMaxWaitMillis = maxWaitMillis
                return ab
            }
            if var deployments = workload as? ModelDeploymentsWorkload {
                deployments.serving.batchMaxSize = maxSize
                deployments.serving.batchMaxWaitMillis = maxWaitMillis
                return deployments
            }
            return workload
        }
        return copy
    }
}

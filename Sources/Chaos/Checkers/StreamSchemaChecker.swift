import SimKernel
import SimServices

/// Stream schemas: every registered version is backward compatible with the one before it (a
/// reader of the new version can read the old data: no added required field), and no event the
/// ingest route accepted for its schema version is refused by the job for its schema.
public final class StreamSchemaChecker: StreamChecker, Checker {
    public static let name = "stream-schema"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    public required init(scenario: Scenario) { super.init(topology: scenario.topology) }
    var schemasChecked = 0
    var refusalsChecked: Set<String> = []

    override func checkNew(_ stream: StreamObservations, _ simulation: Simulation) -> String? {
        while schemasChecked < stream.schemas.count {
            let (tenant, version, fields) = stream.schemas[schemasChecked]
            // The version before it in the same tenant's stream (each tenant numbers its own).
            let earlier = stream.schemas[..<schemasChecked].last { $0.tenant == tenant && $0.version == version - 1 }
            schemasChecked += 1
            guard let earlier, let schema = EventSchema.parse(version: version, fields.splitBytes(",").map(String.init)),
                  let previous = EventSchema.parse(version: earlier.version, earlier.fields.splitBytes(",").map(String.init)) else { continue }
            if let problem = schema.incompatibility(with: previous) { return "schema v\(version) of \(tenant)'s stream was registered though it is not backward compatible: \(problem)" }
        }
        // The new refusals only, in id order, not the dictionary's (which differs between
        // processes): the message names the first.
        for id in stream.schemaRefusals.keys.filter({ !refusalsChecked.contains($0) }).sorted() {
            refusalsChecked.insert(id)
            let problem = stream.schemaRefusals[id] ?? ""
            if stream.accepted[id] != nil { return "event \(id) was accepted by the ingest route for its schema, then refused by the job: \(problem)" }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["pipeline"] }
}

import SimKernel
import SimServices

/// No external entity is resolved: no model description stored from a metadata document holds the
/// text of a file of the node (`ImageFiles.secrets`: the mesh key, /etc/passwd). I6 resolves
/// `<!ENTITY x SYSTEM "file:///etc/synapsenet/mesh.key">` into the description.
public final class XMLEntitiesChecker: SecurityObservationsChecker, Checker {
    public static let name = "xml-entities"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { modelAttacksMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        let secrets = ImageFiles.secrets
        return judgeNew(observations.metadataStored, from: &checked) { stored in
            guard let leaked = secrets.first(where: { stored.description.contains($0.text) }) else { return nil }
            return "models stored the description of \(stored.model) for \(stored.caller) with the contents of \(leaked.file) at \(formatNanoseconds(stored.at)): an XML external entity was resolved"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["models", "models-db", "gateway"] }
}

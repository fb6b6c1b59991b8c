/// A model version's life cycle, one copy for the platform (the brief's "model lifecycle
/// consolidation"): None -> Staging -> Production -> Archived, with promotion straight from None or
/// Staging to Production, archiving a version that never served (None -> Archived),
/// archive-on-promote (promoting a version archives the model's current
/// Production version in the same transaction), and a way back from Archived to Staging (a
/// rollback re-stages an old version first). Staging -> Staging and Production -> Production are
/// allowed as repeats of the same move (a retried request, which publishes the deployment again).
public enum ModelStage: String, CaseIterable, Codable, Sendable {
    case none = "None", staging = "Staging", production = "Production", archived = "Archived"

    /// Whether a version may move from this stage to `next`.
    public func canMove(to next: ModelStage) -> Bool {
        switch (self, next) {
        case (.none, .staging), (.none, .production), (.staging, .production), (.staging, .archived),
             (.production, .archived), (.production, .production), (.staging, .staging), (.archived, .staging), (.none, .archived):
            return true
        default:
            return false
        }
    }

    /// The stages a version may move to from this one, for error messages.
    public var next: [ModelStage] { ModelStage.allCases.filter { canMove(to: $0) } }
}

extension ModelStage {
    /// A model's place in the life cycle, seen from the model (the models service's status): the
    /// most advanced stage of its versions (Production, else Staging, else None; Archived once
    /// every version is).
    public static func ofModel(versions: [ModelStage]) -> ModelStage {
        if versions.contains(.production) { return .production }
        if versions.contains(.staging) { return .staging }
        if !versions.isEmpty, versions.allSatisfy({ $0 == .archived }) { return .archived }
        return .none
    }
}

import SimKernel
import SimServices

/// A run search returns exactly the runs whose tags and parameters (as the client set and read
/// them back) satisfy every clause of its filter; a filter outside the grammar
/// (`tag.KEY = 'VALUE'` / `param.KEY = 'VALUE'` joined by AND) is refused with 400. E8 answers
/// `tag.team = 'nobody' OR '1'='1'` with every run.
public final class RunSearchChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "run-search"
    public var name: String { Self.name }
    var checked = 0
    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.searches.count {
            let search = observations.searches[checked]
            checked += 1
            guard case .success(let clauses) = RunSearch.parse(search.filter) else {
                if search.status != 400 { return "the filter \(search.filter) is outside the grammar, yet was answered \(search.status) with runs \(search.runs)" }
                continue
            }
            guard search.status == 200 else { return "the filter \(search.filter) was answered \(search.status)" }
            var expected: [Int64] = []
            for run in observations.submitted {
                let params = observations.readBacks.first { $0.name == run.name }?.params ?? [:]
                let tags = observations.tags[run.run] ?? [:]
                if clauses.allSatisfy({ ($0.table == "tags" ? tags[$0.key] : params[$0.key]) == $0.value }) { expected.append(run.run) }
            }
            expected.sort()
            if search.runs != expected {
                let extra = search.runs.filter { !expected.contains($0) }
                return "the filter \(search.filter) returned runs \(search.runs), expected \(expected)" + (extra.isEmpty ? "" : ": it returned runs it must not (\(extra))")
            }
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["experiments"] }
}

import SimKernel

/// Data pipelines: a DAG is accepted only if acyclic (three-colour DFS: reaching a node that is
/// in progress is a cycle), then stored in experiments_db. At start-up it validates its own
/// request schema, which refers to itself (a step's `next` is a step); L13's validator has no
/// visited set and walks that reference forever.
///
/// Route: `POST pipeline/dags` (SubmitDAG -> AcceptedDAG). DAGs live in experiments_db.
public enum PipelineService {
    /// Three-colour DFS over `edges` (from -> to). Returns a cycle's node, or nil.
    public static func findCycle(_ edges: [(String, String)]) -> String? {
        var adjacency: [String: [String]] = [:]
        for (from, to) in edges { adjacency[from, default: []].append(to); adjacency[to, default: []] = adjacency[to] ?? [] }
        var colour: [String: Int] = [:]  // 0 white, 1 in progress, 2 done
        func visit(_ node: String) -> String? {
            colour[node] = 1
            for next in (adjacency[node] ?? []).sorted() {
                if colour[next] == 1 { return next }
                if colour[next, default: 0] == 0, let found = visit(next) { return found }
            }
            colour[node] = 2
            return nil
        }
        for node in adjacency.keys.sorted() where colour[node, default: 0] == 0 {
            if let found = visit(node) { return found }
        }
        return nil
    }

    public struct SubmitDAG: Codable, Sendable, Equatable {
        public var name: String?
        /// Edges `from>to`.
        public var edges: [String]
    }
    public struct AcceptedDAG: Codable, Sendable, Equatable {
        /// The number of distinct tasks.
        public var tasks: Int
    }

    /// What the pipeline service keeps in memory: how many steps its start-up schema validation took.
    public actor State {
        public var schemaSteps: Int?
        func recordSchemaSteps(_ steps: Int) { schemaSteps = steps }
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "pipeline", routes: [
            Route("POST", "pipeline/dags", SubmitDAG.self, AcceptedDAG.self) { runtime, request, _ throws(ServiceError) in
                var edges: [(String, String)] = []
                for edge in request.edges {
                    let ends = edge.split(separator: ">").map(String.init)
                    guard ends.count == 2 else { throw .badRequest("edges: '\(edge)' is not from>to") }
                    edges.append((ends[0], ends[1]))
                }
                if let node = findCycle(edges) { throw ServiceError(422, "the DAG has a cycle through \(node)") }
                guard case .success = await runtime.transaction([SQLStatement("INSERT INTO dags(name, edges) VALUES (?, ?)",
                                                                              [.text(request.name ?? "dag"), .text(request.edges.joined(separator: ","))])]) else {
                    throw .internalError("cannot store the DAG")
                }
                return AcceptedDAG(tasks: Set(edges.flatMap { [$0.0, $0.1] }).count)
            },
        ])
        spec.database = "experiments_db"
        spec.migrations = ["CREATE TABLE dags(id INTEGER PRIMARY KEY, name TEXT NOT NULL, edges TEXT NOT NULL)"]
        spec.makeState = { State() }
        spec.bootstrap = { runtime in
            // The request schema: step -> next -> step (a self-reference).
            let schema = ["step": ["next": "step", "name": "string"]]
            var visited: Set<String> = []
            var stack = ["step"]
            var steps = 0
            while let type = stack.popLast() {
                steps += 1
                if !runtime.defects.contains(.L13) {
                    guard visited.insert(type).inserted else { continue }
                } else {
                    await runtime.context.sleep(nanoseconds: Nanos.millisecond)  // each step costs time, forever
                    if steps % 1000 == 0 {
                        runtime.observations.update("pipeline") { $0.waitingFor = ["request schema validation (\(steps) steps into a self-referencing schema)"] }
                    }
                }
                for (_, fieldType) in (schema[type] ?? [:]).sorted(by: { $0.key < $1.key }) where schema[fieldType] != nil { stack.append(fieldType) }
            }
            await runtime.state(State.self).recordSchemaSteps(steps)
            return nil
        }
        return spec
    }
}

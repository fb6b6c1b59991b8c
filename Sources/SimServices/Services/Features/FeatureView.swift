import SimKernel

/// A feature view: named features of one entity kind, stored offline (SQL) and online (Redis),
/// with a TTL (how old a value may be and still be served or joined) and a freshness SLA (how old
/// the newest materialized value may get before the view is stale). Transformations derive more
/// features from its own, each `name=op(input input ...)`; their inputs form a dependency graph
/// that registration validates (three-colour DFS; C8's validator, one visited set, accepts cycles).
public struct FeatureView: Sendable, Equatable {
    /// Whether `name` may name a view or a feature: 1 to 64 ASCII letters, digits, `_`, `-` or
    /// `.` (no separator of the records that carry it).
    public static func isPlainName(_ name: String) -> Bool {
        (1 ... 64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (48 ... 57).contains(byte) || (65 ... 90).contains(byte) || (97 ... 122).contains(byte) || byte == 95 || byte == 45 || byte == 46
        }
    }

    /// The view's name within its tenant (plain: `isPlainName`).
    public var name: String
    /// The tenant the view belongs to: each tenant names its views in a namespace of its own.
    public var tenant: String
    /// The raw features, in row order.
    public var features: [String]
    /// Features whose values are categories (compared by chi-squared / Jensen-Shannon, not KS).
    public var categorical: [String]
    public var ttl: Int64
    public var sla: Int64
    public var transforms: [Transform]

    public struct Transform: Sendable, Equatable {
        public enum Operation: String, Sendable { case ratio, sum, product, log1p }
        public var name: String
        public var operation: Operation
        public var inputs: [String]

        /// Parses `name=op(a b)`.
        public static func parse(_ text: String) -> Result<Transform, GraphError> {
            let sides = text.splitBytes("=", maxSplits: 1).map(String.init)
            guard sides.count == 2, !sides[0].isEmpty, sides[1].hasSuffix(")"), let open = sides[1].firstIndex(of: "(") else {
                return .failure(GraphError(message: "'\(text)' is not name=op(input ...)"))
            }
            guard let operation = Operation(rawValue: String(sides[1][..<open])) else {
                return .failure(GraphError(message: "'\(text)': unknown operation '\(sides[1][..<open])' (ratio, sum, product, log1p)"))
            }
            let inputs = sides[1][sides[1].index(after: open) ..< sides[1].index(before: sides[1].endIndex)].splitBytes(" ").map(String.init)
            guard !inputs.isEmpty, operation != .ratio || inputs.count == 2, operation != .log1p || inputs.count == 1 else {
                return .failure(GraphError(message: "'\(text)': \(operation.rawValue) takes \(operation == .ratio ? "two inputs" : operation == .log1p ? "one input" : "inputs")"))
            }
            return .success(Transform(name: sides[0], operation: operation, inputs: inputs))
        }

        public var text: String { "\(name)=\(operation.rawValue)(\(inputs.joined(separator: " ")))" }

        /// The transform's value from its inputs' (nil when an input is missing, or the result is
        /// not a finite number).
        public func apply(_ values: [String: Double]) -> Double? {
            let args = inputs.compactMap { values[$0] }
            guard args.count == inputs.count else { return nil }
            let result: Double
            switch operation {
            case .ratio: result = args[0] / args[1]
            case .sum: result = args.reduce(0, +)
            case .product: result = args.reduce(1, *)
            case .log1p: result = logarithm(1 + args[0])
            }
            return result.isFinite ? result : nil
        }
    }

    public init(name: String, tenant: String = "t1", features: [String], categorical: [String] = [], ttl: Int64, sla: Int64, transforms: [Transform] = []) {
        self.name = name
        self.tenant = tenant
        self.features = features
        self.categorical = categorical
        self.ttl = ttl
        self.sla = sla
        self.transforms = transforms
    }

    /// The transformations' dependency graph: an edge from each input to the feature it derives.
    public var transformGraph: DependencyGraph {
        DependencyGraph(edges: transforms.flatMap { transform in transform.inputs.map { ($0, transform.name) } }, nodes: features)
    }

    static let cycleProblem = "the transformations have a cycle"

    /// Why the view cannot be registered, or nil. C8 validates the transformations' graph with
    /// one visited set, which never sees a cycle.
    public func problem(defects: DefectSet = .empty) -> String? {
        if features.isEmpty { return "a view needs at least one feature" }
        if Set(features).count != features.count { return "a feature is listed twice" }
        if let unknown = categorical.first(where: { !features.contains($0) }) { return "categorical feature \(unknown) is not a feature of the view" }
        let known = Set(features + transforms.map(\.name))
        for transform in transforms {
            if features.contains(transform.name) { return "transform \(transform.name) overwrites a raw feature" }
            if let input = transform.inputs.first(where: { !known.contains($0) }) { return "transform \(transform.name) reads \(input), which is neither a feature nor a transform" }
        }
        if Set(transforms.map(\.name)).count != transforms.count { return "a transform is defined twice" }
        let graph = transformGraph
        let cycle = defects.contains(.C8) ? graph.cycleWithOneVisitedSet() : graph.cycle()
        return cycle.map { "\(Self.cycleProblem): \($0.joined(separator: " -> "))" }
    }

    /// The order transformations are computed in: topological (each after its inputs). C4 computes
    /// them in the order they were declared. A cycle (which only C8 lets in) never finishes: nil.
    public func transformOrder(defects: DefectSet = .empty) -> [Transform]? {
        if defects.contains(.C4) { return transforms }
        guard let order = transformGraph.topologicalOrder() else { return nil }
        return order.compactMap { name in transforms.first { $0.name == name } }
    }

    /// A row's values with its transformations computed in `order` (a transform whose input is not
    /// computed yet sees it missing: C4's symptom).
    public static func computeTransforms(_ raw: [String: Double], order: [Transform]) -> [String: Double] {
        var values = raw
        for transform in order { values[transform.name] = transform.apply(values) }
        return values
    }

    /// Stored form: features, categorical features and transforms, each `;`-joined.
    /// The view's key in the stores (its SQL rows, versions, backfills, Redis keys): `tenant/name`,
    /// so two tenants' views of one name are two views.
    public var key: String { Self.key(tenant: tenant, name: name) }
    public static func key(tenant: String, name: String) -> String { "\(tenant)/\(name)" }

    var storedForm: [SQLValue] {
        [.text(key), .text(features.joined(separator: ";")), .text(categorical.joined(separator: ";")), .integer(ttl), .integer(sla),
         .text(transforms.map(\.text).joined(separator: ";"))]
    }

    static func fromRow(_ row: [SQLValue]) -> FeatureView? {
        guard row.count >= 6, let key = row[0].text, let features = row[1].text, let categorical = row[2].text,
              let ttl = row[3].integer, let sla = row[4].integer, let transforms = row[5].text else { return nil }
        let parsed = transforms.splitBytes(";").compactMap { try? Transform.parse(String($0)).get() }
        // The stored name is the key, `tenant/name` (names are plain: the first `/` splits them).
        guard let slash = key.firstIndex(of: "/") else { return nil }
        return FeatureView(name: String(key[key.index(after: slash)...]), tenant: String(key[..<slash]), features: features.splitBytes(";").map(String.init), categorical: categorical.splitBytes(";").map(String.init),
                           ttl: ttl, sla: sla, transforms: parsed)
    }
}

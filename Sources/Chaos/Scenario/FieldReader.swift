import Yams

/// A scenario file that cannot be used: names the file, the line and the field.
public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var field: String
    public var problem: String
    public init(file: String, line: Int?, field: String, problem: String) {
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem
    }
    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(field): \(problem)"
    }
}

/// Reads typed fields of a scenario file's YAML tree, with the path of the field being read for
/// error messages. Workloads and checkers read their own keys through it.
public struct FieldReader: Sendable {
    public let file: String

    public init(file: String) { self.file = file }

    public func fail(_ node: Yams.Node?, _ field: String, _ problem: String) -> ScenarioError {
        ScenarioError(file: file, line: node?.mark.map { $0.line }, field: field, problem: problem)
    }

    /// The mapping at `node`, with its keys checked against `allowed` (unknown and duplicate keys
    /// are errors).
    public func mapping(_ node: Yams.Node, _ field: String, allowed: [String]) throws(ScenarioError) -> [(key: String, value: Yams.Node, keyNode: Yams.Node)] {
        guard let mapping = node.mapping else { throw fail(node, field, "expected a mapping") }
        var result: [(String, Yams.Node, Yams.Node)] = []
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw fail(keyNode, field, "keys must be strings") }
            let path = field.isEmpty ? key : "\(field).\(key)"
            guard allowed.contains(key) else {
                throw fail(keyNode, path, "unknown key (allowed: \(allowed.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw fail(keyNode, path, "duplicate key") }
            result.append((key, value, keyNode))
        }
        return result
    }

    public func string(_ node: Yams.Node, _ field: String) throws(ScenarioError) -> String {
        try checkTag(node, field)
        guard let value = node.scalar?.string else { throw fail(node, field, "expected a string") }
        return value
    }

    /// A number or a boolean written in quotes (or tagged `!!str`) is a string in YAML: refused,
    /// not guessed at. Tags other than YAML's own are refused everywhere.
    func unquoted(_ node: Yams.Node, _ field: String, _ what: String) throws(ScenarioError) -> String? {
        guard let scalar = node.scalar else { return nil }
        try checkTag(node, field)
        // A plain scalar that reads as a number or a boolean but carries the string tag was
        // tagged `!!str` explicitly (the resolver would have tagged it int, float or bool).
        let text = scalar.string
        let taggedString = scalar.tag.rawValue == Tag.Name.str.rawValue && (Int64(text) != nil || Double(text) != nil || text == "true" || text == "false")
        guard scalar.style == .plain || scalar.style == .any, !taggedString else {
            throw fail(node, field, "expected \(what), got the string '\(scalar.string)' (remove the quotes or the tag)")
        }
        return scalar.string
    }

    func checkTag(_ node: Yams.Node, _ field: String) throws(ScenarioError) {
        let tag = node.tag.rawValue
        guard tag.hasPrefix("tag:yaml.org,2002:") || tag == "?" || tag == "!" || tag.isEmpty else {
            throw fail(node, field, "YAML tag '\(tag)' is not supported")
        }
    }

    public func integer(_ node: Yams.Node, _ field: String, in range: ClosedRange<Int64>) throws(ScenarioError) -> Int64 {
        guard let text = try unquoted(node, field, "an integer"), let value = Int64(text) else { throw fail(node, field, "expected an integer, got '\(node.scalar?.string ?? "a collection")'") }
        guard range.contains(value) else { throw fail(node, field, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    public func number(_ node: Yams.Node, _ field: String, in range: ClosedRange<Double>) throws(ScenarioError) -> Double {
        guard let text = try unquoted(node, field, "a number"), let value = Double(text), value.isFinite else { throw fail(node, field, "expected a number") }
        guard range.contains(value) else { throw fail(node, field, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    public func boolean(_ node: Yams.Node, _ field: String) throws(ScenarioError) -> Bool {
        switch try unquoted(node, field, "true or false") {
        case "true": return true
        case "false": return false
        default: throw fail(node, field, "expected true or false")
        }
    }

    public func list(_ node: Yams.Node, _ field: String) throws(ScenarioError) -> [Yams.Node] {
        guard let sequence = node.sequence else { throw fail(node, field, "expected a list") }
        return Array(sequence)
    }
}

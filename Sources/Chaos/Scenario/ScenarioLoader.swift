import Foundation
import SimKernel
import SimServices
import Yams

/// Reads and validates scenario YAML. Unknown keys are errors; every error names file, line, field.
public enum ScenarioLoader {
    /// The folder of shipped scenarios: `Scenarios/` under the current directory, else under the
    /// package that was built (development builds and tests).
    public static var scenariosFolder: String {
        let local = FileManager.default.currentDirectoryPath + "/Scenarios"
        if FileManager.default.fileExists(atPath: local) { return local }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Scenarios").path
    }

    /// Names of the shipped scenarios, sorted.
    public static func shippedNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: scenariosFolder)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Resolves a name of `Scenarios/` or a path to a file, and loads it.
    public static func load(nameOrPath: String) throws(ScenarioError) -> Scenario {
        let path: String
        if nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") || nameOrPath.contains("/") {
            path = nameOrPath
        } else {
            path = scenariosFolder + "/\(nameOrPath).yaml"
            guard FileManager.default.fileExists(atPath: path) else {
                let known = shippedNames().joined(separator: ", ")
                throw ScenarioError(file: nameOrPath, line: nil, field: "name", problem: "no such scenario (shipped: \(known))")
            }
        }
        let bytes: [UInt8]
        do { bytes = try InputFile.read(path) } catch { throw ScenarioError(file: path, line: nil, field: "file", problem: error.problem) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = StrictJSON.firstInvalidUTF8Offset(bytes)
            throw ScenarioError(file: path, line: bytes[..<offset].filter { $0 == 10 }.count + 1, field: "document", problem: "not UTF-8 text (byte \(offset))")
        }
        return try parse(text, file: path)
    }

    /// Whether `name` may name a scenario: it becomes part of seed-file names, so letters, digits,
    /// `_`, `-` and `.` only, not starting with a dot (no path can be smuggled in).
    public static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { ("a" ... "z").contains($0) || ("A" ... "Z").contains($0) || ("0" ... "9").contains($0) || "_-.".unicodeScalars.contains($0) }
    }

    public static func parse(_ text: String, file: String) throws(ScenarioError) -> Scenario {
        let root: Yams.Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ScenarioError(file: file, line: nil, field: "document", problem: "the file is empty")
            }
            root = node
        } catch let error as ScenarioError {
            throw error
        } catch let error as YamlError {
            throw ScenarioError(file: file, line: yamlLine(error), field: "document", problem: "not valid YAML: \(yamlProblem(error))")
        } catch {
            throw ScenarioError(file: file, line: nil, field: "document", problem: "not valid YAML: \(error)")
        }
        var scenario = try ScenarioReader(reader: FieldReader(file: file)).scenario(root, digest: stableHash(text))
        scenario.text = text
        return scenario
    }

    static func yamlLine(_ error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return nil
        }
    }

    /// The problem in one line (Yams quotes the whole document for some errors, such as a
    /// duplicate key).
    static func yamlProblem(_ error: YamlError) -> String {
        let text: String
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): text = problem
        case .duplicatedKeysInMapping(let duplicates, _): text = "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", "))"
        default: text = "\(error)"
        }
        let first = text.splitBytes("\n").first.map(String.init) ?? text
        return first.replacingOccurrences(of: "Parser: ", with: "")
    }
}

/// Reads a scenario's top-level keys; topology, workloads and checks read their own.
struct ScenarioReader {
    let reader: FieldReader
    var file: String { reader.file }
    func fail(_ node: Yams.Node?, _ field: String, _ problem: String) -> ScenarioError { reader.fail(node, field, problem) }

    func scenario(_ root: Yams.Node, digest: UInt64) throws(ScenarioError) -> Scenario {
        let keys = ["name", "summary", "incident", "topology", "workloads", "defects", "faults", "duration_s", "liveness", "checks"]
        var name: String?, summary = "", incident = ""
        var topology = Topology(nodes: [])
        var workloads: [any Workload] = []
        var defects: [(DefectID, Yams.Node)] = []
        var profile = FaultProfile.none
        var crashes: [(CrashFault, Yams.Node)] = [], partitions: [(PartitionFault, Yams.Node)] = []
        var duration: Int64 = 120, healAt: Int64 = 60, converge: Int64 = 60
        var minAccuracy = 0.8
        var checks: [(String, Yams.Node)]?
        var durationNode: Yams.Node?, topologyNode: Yams.Node?
        for (key, value, _) in try reader.mapping(root, "", allowed: keys) {
            switch key {
            case "name":
                name = try reader.string(value, key)
                guard let name, ScenarioLoader.isSafeName(name) else {
                    throw fail(value, key, "a scenario name is 1-128 ASCII letters, digits, '_', '-' and '.', not starting with '.' (it names seed files)")
                }
            case "summary": summary = try reader.string(value, key)
            case "incident": incident = try reader.string(value, key)
            case "topology":
                topology = try TopologyReader(reader: reader).topology(value)
                topologyNode = value
            case "workloads":
                guard let mapping = value.mapping else { throw fail(value, key, "expected a mapping of workload names to their settings") }
                for (keyNode, settings) in mapping {
                    guard let workloadName = keyNode.string, let workloadType = WorkloadRegistry.type(named: workloadName) else {
                        throw fail(keyNode, "workloads.\(keyNode.string ?? "?")", "unknown workload (known: \(WorkloadRegistry.names.joined(separator: ", ")))")
                    }
                    guard !workloads.contains(where: { type(of: $0).name == workloadName }) else { throw fail(keyNode, "workloads.\(workloadName)", "duplicate key") }
                    let node: Yams.Node? = settings.scalar.map { $0.string.isEmpty || $0.string == "~" ? nil : settings } ?? settings
                    workloads.append(try workloadType.init(reading: node, field: "workloads.\(workloadName)", reader: reader))
                }
            case "defects":
                for (i, item) in try reader.list(value, key).enumerated() {
                    let text = try reader.string(item, "defects[\(i)]")
                    guard let id = DefectID(rawValue: text.uppercased()) else {
                        throw fail(item, "defects[\(i)]", "unknown defect '\(text)' (known: \(DefectID.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    defects.append((id, item))
                }
            case "faults":
                for (k, v, _) in try reader.mapping(value, key, allowed: ["profile", "crashes", "partitions"]) {
                    let field = "faults.\(k)"
                    switch k {
                    case "profile":
                        let text = try reader.string(v, field)
                        guard let p = FaultProfile(rawValue: text) else { throw fail(v, field, "unknown profile '\(text)' (none, lite, swarm)") }
                        profile = p
                    case "crashes":
                        for (i, item) in try reader.list(v, field).enumerated() {
                            var crash = CrashFault(node: "", atMs: 0, restartAfterMs: 1000)
                            for (ck, cv, _) in try reader.mapping(item, "\(field)[\(i)]", allowed: ["node", "at_ms", "restart_after_ms"]) {
                                let f = "\(field)[\(i)].\(ck)"
                                switch ck {
                                case "node": crash.node = try reader.string(cv, f)
                                case "at_ms": crash.atMs = try reader.integer(cv, f, in: 0 ... 86_400_000)
                                default: crash.restartAfterMs = try reader.integer(cv, f, in: 0 ... 86_400_000)
                                }
                            }
                            if crash.node.isEmpty { throw fail(item, "\(field)[\(i)].node", "missing") }
                            crashes.append((crash, item))
                        }
                    default:
                        for (i, item) in try reader.list(v, field).enumerated() {
                            var partition = PartitionFault(sideA: [], sideB: [], atMs: 0, durationMs: 1000)
                            for (pk, pv, _) in try reader.mapping(item, "\(field)[\(i)]", allowed: ["side_a", "side_b", "at_ms", "duration_ms"]) {
                                let f = "\(field)[\(i)].\(pk)"
                                switch pk {
                                case "side_a": partition.sideA = try reader.list(pv, f).map { (n) throws(ScenarioError) in try reader.string(n, f) }
                                case "side_b": partition.sideB = try reader.list(pv, f).map { (n) throws(ScenarioError) in try reader.string(n, f) }
                                case "at_ms": partition.atMs = try reader.integer(pv, f, in: 0 ... 86_400_000)
                                default: partition.durationMs = try reader.integer(pv, f, in: 0 ... 86_400_000)
                                }
                            }
                            partitions.append((partition, item))
                        }
                    }
                }
            case "duration_s":
                duration = try reader.integer(value, key, in: 1 ... 86_400)
                durationNode = value
            case "liveness":
                for (k, v, _) in try reader.mapping(value, key, allowed: ["heal_at_s", "converge_within_s", "min_accuracy"]) {
                    let field = "liveness.\(k)"
                    switch k {
                    case "heal_at_s": healAt = try reader.integer(v, field, in: 0 ... 86_400)
                    case "converge_within_s": converge = try reader.integer(v, field, in: 1 ... 86_400)
                    default: minAccuracy = try reader.number(v, field, in: 0 ... 1)
                    }
                }
            default:
                var listed: [(String, Yams.Node)] = []
                for (i, item) in try reader.list(value, key).enumerated() {
                    let check = try reader.string(item, "checks[\(i)]")
                    guard CheckerRegistry.type(named: check) != nil else {
                        throw fail(item, "checks[\(i)]", "unknown check '\(check)' (known: \(CheckerRegistry.names.joined(separator: ", ")))")
                    }
                    guard !listed.contains(where: { $0.0 == check }) else { throw fail(item, "checks[\(i)]", "'\(check)' is listed twice") }
                    listed.append((check, item))
                }
                guard !listed.isEmpty else { throw fail(value, key, "no checks: a scenario needs at least one (known: \(CheckerRegistry.names.joined(separator: ", ")))") }
                checks = listed
            }
        }
        guard let name else { throw fail(root, "name", "missing") }
        guard topologyNode != nil else { throw fail(root, "topology", "missing (the nodes of the platform and their roles)") }
        guard healAt + converge <= duration else {
            throw fail(durationNode ?? root, "duration_s", "\(duration) s is shorter than liveness.heal_at_s + liveness.converge_within_s = \(healAt + converge) s")
        }
        for workload in workloads {
            let workloadType = type(of: workload)
            if let missing = workloadType.requiredRoles.first(where: { !topology.has(role: $0) }) {
                throw fail(topologyNode, "workloads.\(workloadType.name)", "needs a node with role '\(missing)' in the topology")
            }
            if let problem = workload.validate(topology: topology) { throw fail(topologyNode, "workloads.\(workloadType.name)", problem) }
        }
        let nodeNames = Set(topology.names)
        // Faults belong to the safety phase: a crash or partition starting at or after the heal
        // would never be healed and end in a liveness failure that is no bug.
        for (i, (crash, item)) in crashes.enumerated() {
            guard nodeNames.contains(crash.node) else { throw fail(item, "faults.crashes[\(i)].node", "no node '\(crash.node)' in the topology") }
            guard topology.crashable.contains(crash.node) else {
                throw fail(item, "faults.crashes[\(i)].node", "node '\(crash.node)' is not crashable (crashable: false in the topology)")
            }
            guard crash.atMs < healAt * 1000 else {
                throw fail(item, "faults.crashes[\(i)].at_ms", "\(crash.atMs) ms is not before liveness.heal_at_s (\(healAt) s): faults happen in the safety phase")
            }
        }
        for (i, (partition, item)) in partitions.enumerated() {
            for node in partition.sideA + partition.sideB where !nodeNames.contains(node) {
                throw fail(item, "faults.partitions[\(i)]", "no node '\(node)' in the topology")
            }
            if partition.sideA.isEmpty || partition.sideB.isEmpty {
                throw fail(item, "faults.partitions[\(i)]", "both sides need at least one node")
            }
            if let both = partition.sideA.first(where: partition.sideB.contains) {
                throw fail(item, "faults.partitions[\(i)]", "node '\(both)' is on both sides")
            }
            guard partition.atMs < healAt * 1000 else {
                throw fail(item, "faults.partitions[\(i)].at_ms", "\(partition.atMs) ms is not before liveness.heal_at_s (\(healAt) s): faults happen in the safety phase")
            }
        }
        var scenario = Scenario(name: name, summary: summary, incident: incident, topology: topology, workloads: workloads, defects: defects.map(\.0),
                                faultProfile: profile, explicitCrashes: crashes.map(\.0), explicitPartitions: partitions.map(\.0), healAtSeconds: healAt,
                                convergeWithinSeconds: converge, durationSeconds: duration, minAccuracy: minAccuracy, checks: [], digest: digest, path: file)
        // Checks: the listed ones, each of which must be able to fire here; by default every
        // registered check that can.
        if let checks {
            for (index, (check, item)) in checks.enumerated() {
                if let why = CheckerRegistry.type(named: check)!.whyItCannotFire(in: scenario) {
                    throw fail(item, "checks[\(index)]", "'\(check)' can never fire in this scenario: \(why)")
                }
            }
            scenario.checks = checks.map(\.0)
        } else {
            scenario.checks = CheckerRegistry.all.filter { $0.whyItCannotFire(in: scenario) == nil }.map { $0.name }
            guard !scenario.checks.isEmpty else {
                throw fail(root, "checks", "no check can fire in this scenario (it has no workload that drives one): it would pass whatever happens")
            }
        }
        for (index, (defect, item)) in defects.enumerated() {
            if let why = scenario.whyDefectCannotFire(defect) { throw fail(item, "defects[\(index)]", why) }
        }
        return scenario
    }
}

import Foundation
import SimKernel
import SimServices
import Yams

/// A scenario file that cannot be used: names the file, the line and the field.
public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var field: String
    public var problem: String
    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(field): \(problem)"
    }
}

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
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: path, line: nil, field: "file", problem: "cannot read the file")
        }
        return try parse(text, file: path)
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
        var reader = FieldReader(file: file)
        return try reader.scenario(root, digest: stableHash(text))
    }

    static func yamlLine(_ error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    static func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _): return problem
        default: return "\(error)"
        }
    }
}

/// Walks the YAML tree with the path of the field being read, for error messages.
struct FieldReader {
    let file: String

    func fail(_ node: Yams.Node?, _ field: String, _ problem: String) -> ScenarioError {
        ScenarioError(file: file, line: node?.mark.map { $0.line }, field: field, problem: problem)
    }

    /// The mapping at `node`, with its keys checked against `allowed`.
    func mapping(_ node: Yams.Node, _ field: String, allowed: [String]) throws(ScenarioError) -> [(key: String, value: Yams.Node, keyNode: Yams.Node)] {
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

    func string(_ node: Yams.Node, _ field: String) throws(ScenarioError) -> String {
        guard let value = node.scalar?.string else { throw fail(node, field, "expected a string") }
        return value
    }

    func integer(_ node: Yams.Node, _ field: String, in range: ClosedRange<Int64>) throws(ScenarioError) -> Int64 {
        guard let text = node.scalar?.string, let value = Int64(text) else { throw fail(node, field, "expected an integer, got '\(node.scalar?.string ?? "a collection")'") }
        guard range.contains(value) else { throw fail(node, field, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func number(_ node: Yams.Node, _ field: String, in range: ClosedRange<Double>) throws(ScenarioError) -> Double {
        guard let text = node.scalar?.string, let value = Double(text), value.isFinite else { throw fail(node, field, "expected a number") }
        guard range.contains(value) else { throw fail(node, field, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func list(_ node: Yams.Node, _ field: String) throws(ScenarioError) -> [Yams.Node] {
        guard let sequence = node.sequence else { throw fail(node, field, "expected a list") }
        return Array(sequence)
    }

    mutating func scenario(_ root: Yams.Node, digest: UInt64) throws(ScenarioError) -> Scenario {
        let keys = ["name", "platform", "summary", "incident", "topology", "workload", "defects", "faults", "duration_s", "liveness", "checks"]
        var kind = ScenarioKind.training
        var checksGiven = false
        var name: String?, summary = "", incident = ""
        var platform = TrainingPlatformConfiguration()
        var defects: [DefectID] = []
        var profile = FaultProfile.none
        var crashes: [CrashFault] = [], partitions: [PartitionFault] = []
        var duration: Int64 = 120, healAt: Int64 = 60, converge: Int64 = 60
        var minAccuracy = 0.8
        var checks = Scenario.knownChecks
        var durationNode: Yams.Node?
        for (key, value, _) in try mapping(root, "", allowed: keys) {
            switch key {
            case "name": name = try string(value, key)
            case "platform":
                let text = try string(value, key)
                guard let parsed = ScenarioKind(rawValue: text) else { throw fail(value, key, "unknown platform '\(text)' (training, cold_start)") }
                kind = parsed
            case "summary": summary = try string(value, key)
            case "incident": incident = try string(value, key)
            case "topology":
                for (k, v, _) in try mapping(value, key, allowed: ["parameter_servers", "workers", "worker_speed_percent"]) {
                    let field = "topology.\(k)"
                    switch k {
                    case "parameter_servers": platform.parameterServers = Int(try integer(v, field, in: 1 ... 8))
                    case "workers": platform.workers = Int(try integer(v, field, in: 1 ... 32))
                    default: platform.workerSpeedPercent = try list(v, field).enumerated().map { (i, n) throws(ScenarioError) in Int(try integer(n, "\(field)[\(i)]", in: 10 ... 1000)) }
                    }
                }
            case "workload": try workload(value, into: &platform)
            case "defects":
                for (i, item) in try list(value, key).enumerated() {
                    let text = try string(item, "defects[\(i)]")
                    guard let id = DefectID(rawValue: text.uppercased()) else {
                        throw fail(item, "defects[\(i)]", "unknown defect '\(text)' (known: \(DefectID.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    defects.append(id)
                }
            case "faults":
                for (k, v, _) in try mapping(value, key, allowed: ["profile", "crashes", "partitions"]) {
                    let field = "faults.\(k)"
                    switch k {
                    case "profile":
                        let text = try string(v, field)
                        guard let p = FaultProfile(rawValue: text) else { throw fail(v, field, "unknown profile '\(text)' (none, lite, swarm)") }
                        profile = p
                    case "crashes":
                        for (i, item) in try list(v, field).enumerated() {
                            var crash = CrashFault(node: "", atMs: 0, restartAfterMs: 1000)
                            for (ck, cv, _) in try mapping(item, "\(field)[\(i)]", allowed: ["node", "at_ms", "restart_after_ms"]) {
                                let f = "\(field)[\(i)].\(ck)"
                                switch ck {
                                case "node": crash.node = try string(cv, f)
                                case "at_ms": crash.atMs = try integer(cv, f, in: 0 ... 86_400_000)
                                default: crash.restartAfterMs = try integer(cv, f, in: 0 ... 86_400_000)
                                }
                            }
                            if crash.node.isEmpty { throw fail(item, "\(field)[\(i)].node", "missing") }
                            crashes.append(crash)
                        }
                    default:
                        for (i, item) in try list(v, field).enumerated() {
                            var partition = PartitionFault(sideA: [], sideB: [], atMs: 0, durationMs: 1000)
                            for (pk, pv, _) in try mapping(item, "\(field)[\(i)]", allowed: ["side_a", "side_b", "at_ms", "duration_ms"]) {
                                let f = "\(field)[\(i)].\(pk)"
                                switch pk {
                                case "side_a": partition.sideA = try list(pv, f).map { (n) throws(ScenarioError) in try string(n, f) }
                                case "side_b": partition.sideB = try list(pv, f).map { (n) throws(ScenarioError) in try string(n, f) }
                                case "at_ms": partition.atMs = try integer(pv, f, in: 0 ... 86_400_000)
                                default: partition.durationMs = try integer(pv, f, in: 0 ... 86_400_000)
                                }
                            }
                            partitions.append(partition)
                        }
                    }
                }
            case "duration_s":
                duration = try integer(value, key, in: 1 ... 86_400)
                durationNode = value
            case "liveness":
                for (k, v, _) in try mapping(value, key, allowed: ["heal_at_s", "converge_within_s", "min_accuracy"]) {
                    let field = "liveness.\(k)"
                    switch k {
                    case "heal_at_s": healAt = try integer(v, field, in: 0 ... 86_400)
                    case "converge_within_s": converge = try integer(v, field, in: 1 ... 86_400)
                    default: minAccuracy = try number(v, field, in: 0 ... 1)
                    }
                }
            default:
                checks = []
                checksGiven = true
                for (i, item) in try list(value, key).enumerated() {
                    let check = try string(item, "checks[\(i)]")
                    guard Scenario.knownChecks.contains(check) else {
                        throw fail(item, "checks[\(i)]", "unknown check '\(check)' (known: \(Scenario.knownChecks.joined(separator: ", ")))")
                    }
                    checks.append(check)
                }
            }
        }
        guard let name else { throw fail(root, "name", "missing") }
        if !checksGiven { checks = Scenario.checks(of: kind) }
        guard healAt + converge <= duration else {
            throw fail(durationNode ?? root, "duration_s", "\(duration) s is shorter than liveness.heal_at_s + liveness.converge_within_s = \(healAt + converge) s")
        }
        let nodeNames = kind == .coldStart ? Set(ServicePlatform.infrastructure + ServicePlatform.services + ["client"])
            : Set(["training", "scheduler", "client", "storage"] + (0 ..< platform.parameterServers).map { "ps-\($0)" } + (0 ..< platform.workers).map { "worker-\($0)" })
        for (i, crash) in crashes.enumerated() where !nodeNames.contains(crash.node) {
            throw fail(root, "faults.crashes[\(i)].node", "no node '\(crash.node)' in the topology")
        }
        for (i, partition) in partitions.enumerated() {
            for node in partition.sideA + partition.sideB where !nodeNames.contains(node) {
                throw fail(root, "faults.partitions[\(i)]", "no node '\(node)' in the topology")
            }
        }
        var scenario = Scenario(name: name, summary: summary, incident: incident, platform: platform, defects: defects, faultProfile: profile,
                        explicitCrashes: crashes, explicitPartitions: partitions, healAtSeconds: healAt, convergeWithinSeconds: converge,
                        durationSeconds: duration, minAccuracy: minAccuracy, checks: checks, digest: digest, path: file)
        scenario.kind = kind
        return scenario
    }

    func workload(_ node: Yams.Node, into platform: inout TrainingPlatformConfiguration) throws(ScenarioError) {
        let keys = ["dataset_seed", "sync", "staleness", "steps", "micro_batches", "micro_batch_size", "learning_rate", "warmup_steps",
                    "checkpoint_interval", "report_interval", "step_time_ms", "initial_loss_scale", "loss_scale_growth_interval", "apply_latency_us"]
        for (key, value, _) in try mapping(node, "workload", allowed: keys) {
            let field = "workload.\(key)"
            switch key {
            case "sync":
                let text = try string(value, field)
                guard let mode = SyncMode(rawValue: text) else { throw fail(value, field, "unknown sync mode '\(text)' (bsp, ssp, asp)") }
                platform.job.syncMode = mode
            case "dataset_seed": platform.job.datasetSeed = UInt64(try integer(value, field, in: 0 ... Int64.max))
            case "staleness": platform.job.staleness = Int(try integer(value, field, in: 0 ... 1000))
            case "steps": platform.job.steps = Int(try integer(value, field, in: 1 ... 100_000))
            case "micro_batches": platform.job.microBatches = Int(try integer(value, field, in: 1 ... 64))
            case "micro_batch_size": platform.job.microBatchSize = Int(try integer(value, field, in: 1 ... 1024))
            case "learning_rate": platform.job.learningRate = Float(try number(value, field, in: 0.000_001 ... 100))
            case "warmup_steps": platform.job.warmupSteps = Int(try integer(value, field, in: 0 ... 100_000))
            case "checkpoint_interval": platform.job.checkpointInterval = Int(try integer(value, field, in: 1 ... 100_000))
            case "report_interval": platform.job.reportInterval = Int(try integer(value, field, in: 1 ... 100_000))
            case "step_time_ms": platform.job.stepTimeMs = Int(try integer(value, field, in: 1 ... 3_600_000))
            case "initial_loss_scale": platform.job.initialLossScale = Float(try number(value, field, in: 1 ... 16_777_216))
            case "loss_scale_growth_interval": platform.job.lossScaleGrowthInterval = Int(try integer(value, field, in: 1 ... 1_000_000))
            default: platform.applyLatencyMicros = Int(try integer(value, field, in: 0 ... 10_000_000))
            }
        }
    }
}

extension RegistryService {
    /// Each model's versions are 1, 2, ... n with no gap and no duplicate (MAX+1 under
    /// concurrency), each with a checksum, and each version's artifact in the `models` bucket
    /// verifies and matches the recorded checksum; every stage is one of the life cycle's, and a
    /// model has at most one Production version (archive-on-promote); a version trained by a run
    /// records the run's dataset digest and code version (lineage).
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("models_db", "model_versions"), let rows = view.rows("models_db", "SELECT model, version, checksum, stage FROM model_versions ORDER BY model, version") else { return [] }
        var violations: [String] = []
        var versions: [String: [Int64]] = [:]
        var order: [String] = []
        var production: [String: [Int64]] = [:]
        for row in rows {
            let model = row[0].text ?? "?"
            if versions[model] == nil { order.append(model) }
            versions[model, default: []].append(row[1].integer ?? -1)
            if ModelStage(rawValue: row[3].text ?? "") == nil { violations.append("registry: \(model) v\(row[1].plain) has stage '\(row[3].plain)', not one of the life cycle's") }
            if row[3].text == ModelStage.production.rawValue { production[model, default: []].append(row[1].integer ?? -1) }
            let checksum = row[2].text ?? ""
            if checksum.isEmpty {
                violations.append("registry: \(model) v\(row[1].plain) has no checksum")
            } else if case .failure(let problem)? = view.object(bucket: "models", key: "\(model)/\(row[1].plain)"), problem == .corrupt {
                violations.append("registry: the artifact of \(model) v\(row[1].plain) fails its checksum")
            } else if case .success(let bytes)? = view.object(bucket: "models", key: "\(model)/\(row[1].plain)"), hexString(crc32(bytes)) != checksum {
                violations.append("registry: the artifact of \(model) v\(row[1].plain) has CRC-32 \(hexString(crc32(bytes))), recorded \(checksum)")
            }
        }
        // Lineage: a version trained by a run records that run's dataset and code, as experiments_db has them.
        for row in view.rows("models_db", "SELECT model, version, run, data_digest, code_version FROM model_versions WHERE run IS NOT NULL ORDER BY model, version") ?? [] {
            guard let run = row[2].integer, let recorded = view.rows("experiments_db", "SELECT data_digest, code_version FROM runs WHERE id = \(run)")?.first else { continue }
            if recorded[0].text != row[3].text || recorded[1].text != row[4].text {
                violations.append("registry: \(row[0].plain) v\(row[1].plain) records run \(run) with dataset \(row[3].plain) and code \(row[4].plain), but the run has \(recorded[0].plain) and \(recorded[1].plain)")
            }
        }
        for model in order where versions[model] != (1 ... Int64(versions[model]!.count)).map({ $0 }) {
            violations.append("registry: \(model) has versions \(versions[model]!), not 1...\(versions[model]!.count)")
        }
        for model in order where (production[model]?.count ?? 0) > 1 {
            violations.append("registry: \(model) has \(production[model]!.count) Production versions \(production[model]!)")
        }
        return violations
    }
}

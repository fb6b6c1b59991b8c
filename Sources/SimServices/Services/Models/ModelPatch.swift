import Foundation
import SimKernel

/// `POST models/update {name, patch}`: changes the caller's model by a JSON merge patch (RFC 7386,
/// string values). Only `patchable` fields may be patched: a patch naming any other field (the
/// tenant, the id, the revision...) is refused 403 and logged, never partly applied. The row is
/// looked up within the caller's tenant; its revision goes up by one and the search mirror follows.
/// I7 writes every field of the patch that names a column (mass assignment).
extension ModelsService {
    public struct Update: Codable, Sendable, Equatable {
        public var name: String
        /// A JSON object of strings, e.g. `{"description": "scores churn"}`.
        public var patch: String
    }

    /// The fields a caller may change.
    public static let patchable = ["description", "signature"]
    /// The models table's columns, in the order the update reads them back.
    public static let columns = ["id", "tenant", "name", "signature", "description", "revision"]

    /// Whether `signature` is `name:type` pairs separated by commas.
    static func isSignature(_ signature: String) -> Bool {
        signature.splitBytes(",", omittingEmptySubsequences: false).allSatisfy {
            $0.splitBytes(":", omittingEmptySubsequences: false).count == 2 && !$0.hasPrefix(":") && !$0.hasSuffix(":")
        }
    }

    static func update(_ runtime: ServiceRuntime, _ request: Update, _ info: RequestInfo) async throws(ServiceError) -> ModelRecord {
        guard let tenant = info.tenant, info.user != nil else { throw ServiceError(401, "updating a model needs an authenticated caller") }
        guard let patch = try? JSONDecoder().decode([String: String].self, from: Data(request.patch.utf8)), !patch.isEmpty else {
            throw .badRequest("patch: '\(request.patch)' is not a non-empty JSON object of strings")
        }
        let asked = patch.keys.sorted()  // determinism-ok: sorted
        let written: [String]
        if runtime.defects.contains(.I7) {
            written = asked.filter(columns.contains)  // I7: whatever the patch names
        } else {
            if let protected = asked.first(where: { !patchable.contains($0) }) {
                throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "field \(protected) may not be changed", detail: "update \(request.name)", status: 403)
            }
            written = asked
        }
        if let signature = patch["signature"], !isSignature(signature) { throw .badRequest("signature: '\(signature)' is not name:type pairs") }
        let name = request.name, select = "SELECT \(columns.joined(separator: ", ")) FROM models"
        func row(_ values: [SQLValue]?) -> [String: String] {
            Dictionary(uniqueKeysWithValues: zip(columns, (values ?? []).map(\.plain)))
        }
        enum Updated: Sendable { case missing, updated(before: [SQLValue], after: [SQLValue]) }
        let result = await runtime.interactive("update-\(tenant)-\(name)") { session -> Result<Updated, SQLClientError> in
            guard case .success(let found) = await session.execute("\(select) WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)]) else {
                return .failure(.sql(SQLError(kind: .other, message: "cannot read the model")))
            }
            guard let before = found.rows.first, let id = before[0].integer else { return .success(.missing) }
            // The revision's increment first: when a patch names the revision too (I7), SQLite
            // keeps the rightmost assignment, the patch's.
            let sets = (["revision = revision + 1"] + written.map { "\($0) = ?" }).joined(separator: ", ")
            if case .failure(let error) = await session.execute("UPDATE models SET \(sets) WHERE id = ?", written.map { .text(patch[$0]!) } + [.integer(id)]) {
                return .failure(error)
            }
            guard case .success(let after) = await session.execute("\(select) WHERE id = ?", [.integer(id)]), let row = after.rows.first else {
                return .failure(.sql(SQLError(kind: .other, message: "cannot read the model back")))
            }
            return .success(.updated(before: before, after: row))
        }
        switch result {
        case .success(.missing): throw ServiceError(404, "no model \(name)")
        case .failure(let error): throw .unavailable("cannot update the model: \(error)")
        case .success(.updated(let beforeRow, let afterRow)):
            let before = row(beforeRow), after = row(afterRow)
            let security = runtime.context.simulation.security
            security.modelUpdates.append((runtime.context.simulation.now, SecurityEvents.caller(info), asked, before, after))
            security.revision &+= 1
            guard let id = afterRow[0].integer, let revision = Int64(after["revision"] ?? "") else { throw .internalError("updated row malformed: \(after)") }
            try await ModelMirror.write(runtime, id: id, document: ["name": after["name"] ?? "", "tenant": after["tenant"] ?? "", "description": after["description"] ?? ""], revision: revision)
            return ModelRecord(id: id, signature: after["signature"] ?? "", revision: revision)
        }
    }
}

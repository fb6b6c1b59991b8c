import SimKernel

/// The models service's search mirror: a model's document carries the database row's `revision`,
/// and is written with the search index's optimistic concurrency (`if_seq_no` of the document
/// read just before), so a mirror that lost a race reads again and never writes an older revision
/// over a newer one: the index is never behind the row.
enum ModelMirror {
    /// Mirrors `document` (which has `revision`) for model `id`; retried on a conflict.
    static func write(_ runtime: ServiceRuntime, id: Int64, document: [String: String], revision: Int64) async throws(ServiceError) {
        let context = runtime.context
        for _ in 0 ..< 5 {
            var seqNo: Int?, primaryTerm: Int?
            switch await runtime.search.request(.get("models", id: "\(id)"), context: context) {
            case .success(.document(let current, let seq, let term)):
                if let mirrored = current["revision"].flatMap({ Int64($0) }), mirrored >= revision { return }  // a newer write got there
                seqNo = seq
                primaryTerm = term
            case .failure(.server(.documentMissing)): break
            case .failure(let error): throw .internalError("search mirror failed: \(error)")
            default: break
            }
            var mirrored = document
            mirrored["revision"] = "\(revision)"
            switch await runtime.search.request(.index("models", id: "\(id)", document: mirrored, ifSeqNo: seqNo, ifPrimaryTerm: primaryTerm), context: context) {
            case .success: return
            case .failure(.server(.versionConflict)): continue  // another writer: read again
            case .failure(let error): throw .internalError("search mirror failed: \(error)")
            }
        }
        throw .unavailable("search mirror kept conflicting")
    }
}


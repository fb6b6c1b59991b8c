import SimKernel

/// Artifact storage on its node's disk. A save streams chunks into a temp file private to its
/// writer; `commit` checks the assembled bytes against the writer's checksum (chunks acknowledged
/// before a storage crash may be gone), fsyncs, renames into place atomically and syncs the
/// directory. A committed checkpoint is whole and durable; a crash mid-save leaves no partial object.
///
/// Defect X1 shares one temp file per path among all writers: concurrent saves interleave.
public enum StorageService {
    public static func run(defects: DefectSet, context: ProcessContext) async {
        let inbox = context.mailbox("storage")
        while true {
            let envelope = await inbox.receive()
            guard let message = envelope.payload as? TrainingMessage else { continue }
            context.simulation.spawn { await handle(message, envelope, defects: defects, context: context) }
        }
    }

    static func temporaryPath(_ path: String, writer: String, defects: DefectSet) -> String {
        defects.contains(.X1) ? "\(path).tmp" : "\(path).tmp.\(writer)"
    }

    static func handle(_ message: TrainingMessage, _ envelope: Envelope, defects: DefectSet, context: ProcessContext) async {
        switch message {
        case .saveChunk(let path, let writer, let offset, let bytes):
            do {
                try await context.diskWrite(temporaryPath(path, writer: writer, defects: defects), at: offset, bytes)
                context.reply(to: envelope, TrainingMessage.ok)
            } catch {
                context.record(.storageError, payload: stableHash(path), "\(error)")
            }
        case .commit(let path, let writer, let length, let checksum):
            let temporary = temporaryPath(path, writer: writer, defects: defects)
            guard context.disk.exists(temporary) else {
                // Already published by an earlier try of this commit, or the parts were lost.
                let published = (try? context.disk.readAll(path)).map { $0.count == length && crc32($0) == checksum } ?? false
                context.reply(to: envelope, published ? TrainingMessage.committed(path: path) : TrainingMessage.commitRejected(path: path))
                return
            }
            do {
                try context.disk.truncate(temporary, to: length)
                let assembled = try context.disk.readAll(temporary)
                // Defect X1 shares the temp file, and its writers trust it: no verification.
                if !defects.contains(.X1) && crc32(assembled) != checksum {
                    try? context.disk.delete(temporary)
                    context.record(.storageRejected, payload: stableHash(path), "\(path): assembled bytes do not match the checksum")
                    context.reply(to: envelope, TrainingMessage.commitRejected(path: path))
                    return
                }
                try await context.diskSync(temporary)
                try context.disk.rename(temporary, to: path)
                context.disk.syncDirectory()
                context.simulation.training.checkpointCommits.append(path)
                context.record(.storageCommit, payload: stableHash(path), "\(path) \(length) bytes by \(writer)")
            } catch {
                context.record(.storageError, payload: stableHash(path), "\(error)")
                return
            }
            context.reply(to: envelope, TrainingMessage.committed(path: path))
        case .listCheckpoints(let prefix):
            let paths = context.disk.list(prefix: prefix).filter { !$0.contains(".tmp") }
            context.reply(to: envelope, TrainingMessage.checkpointList(paths))
        case .load(let path):
            context.reply(to: envelope, TrainingMessage.loaded(bytes: try? context.disk.readAll(path)))
        default:
            break
        }
    }
}

extension TraceKind {
    public static let storageCommit = TraceKind("storage.commit")
    public static let storageError = TraceKind("storage.error")
    public static let storageRejected = TraceKind("storage.rejected")
}

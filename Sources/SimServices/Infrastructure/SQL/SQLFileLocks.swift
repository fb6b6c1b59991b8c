import CSQLite
import SimKernel

/// SQLite's file locks (NONE < SHARED < RESERVED < PENDING < EXCLUSIVE) between the connections
/// of one simulation, per database file and node epoch, as the unix VFS keeps them per inode:
/// many SHARED holders; one RESERVED writer beside them; PENDING keeps new readers out while the
/// writer waits for the last ones; EXCLUSIVE to write the file. A request that cannot be granted
/// gets `SQLITE_BUSY` at once (no busy handler): the SQL server decides whether that is a lock
/// wait, a serialization failure or a deadlock.
final class SQLFileLocks {
    final class FileState {
        var sharedCount = 0
        /// The strongest lock any connection holds on the file.
        var level: Int32 = SQLITE_LOCK_NONE
    }

    var files: [String: FileState] = [:]

    func state(_ key: String) -> FileState {
        if let existing = files[key] { return existing }
        let created = FileState()
        files[key] = created
        return created
    }

    /// Raises `file`'s lock to `want` (unixLock's rules).
    func lock(_ file: SimulatedFile, to want: Int32) -> Int32 {
        if file.lockLevel >= want { return SQLITE_OK }
        let state = self.state(file.lockKey)
        if state.level != file.lockLevel && (state.level >= SQLITE_LOCK_PENDING || want > SQLITE_LOCK_SHARED) { return SQLITE_BUSY }
        switch want {
        case SQLITE_LOCK_SHARED:
            state.sharedCount += 1
            if state.level < SQLITE_LOCK_SHARED { state.level = SQLITE_LOCK_SHARED }
            file.lockLevel = SQLITE_LOCK_SHARED
        case SQLITE_LOCK_RESERVED:
            state.level = SQLITE_LOCK_RESERVED
            file.lockLevel = SQLITE_LOCK_RESERVED
        default:  // PENDING, then EXCLUSIVE once this connection is the only reader left
            state.level = SQLITE_LOCK_PENDING
            file.lockLevel = SQLITE_LOCK_PENDING
            guard want == SQLITE_LOCK_EXCLUSIVE else { return SQLITE_OK }
            if state.sharedCount > 1 { return SQLITE_BUSY }
            state.level = SQLITE_LOCK_EXCLUSIVE
            file.lockLevel = SQLITE_LOCK_EXCLUSIVE
        }
        return SQLITE_OK
    }

    /// Lowers `file`'s lock to `to` (SHARED or NONE).
    func unlock(_ file: SimulatedFile, to: Int32) {
        guard file.lockLevel > to else { return }
        let state = self.state(file.lockKey)
        if file.lockLevel > SQLITE_LOCK_SHARED { state.level = SQLITE_LOCK_SHARED }
        if to == SQLITE_LOCK_NONE {
            state.sharedCount -= 1
            if state.sharedCount <= 0 {
                state.sharedCount = 0
                state.level = SQLITE_LOCK_NONE
            }
        }
        file.lockLevel = to
    }

    /// Whether any connection holds RESERVED or more.
    func reserved(_ file: SimulatedFile) -> Bool { state(file.lockKey).level >= SQLITE_LOCK_RESERVED }

    /// Whether another connection is waiting to write the file (PENDING): a reader that now wants
    /// to write would wait for it while it waits for that reader.
    func writerWaiting(_ file: SimulatedFile) -> Bool {
        let state = self.state(file.lockKey)
        return state.level >= SQLITE_LOCK_PENDING && file.lockLevel < SQLITE_LOCK_PENDING
    }
}

extension Simulation {
    var sqlFileLocks: SQLFileLocks { component(SQLFileLocks.self) { SQLFileLocks() } }
}

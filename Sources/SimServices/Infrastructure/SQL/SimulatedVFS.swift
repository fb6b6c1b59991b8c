import CSQLite
import SimKernel

/// A SQLite VFS over the simulated disks: every database, journal and temp file of a simulated SQL
/// engine lives on a node's `SimDisk`, so a crash loses or tears exactly what SQLite did not sync.
/// Paths are `/<node>/<file>`; the node is looked up in the simulation running on the calling
/// thread. Randomness and time come from that simulation, never from the host.
///
/// Findings this follows (see ../shared/docs/sqlite-vfs.md): registered as the default VFS (SQLite
/// seeds its PRNG from the default VFS) and the PRNG reset before each database opens; the file
/// struct is `{ sqlite3_file base; void *owner; }`; `pMethods` is cleared first in `xOpen`; short
/// reads zero-fill; a zero-length file does not "exist"; device characteristics 0; the directory is
/// synced on the first `xSync` of a created file and on `xDelete(syncDir)`, as the unix VFS does.
///
/// SQLite's PRNG is global to the process, so simulations that use SQL must not run in parallel
/// threads of one process (exploration runs them in separate processes).
public enum SimulatedVFS {
    public static let name = "synapsenet-sim"

    /// Registers the VFS once per process (as the default VFS).
    public static let registered: Bool = {
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)  // lives for the process
        vfs.initialize(to: sqlite3_vfs())
        vfs.pointee.iVersion = 2
        vfs.pointee.szOsFile = Int32(MemoryLayout<synapsenet_file>.size)
        vfs.pointee.mxPathname = 512
        vfs.pointee.zName = UnsafePointer(strdup(name))
        vfs.pointee.xOpen = { _, zName, file, flags, outFlags in SimulatedVFS.open(zName, file!, flags, outFlags) }
        vfs.pointee.xDelete = { _, zName, syncDirectory in
            guard let (disk, path, node) = SimulatedVFS.locate(zName), node.state != .crashed else { return IOError.delete }
            do { try disk.delete(path) } catch { return IOError.deleteNoent }
            if syncDirectory != 0 { disk.syncDirectory() }
            return SQLITE_OK
        }
        vfs.pointee.xAccess = { _, zName, _, result in
            guard let (disk, path, _) = SimulatedVFS.locate(zName) else { result?.pointee = 0; return SQLITE_OK }
            result?.pointee = ((try? disk.size(path)) ?? 0) > 0 ? 1 : 0
            return SQLITE_OK
        }
        vfs.pointee.xFullPathname = { _, zName, count, out in
            guard let zName, let out else { return SQLITE_CANTOPEN }
            let text = String(cString: zName)
            let full = text.hasPrefix("/") ? text : "/" + text
            guard full.utf8.count < Int(count) else { return SQLITE_CANTOPEN }
            _ = full.withCString { strcpy(out, $0) }
            return SQLITE_OK
        }
        vfs.pointee.xRandomness = { _, count, out in
            guard let out else { return 0 }
            // Outside a simulation (never in practice) the bytes are zero: still deterministic.
            Simulation.current?.withRandom(stream: "sqlite") { random in
                for i in 0 ..< Int(count) { out[i] = CChar(truncatingIfNeeded: random.next()) }
            } ?? { for i in 0 ..< Int(count) { out[i] = 0 } }()
            return count
        }
        vfs.pointee.xSleep = { _, microseconds in microseconds }  // no real sleeping
        vfs.pointee.xCurrentTime = { _, out in
            out?.pointee = Double(SimulatedVFS.julianMilliseconds()) / 86_400_000.0
            return SQLITE_OK
        }
        vfs.pointee.xCurrentTimeInt64 = { _, out in
            out?.pointee = SimulatedVFS.julianMilliseconds()
            return SQLITE_OK
        }
        vfs.pointee.xGetLastError = { _, _, _ in 0 }
        precondition(sqlite3_vfs_register(vfs, 1) == SQLITE_OK, "cannot register the simulated VFS")
        return true
    }()

    /// Virtual time as a Julian day number in milliseconds; virtual time 0 is 2026-01-01T00:00Z.
    static func julianMilliseconds() -> Int64 {
        let epoch: Int64 = 210_866_760_000_000 + 1_767_225_600_000  // Julian ms of the Unix epoch + 2026-01-01
        return epoch + (Simulation.current?.now ?? 0) / Nanos.millisecond
    }

    /// Resets SQLite's PRNG so that it reseeds from this run's `sqlite` stream.
    public static func prepareForRun() {
        _ = registered
        sqlite3_randomness(0, nil)
    }

    /// (disk, path on it, node) for a VFS path `/<node>/<file>`.
    static func locate(_ zName: UnsafePointer<CChar>?) -> (SimDisk, String, Node)? {
        guard let zName, let simulation = Simulation.current else { return nil }
        let text = String(cString: zName)
        let parts = text.splitBytes("/", maxSplits: 1)
        guard parts.count == 2, let node = simulation.node(named: String(parts[0])) else { return nil }
        return (node.disk, String(parts[1]), node)
    }

    nonisolated(unsafe) static var temporaryCounter = 0

    static func open(_ zName: UnsafePointer<CChar>?, _ file: UnsafeMutablePointer<sqlite3_file>,
                     _ flags: Int32, _ outFlags: UnsafeMutablePointer<Int32>?) -> Int32 {
        file.pointee.pMethods = nil  // SQLite must not call xClose on a failed open
        var name = zName
        var ownedName: UnsafeMutablePointer<CChar>?
        if name == nil {
            // Temp files arrive nameless: name them from a counter, on the first node's disk.
            guard let simulation = Simulation.current, let node = simulation.nodes.first else { return SQLITE_CANTOPEN }
            temporaryCounter += 1
            ownedName = strdup("/\(node.name)/sqlite-temp-\(temporaryCounter)")
            name = UnsafePointer(ownedName)
        }
        defer { free(ownedName) }
        guard let (disk, path, node) = locate(name), node.state != .crashed else { return SQLITE_CANTOPEN }
        let exists = disk.exists(path)
        if !exists {
            guard flags & SQLITE_OPEN_CREATE != 0 else { return SQLITE_CANTOPEN }
            disk.create(path)
        }
        guard let simulation = Simulation.current else { return SQLITE_CANTOPEN }
        let handle = SimulatedFile(disk: disk, path: path, node: node, locks: simulation.sqlFileLocks, created: !exists,
                                   deleteOnClose: flags & SQLITE_OPEN_DELETEONCLOSE != 0)
        file.withMemoryRebound(to: synapsenet_file.self, capacity: 1) {
            $0.pointee.owner = Unmanaged.passRetained(handle).toOpaque()
        }
        file.pointee.pMethods = UnsafePointer(ioMethods)
        outFlags?.pointee = flags
        return SQLITE_OK
    }

    static func handle(_ file: UnsafeMutablePointer<sqlite3_file>?) -> SimulatedFile {
        file!.withMemoryRebound(to: synapsenet_file.self, capacity: 1) {
            Unmanaged<SimulatedFile>.fromOpaque($0.pointee.owner).takeUnretainedValue()
        }
    }

    nonisolated(unsafe) static let ioMethods: UnsafeMutablePointer<sqlite3_io_methods> = {
        let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)  // lives for the process
        methods.initialize(to: sqlite3_io_methods())
        methods.pointee.iVersion = 1
        methods.pointee.xClose = { file in
            let handle: Unmanaged<SimulatedFile> = file!.withMemoryRebound(to: synapsenet_file.self, capacity: 1) { Unmanaged.fromOpaque($0.pointee.owner) }
            let object = handle.takeUnretainedValue()
            object.locks.unlock(object, to: SQLITE_LOCK_NONE)  // a closed connection holds no lock
            if object.deleteOnClose && object.isAlive { try? object.disk.delete(object.path) }
            handle.release()
            return SQLITE_OK
        }
        methods.pointee.xRead = { file, buffer, amount, offset in
            let handle = SimulatedVFS.handle(file)
            guard handle.isAlive, let buffer else { return IOError.read }
            guard let bytes = try? handle.disk.read(handle.path, at: Int(offset), count: Int(amount)) else { return IOError.read }
            let out = buffer.assumingMemoryBound(to: UInt8.self)
            bytes.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: bytes.count) }
            if bytes.count < Int(amount) {
                (out + bytes.count).update(repeating: 0, count: Int(amount) - bytes.count)
                return IOError.shortRead
            }
            return SQLITE_OK
        }
        methods.pointee.xWrite = { file, buffer, amount, offset in
            let handle = SimulatedVFS.handle(file)
            guard handle.isAlive, let buffer else { return IOError.write }
            do { try handle.disk.write(handle.path, at: Int(offset), from: UnsafeRawBufferPointer(start: buffer, count: Int(amount))) } catch {
                if case .full? = error as? DiskError { return SQLITE_FULL }
                return IOError.write
            }
            return SQLITE_OK
        }
        methods.pointee.xTruncate = { file, size in
            let handle = SimulatedVFS.handle(file)
            guard handle.isAlive, (try? handle.disk.truncate(handle.path, to: Int(size))) != nil else { return IOError.truncate }
            return SQLITE_OK
        }
        methods.pointee.xSync = { file, _ in
            let handle = SimulatedVFS.handle(file)
            guard handle.isAlive, (try? handle.disk.fsync(handle.path)) != nil else { return IOError.fsync }
            handle.syncs += 1
            if handle.created && handle.isAlive {
                handle.disk.syncDirectory()  // a new file's name is durable only after its directory syncs
                handle.created = false
            }
            return handle.isAlive ? SQLITE_OK : IOError.fsync
        }
        methods.pointee.xFileSize = { file, size in
            let handle = SimulatedVFS.handle(file)
            guard handle.isAlive, let bytes = try? handle.disk.size(handle.path) else { return IOError.fstat }
            size?.pointee = sqlite3_int64(bytes)
            return SQLITE_OK
        }
        methods.pointee.xLock = { file, level in
            let handle = SimulatedVFS.handle(file)
            guard handle.isAlive else { return IOError.lock }
            return handle.locks.lock(handle, to: level)
        }
        methods.pointee.xUnlock = { file, level in
            let handle = SimulatedVFS.handle(file)
            handle.locks.unlock(handle, to: level)
            return SQLITE_OK
        }
        methods.pointee.xCheckReservedLock = { file, result in
            let handle = SimulatedVFS.handle(file)
            result?.pointee = handle.locks.reserved(handle) ? 1 : 0
            return SQLITE_OK
        }
        methods.pointee.xFileControl = { _, _, _ in SQLITE_NOTFOUND }
        methods.pointee.xSectorSize = { _ in 512 }
        methods.pointee.xDeviceCharacteristics = { _ in 0 }
        return methods
    }()
}

/// One open file of the simulated VFS. It belongs to the node epoch that opened it: after a crash
/// every operation fails without touching the disk.
final class SimulatedFile {
    let disk: SimDisk
    let path: String
    let node: Node
    let epoch: UInt64
    var created: Bool
    let deleteOnClose: Bool
    var lockLevel: Int32 = SQLITE_LOCK_NONE
    var syncs = 0
    /// The lock table shared by every connection of the simulation, and this file's key in it.
    let locks: SQLFileLocks
    let lockKey: String

    init(disk: SimDisk, path: String, node: Node, locks: SQLFileLocks, created: Bool, deleteOnClose: Bool) {
        self.locks = locks
        self.disk = disk
        self.path = path
        self.node = node
        self.epoch = node.epoch
        self.created = created
        self.deleteOnClose = deleteOnClose
        lockKey = "\(node.name)#\(node.epoch)/\(path)"
    }

    var isAlive: Bool { node.epoch == epoch && node.state != .crashed }
}

#if canImport(Glibc)
import Glibc
#endif

/// SQLite's extended I/O error codes (C macros Swift cannot import): SQLITE_IOERR | (n << 8).
enum IOError {
    static let read = SQLITE_IOERR | (1 << 8)
    static let shortRead = SQLITE_IOERR | (2 << 8)
    static let write = SQLITE_IOERR | (3 << 8)
    static let fsync = SQLITE_IOERR | (4 << 8)
    static let truncate = SQLITE_IOERR | (6 << 8)
    static let fstat = SQLITE_IOERR | (7 << 8)
    static let delete = SQLITE_IOERR | (10 << 8)
    static let lock = SQLITE_IOERR | (15 << 8)
    static let deleteNoent = SQLITE_IOERR | (23 << 8)
}

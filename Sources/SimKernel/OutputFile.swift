#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A file the simulator's tools write (a trace, a seed file, a report, a shrunk seed), written so
/// that nothing but a regular file is ever replaced and nothing is half-written: the target must be
/// absent or a regular file (never a symbolic link, a device, a folder or a pipe); the bytes go to a
/// new temporary file beside it (`O_EXCL | O_NOFOLLOW`), and only a complete, flushed and synced
/// file is renamed over the target. Every failure is an `OutputFileError` naming the path.
public final class OutputFile {
    public let path: String
    private let temporaryPath: String
    private var file: UnsafeMutablePointer<FILE>?
    private var failure: String?

    /// Why `path` cannot be written, or nil when it can be (absent in an existing folder, or a
    /// regular file). Checked before a long run starts, so a bad path fails at once.
    public static func problem(with path: String) -> String? {
        guard !path.isEmpty else { return "an empty path" }
        var status = stat()
        if lstat(path, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFLNK: return "is a symbolic link (not followed: name the file itself)"
            case S_IFDIR: return "is a folder"
            default: return "is not a regular file (a device, a pipe or a socket): not replaced"
            }
        } else if errno != ENOENT {
            return String(cString: strerror(errno))
        }
        let folder = parentFolder(path)
        var folderStatus = stat()
        guard stat(folder, &folderStatus) == 0 else { return "no folder \(folder)" }
        guard folderStatus.st_mode & S_IFMT == S_IFDIR else { return "\(folder) is not a folder" }
        return nil
    }

    static func parentFolder(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }

    private static let counter = Atomic<Int>(0)

    /// Opens a temporary file beside `path` for writing.
    public init(path: String) throws(OutputFileError) {
        if let problem = Self.problem(with: path) { throw OutputFileError(path: path, reason: problem) }
        self.path = path
        let number = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        let name = path.split(separator: "/").last.map(String.init) ?? path
        temporaryPath = Self.parentFolder(path) + "/.\(name).tmp-\(getpid())-\(number)"
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw OutputFileError(path: path, reason: String(cString: strerror(errno))) }
        guard let file = fdopen(descriptor, "w") else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            unlink(temporaryPath)
            throw OutputFileError(path: path, reason: reason)
        }
        self.file = file
    }

    deinit { abandon() }

    /// Appends text (buffered); a failure is kept and reported by `commit`.
    public func write(_ text: String) {
        guard let file, failure == nil else { return }
        if fputs(text, file) < 0 { failure = String(cString: strerror(errno)) }
    }

    /// Appends bytes.
    public func write(bytes: [UInt8]) {
        guard let file, failure == nil, !bytes.isEmpty else { return }
        if fwrite(bytes, 1, bytes.count, file) != bytes.count { failure = String(cString: strerror(errno)) }
    }

    /// Flushes, syncs and renames the file into place; on any failure removes the temporary file
    /// and leaves the target as it was.
    public func commit() throws(OutputFileError) {
        guard let file else { throw OutputFileError(path: path, reason: "already closed") }
        self.file = nil
        if failure == nil, fflush(file) != 0 { failure = String(cString: strerror(errno)) }
        if failure == nil, fsync(fileno(file)) != 0 { failure = String(cString: strerror(errno)) }
        if fclose(file) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil, let problem = Self.problem(with: path) { failure = problem }  // replaced meanwhile by a link or a device
        if failure == nil, rename(temporaryPath, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporaryPath)
            throw OutputFileError(path: path, reason: failure)
        }
    }

    /// Drops what was written; the target stays as it was.
    public func abandon() {
        guard let file else { return }
        fclose(file)
        self.file = nil
        unlink(temporaryPath)
    }

    /// Writes a whole file at once.
    public static func write(_ bytes: [UInt8], to path: String) throws(OutputFileError) {
        let output = try OutputFile(path: path)
        output.write(bytes: bytes)
        try output.commit()
    }
}

/// A file could not be written; the target was left as it was.
public struct OutputFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "cannot write \(path): \(reason)" }
}

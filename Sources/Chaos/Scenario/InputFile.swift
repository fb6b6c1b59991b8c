import Foundation

/// Reads an input file (a scenario or a seed file) whole, refusing what is not a regular file: a
/// device such as /dev/zero would never end, a folder is a slip of the finger. Files larger than
/// `limit` are refused rather than read into memory.
public enum InputFile {
    /// Largest input file read: 16 MiB (the shipped ones are a few KiB).
    public static let limit = 16 << 20

    public struct Failure: Error {
        public var problem: String
    }

    public static func read(_ path: String) throws(Failure) -> [UInt8] {
        guard !path.isEmpty else { throw Failure(problem: "an empty path") }
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw Failure(problem: errno == ENOENT ? "no such file" : "cannot read the file: \(String(cString: strerror(errno)))")
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw Failure(problem: "is a folder, not a file")
        default: throw Failure(problem: "is not a regular file (a device, a pipe or a socket)")
        }
        guard status.st_size <= limit else { throw Failure(problem: "\(status.st_size) bytes: larger than the \(limit >> 20) MiB an input file may have") }
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(problem: "cannot read the file") }
        return Array(data)
    }
}

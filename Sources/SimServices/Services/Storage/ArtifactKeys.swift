import SimKernel

/// Artifact keys as callers send them, made safe before they reach the object store. A key is
/// percent-decoded once, then must be relative, free of control characters and backslashes, and
/// free of `..` segments; `.` and empty segments are dropped. What is left is a key *inside* the
/// `artifacts` bucket, under the caller's tenant's folder when one is given (`<tenant>/<key>`): no
/// spelling of a key reaches another bucket or another tenant's artifacts.
///
/// I9 (path traversal) resolves the key the way a file-system path would be: it joins
/// `artifacts/<folder>/` and the decoded key, collapses `..` lexically and takes the first segment
/// as the bucket, so `../t1/reports/q3` reads another tenant's report and
/// `../../checkpoints/secret` the `checkpoints` bucket.
public enum ArtifactKeys {
    public static let bucket = "artifacts"
    public static let maxLength = 512

    /// Why a key is refused (a security event's reason), or where it points.
    public enum Resolution: Equatable, Sendable {
        case object(bucket: String, key: String)
        case refused(String)
    }

    /// Where the caller's `raw` key points: always inside `bucket` (under `folder`, the caller's
    /// tenant, when given), or refused.
    public static func resolve(_ raw: String, under folder: String? = nil, defects: DefectSet = .empty) -> Resolution {
        guard let decoded = percentDecoded(raw) else { return .refused("malformed percent-encoding") }
        if defects.contains(.I9) { return resolveAsPath(folder.map { "\($0)/\(decoded)" } ?? decoded) }
        guard !decoded.isEmpty, decoded.utf8.count <= maxLength else { return .refused("empty or longer than \(maxLength) bytes") }
        if decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { return .refused("control character") }
        // Bytes, not characters: a combining mark after a `/` or `\\` must not hide it.
        if decoded.utf8.contains(UInt8(ascii: "\\")) { return .refused("backslash") }
        if decoded.utf8.first == UInt8(ascii: "/") { return .refused("absolute path") }
        if decoded.utf8.contains(UInt8(ascii: "%")) { return .refused("encoded twice") }
        let segments = pathSegments(decoded).filter { $0 != "." }
        if segments.contains("..") { return .refused("traversal (..)") }
        guard !segments.isEmpty else { return .refused("no name left") }
        return .object(bucket: bucket, key: ((folder.map { [$0] } ?? []) + segments).joined(separator: "/"))
    }

    /// The non-empty segments between `/` bytes (split on bytes: `/` followed by a combining mark
    /// is one Character, but still the separator a path resolver sees).
    static func pathSegments(_ text: String) -> [String] {
        text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
    }

    /// I9: the key as a path under the storage root (`artifacts/<key>`), `..` collapsed; the first
    /// segment is the bucket.
    static func resolveAsPath(_ decoded: String) -> Resolution {
        var stack: [String] = []
        for segment in pathSegments("\(bucket)/\(decoded)") {
            if segment == "." { continue }
            if segment == ".." { _ = stack.popLast(); continue }
            stack.append(segment)
        }
        guard stack.count >= 2 else { return .refused("no name left") }
        return .object(bucket: String(stack[0]), key: stack.dropFirst().joined(separator: "/"))
    }

    /// `%XX` sequences decoded once (UTF-8); nil when a `%` is not followed by two hex digits or
    /// the bytes are not UTF-8.
    static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Training data as an immutable, content-addressed version: the rows' canonical text (one line a
/// row, `f1,...,fd,label`, each number as Swift prints a `Float`, which reads back to the same bits)
/// and its SHA-256. The digest names the version: same rows, same digest; any change, another.
public enum DatasetVersion {
    /// The canonical bytes of `rows`.
    public static func encode(_ rows: [Example]) -> [UInt8] {
        var text = ""
        for row in rows {
            text += row.features.map { "\($0)" }.joined(separator: ",")
            text += ",\(row.label)\n"
        }
        return Array(text.utf8)
    }

    /// Rows from their canonical bytes; nil when the bytes are not a well-formed dataset (ragged
    /// rows, a field that is not a finite number, a label other than 0 or 1). Accepts any spelling
    /// `Float` reads (`1` and `1.0` alike): `encode` of the result is the canonical form.
    public static func decode(_ bytes: [UInt8]) -> [Example]? {
        var rows: [Example] = []
        var width: Int?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { continue }
            let numbers = line.split(separator: ",", omittingEmptySubsequences: false).map { Float(String($0)) }
            guard numbers.count >= 2, !numbers.contains(nil), width == nil || width == numbers.count, numbers.allSatisfy({ $0!.isFinite }) else { return nil }
            width = numbers.count
            let values = numbers.map { $0! }
            guard let label = values.last, label == 0 || label == 1 else { return nil }
            rows.append(Example(features: Array(values.dropLast()), label: label))
        }
        return rows
    }

    /// The version's name: lower-case hex SHA-256 of the canonical bytes.
    public static func digest(_ bytes: [UInt8]) -> String { SHA256.hex(SHA256.hash(bytes)) }

    /// Whether `text` has the form of a digest (64 lower-case hex digits).
    public static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48 ... 57).contains($0) || (97 ... 102).contains($0) }
    }
}

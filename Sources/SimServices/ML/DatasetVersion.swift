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
        // Split at the bytes '\n' and ',' rather than through `String.split`, which walks grapheme
        // clusters (a training run's dataset of 1,024 rows cost a tenth of scenario 02 that way).
        // Same answers: UTF-8 never hides those two bytes inside another character, and a
        // separator that a combining mark would have glued to its neighbour leaves a field that
        // is not a number either way.
        var rows: [Example] = []
        var width: Int?
        let parsed: Bool = bytes.withUnsafeBufferPointer { buffer in
            var lineStart = 0
            for end in 0 ... buffer.count where end == buffer.count || buffer[end] == 0x0A {
                defer { lineStart = end + 1 }
                if end == lineStart { continue }  // an empty line
                var values: [Float] = []
                values.reserveCapacity(width ?? 16)
                var fieldStart = lineStart
                for index in lineStart ... end where index == end || buffer[index] == 0x2C {
                    let field = String(decoding: UnsafeBufferPointer(rebasing: buffer[fieldStart ..< index]), as: UTF8.self)
                    guard let value = Float(field), value.isFinite else { return false }
                    values.append(value)
                    fieldStart = index + 1
                }
                guard values.count >= 2, width == nil || width == values.count else { return false }
                width = values.count
                guard let label = values.last, label == 0 || label == 1 else { return false }
                rows.append(Example(features: Array(values.dropLast()), label: label))
            }
            return true
        }
        return parsed ? rows : nil
    }

    /// The version's name: lower-case hex SHA-256 of the canonical bytes.
    public static func digest(_ bytes: [UInt8]) -> String { SHA256.hex(SHA256.hash(bytes)) }

    /// Whether `text` has the form of a digest (64 lower-case hex digits).
    public static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48 ... 57).contains($0) || (97 ... 102).contains($0) }
    }
}

/// Splitting text on an ASCII separator without the grapheme-cluster walk of
/// `split(separator: Character)`: the standard library's split compares Characters, and finding
/// each Character's end cost tens of instructions a byte (a token's split was a tenth of a
/// serving run's instructions, the request path's service another two percent).
extension StringProtocol where SubSequence == Substring {
    /// Exactly `split(separator:maxSplits:omittingEmptySubsequences:)` with `separator` as a
    /// Character. The text is read byte by byte when it is ASCII without a carriage return: there
    /// every byte is a Character of its own (a `\r\n` pair is one Character, so a text holding `\r`
    /// is not), and an ASCII separator byte can only be the separator Character. Any other text
    /// (a combining mark after a separator joins it into another Character) takes the standard
    /// library's split, so the answer is the same for every text.
    public func splitBytes(_ separator: Unicode.Scalar, maxSplits: Int = .max, omittingEmptySubsequences: Bool = true) -> [Substring] {
        precondition(separator.isASCII, "splitBytes splits on an ASCII separator, not U+\(String(separator.value, radix: 16))")
        precondition(maxSplits >= 0, "splitBytes: maxSplits \(maxSplits) must not be negative")  // as the standard library's
        let target = UInt8(separator.value), bytes = utf8
        // Contiguous text (every native string) is scanned through a pointer, one pass for the
        // ASCII check and one for the separators, and the parts cut at byte offsets.
        if let parts = bytes.withContiguousStorageIfAvailable({ buffer -> [Substring]? in
            for byte in buffer where byte >= 0x80 || byte == 0x0D { return nil }
            func cut(_ from: Int, _ to: Int) -> Substring {
                self[bytes.index(bytes.startIndex, offsetBy: from) ..< bytes.index(bytes.startIndex, offsetBy: to)]
            }
            // The standard library's algorithm (Collection.split), step for step, on offsets.
            var parts: [Substring] = []
            if maxSplits == 0 || buffer.isEmpty {
                if !(omittingEmptySubsequences && buffer.isEmpty) { parts.append(self[...]) }
                return parts
            }
            var start = 0, index = 0
            while index != buffer.count {
                if buffer[index] == target {
                    let appended = !(omittingEmptySubsequences && start == index)
                    if appended { parts.append(cut(start, index)) }
                    index += 1
                    start = index
                    if appended && parts.count == maxSplits { break }
                    continue
                }
                index += 1
            }
            if start != buffer.count || !omittingEmptySubsequences { parts.append(cut(start, buffer.count)) }
            return parts
        }), let parts { return parts }
        guard bytes.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) else {
            return split(separator: Character(separator), maxSplits: maxSplits, omittingEmptySubsequences: omittingEmptySubsequences)
        }
        // The standard library's algorithm (Collection.split), step for step.
        var parts: [Substring] = []
        if maxSplits == 0 || bytes.isEmpty {
            if !(omittingEmptySubsequences && bytes.isEmpty) { parts.append(self[...]) }
            return parts
        }
        var start = bytes.startIndex, index = start
        while index != bytes.endIndex {
            if bytes[index] == target {
                let appended = !(omittingEmptySubsequences && start == index)
                if appended { parts.append(self[start ..< index]) }
                index = bytes.index(after: index)
                start = index
                if appended && parts.count == maxSplits { break }
                continue
            }
            index = bytes.index(after: index)
        }
        if start != bytes.endIndex || !omittingEmptySubsequences { parts.append(self[start ..< bytes.endIndex]) }
        return parts
    }
}

extension String {
    /// Exactly `split(separator: Character(separator), omittingEmptySubsequences: false)` with
    /// each part made a `String`: every field of a delimited record, empty ones kept. ASCII text
    /// without a carriage return (as `splitBytes` decides) is cut straight from its UTF-8 bytes
    /// into strings, with no `Substring` in between (the drift check splits every stored row of a
    /// window so, a twentieth of scenario 03's instructions); any other text takes `splitBytes`.
    public func splitFields(_ separator: Unicode.Scalar) -> [String] {
        precondition(separator.isASCII, "splitFields splits on an ASCII separator, not U+\(String(separator.value, radix: 16))")
        let target = UInt8(separator.value)
        if let parts = utf8.withContiguousStorageIfAvailable({ buffer -> [String]? in
            for byte in buffer where byte >= 0x80 || byte == 0x0D { return nil }
            var parts: [String] = []
            var start = 0
            for index in 0 ..< buffer.count where buffer[index] == target {
                parts.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start ..< index]), as: UTF8.self))
                start = index + 1
            }
            // The part after the last separator, empty or not (the whole text when there is none).
            parts.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start...]), as: UTF8.self))
            return parts
        }), let parts { return parts }
        return splitBytes(separator, omittingEmptySubsequences: false).map(String.init)
    }
}

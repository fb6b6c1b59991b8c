import SimKernel
import XCTest
@testable import SimServices

/// The byte-level splitters are the standard library's and the first-written splitter's answers,
/// exactly: they replaced them on hot paths for speed alone (no fingerprint may move).
final class ByteSplitTests: XCTestCase {
    /// Texts drawn from pieces that stress the fast path's conditions: separators at the ends and
    /// doubled, a carriage return before a line feed (one Character), a combining mark after a
    /// separator (joins it into another Character), multi-byte letters.
    func randomText(_ random: inout SimRandom) -> String {
        let pieces = ["/", ".", ",", "=", " ", "\n", "\r\n", "\r", "a", "bc", "é", "\u{301}", "/\u{301}", "日本", "x=1", "", "0", ";", ";\u{301}"]
        return (0 ..< random.uniform(0 ..< 12)).map { _ in pieces[random.uniform(0 ..< pieces.count)] }.joined()
    }

    func testSplitBytesGivesTheStandardLibrarysSplitForDrawnTextsSeparatorsAndOptions() {
        var random = SimRandom(rootSeed: 7, stream: "split-bytes")
        var fastPathTexts = 0
        for _ in 0 ..< 5_000 {
            let text = randomText(&random)
            let separator: Unicode.Scalar = ["/", ".", ",", "=", " ", "\n"][random.uniform(0 ..< 6)]
            let maxSplits = [0, 1, 2, Int.max][random.uniform(0 ..< 4)]
            let omitting = random.uniform(0 ..< 2) == 0
            let expected = text.split(separator: Character(separator), maxSplits: maxSplits, omittingEmptySubsequences: omitting)
            XCTAssertEqual(text.splitBytes(separator, maxSplits: maxSplits, omittingEmptySubsequences: omitting), expected,
                           "\(text.debugDescription) on \(separator.escaped(asASCII: true)) max \(maxSplits) omitting \(omitting)")
            // Substrings split alike too (a sub-range's indices are the base string's).
            let tail = text.dropFirst()
            XCTAssertEqual(tail.splitBytes(separator, maxSplits: maxSplits, omittingEmptySubsequences: omitting),
                           tail.split(separator: Character(separator), maxSplits: maxSplits, omittingEmptySubsequences: omitting))
            if text.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) { fastPathTexts += 1 }
        }
        // Both paths were taken many times (the pieces are half ASCII).
        XCTAssertGreaterThan(fastPathTexts, 500)
        XCTAssertLessThan(fastPathTexts, 4_500)
    }

    /// `splitFields` is the standard library's split keeping empty parts, each part a String,
    /// for drawn texts on both of its paths (ASCII cut from bytes; anything else through
    /// `splitBytes`).
    func testSplitFieldsGivesTheStandardLibrarysSplitKeepingEmptyPartsAsStrings() {
        var random = SimRandom(rootSeed: 8, stream: "split-fields")
        var fastPathTexts = 0
        for _ in 0 ..< 5_000 {
            let text = randomText(&random)
            let separator: Unicode.Scalar = [";", ",", "/", "\n"][random.uniform(0 ..< 4)]
            let expected = text.split(separator: Character(separator), omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(text.splitFields(separator), expected, "\(text.debugDescription) on \(separator.escaped(asASCII: true))")
            if text.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) { fastPathTexts += 1 }
        }
        XCTAssertGreaterThan(fastPathTexts, 500)
        XCTAssertLessThan(fastPathTexts, 4_500)
        XCTAssertEqual("".splitFields(";"), [""])
        XCTAssertEqual(";".splitFields(";"), ["", ""])
        XCTAssertEqual("0.5;;-1e3;".splitFields(";"), ["0.5", "", "-1e3", ""])
    }

    func testAPathsServiceIsItsFirstNonEmptySegment() {
        XCTAssertEqual(HTTPRequest("GET", "models/7").service, "models")
        XCTAssertEqual(HTTPRequest("GET", "/models/7").service, "models")
        XCTAssertEqual(HTTPRequest("GET", "").service, "")
        // A combining mark after the slash makes another Character: no segment ends there.
        XCTAssertEqual(HTTPRequest("GET", "models/\u{301}x").service, "models/\u{301}x")
    }

    /// `Fields.split` as it was first written, byte by byte: the reference it is held to.
    func splitByteByByte(_ bytes: [UInt8]) -> [[UInt8]] {
        var fields: [[UInt8]] = [[]]
        var escaped = false
        for byte in bytes {
            if escaped { fields[fields.count - 1].append(byte); escaped = false; continue }
            if byte == 0x1B { escaped = true; continue }
            if byte == 0x1F { fields.append([]); continue }
            fields[fields.count - 1].append(byte)
        }
        return fields
    }

    func testFieldsSplitGivesTheByteByByteSplittersFieldsForDrawnBytes() {
        var random = SimRandom(rootSeed: 9, stream: "fields-split")
        let alphabet: [UInt8] = [0x1F, 0x1B, 0x41, 0x42, 0x00, 0xFF]
        for _ in 0 ..< 5_000 {
            let bytes = (0 ..< random.uniform(0 ..< 20)).map { _ in alphabet[random.uniform(0 ..< alphabet.count)] }
            XCTAssertEqual(Fields.split(bytes), splitByteByByte(bytes), "\(bytes)")
        }
        // Fields with separators and escape bytes in them come back as they were joined.
        let fields: [[UInt8]] = [[], [0x1F], [0x1B, 0x1B], Array("plain".utf8), [0x41, 0x1F, 0x1B, 0x42]]
        XCTAssertEqual(Fields.split(Fields.join(fields)), fields)
        // A trailing escape byte is dropped, as it always was.
        XCTAssertEqual(Fields.split([0x41, 0x1B]), [[0x41]])
    }

    /// `Fields.join` as it was first written, byte by byte: the reference it is held to.
    func joinByteByByte(_ fields: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(0x1F) }
            for byte in field {
                if byte == 0x1F || byte == 0x1B { out.append(0x1B) }
                out.append(byte)
            }
        }
        return out
    }

    func testFieldsJoinGivesTheByteByByteJoinersBytesForDrawnFields() {
        var random = SimRandom(rootSeed: 11, stream: "fields-join")
        let alphabet: [UInt8] = [0x1F, 0x1B, 0x41, 0x42, 0x00, 0xFF]
        var escapes = 0
        for _ in 0 ..< 5_000 {
            let fields = (0 ..< random.uniform(0 ..< 5)).map { _ in (0 ..< random.uniform(0 ..< 8)).map { _ in alphabet[random.uniform(0 ..< alphabet.count)] } }
            let joined = Fields.join(fields)
            XCTAssertEqual(joined, joinByteByByte(fields), "\(fields)")
            XCTAssertEqual(Fields.split(joined), fields.isEmpty ? [[]] : fields, "\(fields)")
            escapes += fields.joined().filter { $0 == 0x1F || $0 == 0x1B }.count
        }
        XCTAssertGreaterThan(escapes, 1_000)  // escaped bytes were drawn often, at the ends of fields too
    }
}

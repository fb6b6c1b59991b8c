/// A strict JSON reader for seed files (RFC 8259 and nothing more): UTF-8 only, no trailing
/// commas, no duplicate keys, no comments, nesting at most 64 deep. Foundation's decoder accepts a
/// duplicate key (the first wins) and a trailing comma, so a hand-edited seed file could replay
/// something other than what it shows; this reader refuses those first, and remembers the line of
/// every field so that later errors can name it.
public struct StrictJSON {
    /// A parsed value; members keep their order and the line of their key.
    public indirect enum Value: Equatable {
        case object([(key: String, value: Value, line: Int)])
        case array([Value])
        case string(String)
        case number(String)
        case bool(Bool)
        case null

        public static func == (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case (.object(let x), .object(let y)):
                return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
            case (.array(let x), .array(let y)): return x == y
            case (.string(let x), .string(let y)), (.number(let x), .number(let y)): return x == y
            case (.bool(let x), .bool(let y)): return x == y
            case (.null, .null): return true
            default: return false
            }
        }
    }

    /// A syntax error: the line and what is wrong.
    public struct SyntaxError: Error {
        public var line: Int
        public var problem: String
    }

    let bytes: [UInt8]
    var index = 0
    var line = 1
    var integersOnly = false

    /// Parses a whole document. With `integersOnly` (seed files hold no fractions), a number with
    /// a fraction or an exponent is an error at its line, and so is an integer outside Int64 and
    /// UInt64 (which a decoder would otherwise reject without saying where).
    public static func parse(_ bytes: [UInt8], integersOnly: Bool = false) throws(SyntaxError) -> Value {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            let bad = firstInvalidUTF8Offset(bytes)
            throw SyntaxError(line: bytes[..<bad].filter { $0 == 10 }.count + 1, problem: "not UTF-8 text (byte \(bad))")
        }
        var parser = StrictJSON(bytes: bytes)
        parser.integersOnly = integersOnly
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == bytes.count else { throw SyntaxError(line: parser.line, problem: "text after the end of the document") }
        return value
    }

    /// The offset of the first byte that is not part of valid UTF-8.
    public static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return offset
            case .error: return offset
            }
        }
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0D: index += 1
            case 0x0A: index += 1; line += 1
            default: return
            }
        }
    }

    func fail(_ problem: String) -> SyntaxError { SyntaxError(line: line, problem: problem) }

    mutating func value(depth: Int) throws(SyntaxError) -> Value {
        guard depth < 64 else { throw fail("nested more than 64 deep") }
        guard index < bytes.count else { throw fail("the document ends where a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
        }
    }

    mutating func literal(_ word: String) throws(SyntaxError) {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index ..< index + expected.count]) == expected else {
            throw fail("unexpected text (expected \(word))")
        }
        index += expected.count
    }

    mutating func object(depth: Int) throws(SyntaxError) -> Value {
        index += 1
        var members: [(key: String, value: Value, line: Int)] = []
        var seen: Set<String> = []
        skipSpace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw fail(members.isEmpty ? "expected a key" : "expected a key after ',' (a trailing comma is not JSON)")
            }
            let keyLine = line
            let key = try string()
            guard seen.insert(key).inserted else { throw SyntaxError(line: keyLine, problem: "duplicate key '\(key)'") }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after key '\(key)'") }
            index += 1
            skipSpace()
            members.append((key, try value(depth: depth + 1), keyLine))
            skipSpace()
            guard index < bytes.count else { throw fail("the document ends inside an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws(SyntaxError) -> Value {
        index += 1
        var items: [Value] = []
        skipSpace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            skipSpace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "]") { throw fail("a trailing comma is not JSON") }
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard index < bytes.count else { throw fail("the document ends inside a list") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func string() throws(SyntaxError) -> String {
        index += 1
        // UTF-8 bytes, escapes decoded into them: one buffer, so a long string costs linear time.
        var out: [UInt8] = []
        func append(_ scalar: Unicode.Scalar) { out.append(contentsOf: Array(String(scalar).utf8)) }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800 ..< 0xDC00).contains(code) {
                        try literal("\\u")
                        let low = try hex4()
                        guard (0xDC00 ..< 0xE000).contains(low) else { throw fail("a broken surrogate pair in a string") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("a broken surrogate pair in a string") }
                    append(scalar)
                default: throw fail("unknown escape '\\\(Character(Unicode.Scalar(escape)))' in a string")
                }
            case 0x00 ..< 0x20:
                throw fail("a control character in a string (escape it)")
            default:
                out.append(byte)
            }
        }
        throw fail("the document ends inside a string")
    }

    mutating func hex4() throws(SyntaxError) -> UInt32 {
        guard bytes.count - index >= 4, let code = UInt32(String(decoding: bytes[index ..< index + 4], as: UTF8.self), radix: 16) else {
            throw fail("expected four hex digits after \\u")
        }
        index += 4
        return code
    }

    mutating func number() throws(SyntaxError) -> String {
        let start = index
        func digits() -> Int {
            let from = index
            while index < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        guard digits() > 0 else { throw fail("a number needs digits") }
        if bytes[integerStart] == UInt8(ascii: "0") && index - integerStart > 1 { throw fail("a number with a leading zero") }
        if integersOnly, index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            throw fail("expected an integer, got a number with a fraction or an exponent")
        }
        if integersOnly {
            let text = String(decoding: bytes[start ..< index], as: UTF8.self)
            guard Int64(text) != nil || UInt64(text) != nil else { throw fail("the integer \(text.prefix(30)) is out of range") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw fail("a number needs digits after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail("a number needs digits in its exponent") }
        }
        return String(decoding: bytes[start ..< index], as: UTF8.self)
    }
}

extension StrictJSON.Value {
    /// The line of every member, by dotted path (`faults.crashes[0].node`).
    public func lines(prefix: String = "") -> [String: Int] {
        var result: [String: Int] = [:]
        switch self {
        case .object(let members):
            for member in members {
                let path = prefix.isEmpty ? member.key : "\(prefix).\(member.key)"
                result[path] = member.line
                result.merge(member.value.lines(prefix: path)) { first, _ in first }
            }
        case .array(let items):
            for (index, item) in items.enumerated() { result.merge(item.lines(prefix: "\(prefix)[\(index)]")) { first, _ in first } }
        default: break
        }
        return result
    }

    /// The first member path (with its line) whose key is in `keys` and whose value is a negative
    /// number: fields that hold unsigned integers.
    public func negativeNumber(under keys: Set<String>, prefix: String = "") -> String? {
        switch self {
        case .object(let members):
            for member in members {
                let path = prefix.isEmpty ? member.key : "\(prefix).\(member.key)"
                if keys.contains(member.key), case .number(let text) = member.value, text.hasPrefix("-") { return path }
                if let found = member.value.negativeNumber(under: keys, prefix: path) { return found }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = item.negativeNumber(under: keys, prefix: "\(prefix)[\(index)]") { return found }
            }
        default: break
        }
        return nil
    }

    /// The first member path of `self` that `other` lacks (members whose value is null excepted).
    public func firstPathMissing(in other: StrictJSON.Value, prefix: String = "") -> String? {
        switch (self, other) {
        case (.object(let mine), .object(let theirs)):
            for member in mine {
                let path = prefix.isEmpty ? member.key : "\(prefix).\(member.key)"
                guard let match = theirs.first(where: { $0.key == member.key }) else {
                    if member.value == .null { continue }
                    return path
                }
                if let missing = member.value.firstPathMissing(in: match.value, prefix: path) { return missing }
            }
        case (.array(let mine), .array(let theirs)):
            for (index, item) in mine.enumerated() where index < theirs.count {
                if let missing = item.firstPathMissing(in: theirs[index], prefix: "\(prefix)[\(index)]") { return missing }
            }
        default: break
        }
        return nil
    }
}

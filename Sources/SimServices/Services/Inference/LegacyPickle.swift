import SimKernel

/// The brief's "pickle unsafe" (I3): model files in Python's pickle format, which is a program for
/// a small stack machine, not data. Its `GLOBAL` opcode names any importable callable and
/// `REDUCE` calls it, so loading a crafted file runs the author's code (`posix.system("...")`).
/// The platform's loaders accept only weights-only formats (`WeightsOnly`); this machine exists
/// for I3's legacy path, which unpickles a model file that is not one of them.
///
/// It runs the opcodes a model writer emits (protocol 2): `PROTO`, `GLOBAL`, `BINUNICODE`,
/// `SHORT_BINUNICODE`, `MARK`, `TUPLE`, `TUPLE1`, `REDUCE`, `POP`, `EMPTY_LIST`, `BINFLOAT`,
/// `APPEND`, `APPENDS`, `BINPUT`, `LONG_BINPUT`, `BINGET`, `STOP`; anything else ends the load.
/// The result must be a list: its floats are the weights (a call's result in it, which Python's
/// own `pickle.dumps([Exploit(), 1.0])` leaves there, is skipped, as a lenient loader would).
public enum LegacyPickle {
    /// A callable the stream called: what I3's load honoured.
    public struct Call: Sendable, Equatable {
        public var callable: String
        public var arguments: [String]
    }

    indirect enum Value: Equatable {
        case text(String), float(Double), list([Value]), tuple([Value]), global(String), mark, none
    }

    /// Whether `bytes` open as a pickle stream (the `PROTO` opcode), the way `file(1)` tells.
    public static func looksLikePickle(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x80 && bytes[1] <= 5 }

    /// Runs the stream: the weights it builds, and every call it made on the way (nil when the
    /// stream is malformed or does not build a list of floats).
    public static func load(_ bytes: [UInt8]) -> (weights: [Float], calls: [Call])? {
        var stack: [Value] = [], calls: [Call] = [], memo: [Int: Value] = [:], at = 0
        func take(_ n: Int) -> [UInt8]? {
            guard n >= 0, at + n <= bytes.count else { return nil }
            defer { at += n }
            return Array(bytes[at ..< at + n])
        }
        func line() -> String? {
            guard let end = bytes[at...].firstIndex(of: 0x0A) else { return nil }
            defer { at = end + 1 }
            return String(decoding: bytes[at ..< end], as: UTF8.self)
        }
        func popToMark() -> [Value]? {
            guard let mark = stack.lastIndex(of: .mark) else { return nil }
            defer { stack.removeSubrange(mark...) }
            return Array(stack[(mark + 1)...])
        }
        func littleEndian(_ raw: [UInt8]) -> Int { raw.reversed().reduce(0) { $0 << 8 | Int($1) } }
        while let opcode = take(1)?.first {
            switch opcode {
            case 0x80: guard take(1) != nil else { return nil }  // PROTO n
            case UInt8(ascii: "c"):  // GLOBAL module\nname\n
                guard let module = line(), let name = line() else { return nil }
                stack.append(.global("\(module).\(name)"))
            case 0x58, 0x8C:  // BINUNICODE (u32 length), SHORT_BINUNICODE (u8 length)
                guard let raw = take(opcode == 0x58 ? 4 : 1), let text = take(littleEndian(raw)) else { return nil }
                stack.append(.text(String(decoding: text, as: UTF8.self)))
            case UInt8(ascii: "("): stack.append(.mark)
            case UInt8(ascii: "t"):
                guard let items = popToMark() else { return nil }
                stack.append(.tuple(items))
            case 0x85:  // TUPLE1
                guard let item = stack.popLast() else { return nil }
                stack.append(.tuple([item]))
            case UInt8(ascii: "R"):  // REDUCE: callable(*args)
                guard case .tuple(let arguments)? = stack.popLast(), case .global(let callable)? = stack.popLast() else { return nil }
                calls.append(Call(callable: callable, arguments: arguments.map { if case .text(let t) = $0 { return t } else { return "\($0)" } }))
                stack.append(.none)
            case UInt8(ascii: "0"): guard stack.popLast() != nil else { return nil }  // POP
            case UInt8(ascii: "q"), UInt8(ascii: "r"):  // BINPUT (u8 index), LONG_BINPUT (u32)
                guard let raw = take(opcode == UInt8(ascii: "q") ? 1 : 4), let top = stack.last else { return nil }
                memo[littleEndian(raw)] = top
            case UInt8(ascii: "h"):  // BINGET
                guard let raw = take(1), let value = memo[littleEndian(raw)] else { return nil }
                stack.append(value)
            case UInt8(ascii: "]"): stack.append(.list([]))  // EMPTY_LIST
            case UInt8(ascii: "G"):  // BINFLOAT: 8 bytes, big-endian IEEE 754
                guard let raw = take(8) else { return nil }
                stack.append(.float(Double(bitPattern: raw.reduce(0) { $0 << 8 | UInt64($1) })))
            case UInt8(ascii: "a"):  // APPEND
                guard let item = stack.popLast(), case .list(let items)? = stack.popLast() else { return nil }
                stack.append(.list(items + [item]))
            case UInt8(ascii: "e"):  // APPENDS
                guard let items = popToMark(), case .list(let list)? = stack.popLast() else { return nil }
                stack.append(.list(list + items))
            case UInt8(ascii: "."):  // STOP
                guard case .list(let items)? = stack.last else { return nil }
                let kept = items.filter { $0 != .none }
                let weights = kept.compactMap { if case .float(let f) = $0 { return Float(f) } else { return nil } }
                return weights.count == kept.count && !weights.isEmpty ? (weights, calls) : nil
            default: return nil
            }
        }
        return nil
    }

    /// A pickled model file as a writer would make it: the weights as a list of floats, preceded,
    /// when `payload` is given, by a call of `callable` on it whose result is dropped (the
    /// classic `__reduce__` exploit: the file still loads as a model).
    public static func file(weights: [Float], callable: String? = nil, payload: String? = nil) -> [UInt8] {
        var bytes: [UInt8] = [0x80, 0x02]
        if let callable, let payload, let dot = callable.lastIndex(of: ".") {
            bytes += Array("c\(callable[..<dot])\n\(callable[callable.index(after: dot)...])\n".utf8)
            let text = Array(payload.utf8)
            bytes += [0x58] + (0 ..< 4).map { UInt8(truncatingIfNeeded: text.count >> (8 * $0)) } + text
            bytes += [0x85, UInt8(ascii: "R"), UInt8(ascii: "0")]
        }
        bytes += [UInt8(ascii: "]"), UInt8(ascii: "(")]
        for weight in weights {
            let bits = Double(weight).bitPattern
            bytes += [UInt8(ascii: "G")] + (0 ..< 8).reversed().map { UInt8(truncatingIfNeeded: bits >> (8 * UInt64($0))) }
        }
        bytes += [UInt8(ascii: "e"), UInt8(ascii: ".")]
        return bytes
    }
}

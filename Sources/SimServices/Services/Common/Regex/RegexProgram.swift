/// A search pattern compiled to a Thompson program (Russ Cox, "Regular Expression Matching: the
/// Virtual Machine Approach"): the syntax users type in search boxes, literals, `.`, classes
/// (`[a-z0-9_]`, `[^...]`), escapes (`\d \w \s` and escaped metacharacters), groups, `|`, the greedy
/// quantifiers `* + ?`, and the anchors `^ $`. Two matchers run the same program: `PikeVM` (every
/// thread advanced in lock step: work linear in the input) and `Backtracker` (one thread at a
/// time, retrying alternatives: exponential on patterns like `(a+)+$`; I10's).
public struct RegexProgram: Sendable, Equatable {
    public enum Instruction: Sendable, Equatable {
        /// Consumes one character the class accepts.
        case char(CharClass)
        /// Tries `first`, then `second`.
        case split(Int, Int)
        case jump(Int)
        case lineStart, lineEnd
        case match
    }

    /// A set of characters: ranges, possibly negated.
    public struct CharClass: Sendable, Equatable {
        public var ranges: [ClosedRange<Character>]
        public var negated = false
        public func accepts(_ c: Character) -> Bool { ranges.contains { $0.contains(c) } != negated }
        static let any = CharClass(ranges: [], negated: true)
        static func single(_ c: Character) -> CharClass { CharClass(ranges: [c ... c]) }
    }

    public let instructions: [Instruction]
    public let pattern: String

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case unexpected(Character, at: Int)
        case unterminated(String)
        case nothingToRepeat(at: Int)
        case tooLong(Int)
        case unsupported(String, at: Int)
        public var description: String {
            switch self {
            case .unexpected(let c, let at): return "unexpected '\(c)' at \(at)"
            case .unterminated(let what): return "unterminated \(what)"
            case .nothingToRepeat(let at): return "nothing to repeat at \(at)"
            case .tooLong(let n): return "pattern of \(n) characters (at most \(RegexProgram.maxPatternLength))"
            case .unsupported(let what, let at): return "unsupported '\(what)' at \(at)"
            }
        }
    }

    public static let maxPatternLength = 256

    /// Compiles `pattern`.
    public init(_ pattern: String) throws(ParseError) {
        guard pattern.count <= Self.maxPatternLength else { throw .tooLong(pattern.count) }
        var parser = Parser(Array(pattern))
        let tree = try parser.alternation()
        if parser.at < parser.text.count { throw .unexpected(parser.text[parser.at], at: parser.at) }
        var code: [Instruction] = []
        Self.emit(tree, into: &code)
        code.append(.match)
        instructions = code
        self.pattern = pattern
    }

    indirect enum Node {
        case chars(CharClass), start, end, empty
        case concat([Node]), alternate(Node, Node)
        case star(Node), plus(Node), optional(Node)
    }

    struct Parser {
        let text: [Character]
        var at = 0
        init(_ text: [Character]) { self.text = text }

        mutating func alternation() throws(ParseError) -> Node {
            var node = try sequence()
            while at < text.count, text[at] == "|" {
                at += 1
                node = .alternate(node, try sequence())
            }
            return node
        }

        mutating func sequence() throws(ParseError) -> Node {
            var items: [Node] = []
            while at < text.count, text[at] != "|", text[at] != ")" {
                var atom = try self.atom()
                while at < text.count, "*+?".contains(text[at]) {
                    if case .start = atom { throw .nothingToRepeat(at: at) }
                    if case .end = atom { throw .nothingToRepeat(at: at) }
                    atom = text[at] == "*" ? .star(atom) : text[at] == "+" ? .plus(atom) : .optional(atom)
                    at += 1
                }
                items.append(atom)
            }
            return items.count == 1 ? items[0] : items.isEmpty ? .empty : .concat(items)
        }

        mutating func atom() throws(ParseError) -> Node {
            let c = text[at]
            at += 1
            switch c {
            case "(":
                let inner = try alternation()
                guard at < text.count, text[at] == ")" else { throw .unterminated("group") }
                at += 1
                return inner
            case "*", "+", "?": throw .nothingToRepeat(at: at - 1)
            case "{", "}": throw .unsupported(String(c), at: at - 1)  // counted repetition is not supported
            case "^": return .start
            case "$": return .end
            case ".": return .chars(.any)
            case "[": return .chars(try charClass())
            case "\\": return .chars(try escape())
            default: return .chars(.single(c))
            }
        }

        mutating func escape() throws(ParseError) -> CharClass {
            guard at < text.count else { throw .unterminated("escape") }
            let c = text[at]
            at += 1
            switch c {
            case "d": return CharClass(ranges: ["0" ... "9"])
            case "w": return CharClass(ranges: ["a" ... "z", "A" ... "Z", "0" ... "9", "_" ... "_"])
            case "s": return CharClass(ranges: [" " ... " ", "\t" ... "\t", "\n" ... "\n", "\r" ... "\r"])
            // Escaped punctuation is itself; any other escape (\D, \b, \1...) is not supported,
            // and is refused rather than read as a literal letter.
            default:
                guard !(c.isLetter || c.isNumber) else { throw .unsupported("\\\(c)", at: at - 2) }
                return .single(c)
            }
        }

        mutating func charClass() throws(ParseError) -> CharClass {
            var result = CharClass(ranges: [])
            if at < text.count, text[at] == "^" { result.negated = true; at += 1 }
            var first = true
            while at < text.count, text[at] != "]" || first {
                first = false
                var low = text[at]
                at += 1
                if low == "\\" {
                    let escaped = try escape()
                    if escaped.ranges.count != 1 || escaped.ranges[0].lowerBound != escaped.ranges[0].upperBound { result.ranges += escaped.ranges; continue }
                    low = escaped.ranges[0].lowerBound
                }
                if at + 1 < text.count, text[at] == "-", text[at + 1] != "]" {
                    let high = text[at + 1]
                    guard low <= high else { throw .unexpected(high, at: at + 1) }
                    result.ranges.append(low ... high)
                    at += 2
                } else {
                    result.ranges.append(low ... low)
                }
            }
            guard at < text.count else { throw .unterminated("class") }
            at += 1
            return result
        }
    }

    static func emit(_ node: Node, into code: inout [Instruction]) {
        switch node {
        case .chars(let set): code.append(.char(set))
        case .start: code.append(.lineStart)
        case .end: code.append(.lineEnd)
        case .empty: break
        case .concat(let items): for item in items { emit(item, into: &code) }
        case .alternate(let a, let b):
            let split = code.count
            code.append(.split(0, 0))
            emit(a, into: &code)
            let jump = code.count
            code.append(.jump(0))
            code[split] = .split(split + 1, code.count)
            emit(b, into: &code)
            code[jump] = .jump(code.count)
        case .star(let inner):
            let split = code.count
            code.append(.split(0, 0))
            emit(inner, into: &code)
            code.append(.jump(split))
            code[split] = .split(split + 1, code.count)
        case .plus(let inner):
            let start = code.count
            emit(inner, into: &code)
            code.append(.split(start, code.count + 1))
        case .optional(let inner):
            let split = code.count
            code.append(.split(0, 0))
            emit(inner, into: &code)
            code[split] = .split(split + 1, code.count)
        }
    }
}

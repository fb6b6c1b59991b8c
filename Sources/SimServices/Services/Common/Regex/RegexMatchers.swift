/// The two ways to run a `RegexProgram` over an input, searching for a match anywhere in it.
/// Each counts its steps (instructions executed), the work a match costs.
public enum PikeVM {
    /// Every thread advanced in lock step over the input, at most one thread per instruction at
    /// each position: steps (instructions added, plus waiting threads tried) never exceed
    /// 2 x instructions x (input length + 1).
    public static func search(_ program: RegexProgram, in input: String) -> (matched: Bool, steps: Int) {
        let text = Array(input), code = program.instructions
        var steps = 0
        var current: [Int] = [], next: [Int] = []
        var seen = [Int](repeating: -1, count: code.count)  // the position each instruction was last added at
        /// Follows jumps, splits and anchors from `pc` at position `at`, adding the threads that
        /// wait on a character (or match) to `list`. Returns whether a match was reached.
        func add(_ pc: Int, _ at: Int, _ list: inout [Int]) -> Bool {
            guard seen[pc] != at else { return false }
            seen[pc] = at
            steps += 1
            switch code[pc] {
            case .jump(let target): return add(target, at, &list)
            case .split(let a, let b):
                let first = add(a, at, &list)
                return add(b, at, &list) || first
            case .lineStart: return at == 0 ? add(pc + 1, at, &list) : false
            case .lineEnd: return at == text.count ? add(pc + 1, at, &list) : false
            case .match: return true
            case .char: list.append(pc); return false
            }
        }
        for at in 0 ... text.count {
            // A search: a new thread starts at every position.
            if add(0, at, &current) { return (true, steps) }
            guard at < text.count else { break }
            next.removeAll(keepingCapacity: true)
            for pc in current {
                guard case .char(let set) = code[pc] else { continue }
                steps += 1
                if set.accepts(text[at]), add(pc + 1, at + 1, &next) { return (true, steps) }
            }
            swap(&current, &next)
        }
        return (false, steps)
    }
}

/// One thread at a time, depth first, trying a split's second branch when the first fails (how
/// PCRE, java.util.regex and NSRegularExpression match): steps can grow exponentially with the
/// input (`(a+)+$` on "aaaa...!"). It stops after `limit` steps, as PCRE's match limit does, and
/// abandons a path deeper than any path that consumes the input can be (a loop that matches the
/// empty string, `(a*)*`, would otherwise recurse forever).
public enum Backtracker {
    public static let limit = 10_000_000

    public static func search(_ program: RegexProgram, in input: String, limit: Int = Backtracker.limit) -> (matched: Bool, steps: Int) {
        let text = Array(input), code = program.instructions
        var steps = 0
        let maxDepth = code.count * (text.count + 2)
        func run(_ pc: Int, _ at: Int, _ depth: Int) -> Bool {
            guard steps < limit, depth <= maxDepth else { return false }
            steps += 1
            switch code[pc] {
            case .jump(let target): return run(target, at, depth + 1)
            case .split(let a, let b): return run(a, at, depth + 1) || run(b, at, depth + 1)
            case .lineStart: return at == 0 && run(pc + 1, at, depth + 1)
            case .lineEnd: return at == text.count && run(pc + 1, at, depth + 1)
            case .match: return true
            case .char(let set): return at < text.count && set.accepts(text[at]) && run(pc + 1, at + 1, depth + 1)
            }
        }
        for start in 0 ... text.count where steps < limit {
            if run(0, start, 0) { return (true, steps) }
        }
        return (false, steps)
    }
}

/// A small XML reader for model metadata documents (`<model><description>...</description>...
/// </model>`): elements, text, attributes (skipped), comments, the XML declaration, the five
/// predefined entities and character references. What the root's child elements hold comes out as
/// fields (name -> text).
///
/// A document type declaration is refused (`dtdForbidden`), as defusedxml refuses it: a DTD is how
/// entity tricks get in (external entities reading files, "billion laughs" expansion). I6's
/// reader (`resolvingEntities`) reads the DTD's `<!ENTITY>` declarations and expands references to
/// them, internal and external (`SYSTEM "file:///..."` through `resolve`), the way libxml2 with
/// XML_PARSE_NOENT does. (Its expansion stops at 100,000 characters so that a billion-laughs
/// document cannot exhaust the simulator itself.)
public struct MetadataXML {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case dtdForbidden
        case malformed(String)
        case undefinedEntity(String)
        public var description: String {
            switch self {
            case .dtdForbidden: return "document type declarations are not accepted"
            case .malformed(let why): return "malformed XML: \(why)"
            case .undefinedEntity(let name): return "undefined entity &\(name);"
            }
        }
    }

    /// The root's child elements' texts, in document order.
    public private(set) var fields: [(name: String, text: String)] = []
    public private(set) var root = ""

    /// Parses `text`; with `resolvingEntities`, a DTD's entities are declared and expanded, an
    /// external one read through `resolve` (nil: not readable).
    public init(_ text: String, resolvingEntities: Bool = false, resolve: @escaping (String) -> String? = { _ in nil }) throws(ParseError) {
        var reader = Reader(Array(text), resolvingEntities: resolvingEntities, resolve: resolve)
        try reader.prolog()
        guard reader.peek("<") else { throw .malformed("no root element") }
        let (name, children) = try reader.element(depth: 0)
        reader.skipMisc()
        guard reader.at == reader.text.count else { throw .malformed("content after the root element") }
        root = name
        fields = children
    }

    struct Reader {
        let text: [Character]
        var at = 0
        let resolvingEntities: Bool
        let resolve: (String) -> String?
        var entities: [String: String] = [:]
        var expanded = 0
        static let expansionLimit = 100_000

        init(_ text: [Character], resolvingEntities: Bool, resolve: @escaping (String) -> String?) {
            self.text = text
            self.resolvingEntities = resolvingEntities
            self.resolve = resolve
        }

        func peek(_ s: String) -> Bool {
            let chars = Array(s)
            return at + chars.count <= text.count && Array(text[at ..< at + chars.count]) == chars
        }
        mutating func expect(_ s: String) throws(ParseError) {
            guard peek(s) else { throw .malformed("expected '\(s)' at \(at)") }
            at += s.count
        }
        mutating func skipSpace() { while at < text.count, text[at].isWhitespace { at += 1 } }
        mutating func until(_ s: String) throws(ParseError) -> String {
            let start = at
            while at < text.count, !peek(s) { at += 1 }
            guard at < text.count else { throw .malformed("unterminated '\(s)'") }
            defer { at += s.count }
            return String(text[start ..< at])
        }
        mutating func name() throws(ParseError) -> String {
            let start = at
            while at < text.count, text[at].isLetter || text[at].isNumber || "_-.:".contains(text[at]) { at += 1 }
            guard at > start else { throw .malformed("expected a name at \(at)") }
            return String(text[start ..< at])
        }
        mutating func quoted() throws(ParseError) -> String {
            guard at < text.count, text[at] == "\"" || text[at] == "'" else { throw .malformed("expected a quoted value at \(at)") }
            let quote = String(text[at])
            at += 1
            return try until(quote)
        }

        mutating func skipMisc() {
            while true {
                skipSpace()
                if peek("<!--") { at += 4; _ = try? until("-->") } else { return }
            }
        }

        mutating func prolog() throws(ParseError) {
            skipSpace()
            if peek("<?xml") { _ = try until("?>") }
            skipMisc()
            guard peek("<!DOCTYPE") else { return }
            guard resolvingEntities else { throw .dtdForbidden }
            at += "<!DOCTYPE".count
            skipSpace()
            _ = try name()
            skipSpace()
            if peek("[") {
                at += 1
                while true {
                    skipSpace()
                    if peek("]") { at += 1; break }
                    if peek("<!--") { at += 4; _ = try until("-->"); continue }
                    try expect("<!ENTITY")
                    skipSpace()
                    let entity = try name()
                    skipSpace()
                    if peek("SYSTEM") {
                        at += "SYSTEM".count
                        skipSpace()
                        let uri = try quoted()
                        entities[entity] = externalEntity(uri) ?? ""
                    } else {
                        entities[entity] = try quoted()
                    }
                    skipSpace()
                    try expect(">")
                }
            }
            skipSpace()
            try expect(">")
            skipMisc()
        }

        /// An external entity's text: `file://` URIs read through `resolve`.
        func externalEntity(_ uri: String) -> String? {
            guard uri.hasPrefix("file://") else { return nil }
            return resolve(String(uri.dropFirst("file://".count)))
        }

        /// Expands `&name;` references in `raw` (entity values may refer to other entities).
        mutating func expand(_ raw: String, depth: Int = 0) throws(ParseError) -> String {
            var out = "", chars = Array(raw), i = 0
            while i < chars.count {
                guard chars[i] == "&" else { out.append(chars[i]); i += 1; continue }
                guard let semicolon = chars[i...].firstIndex(of: ";") else { throw .malformed("unterminated reference") }
                let reference = String(chars[(i + 1) ..< semicolon])
                i = semicolon + 1
                switch reference {
                case "lt": out += "<"
                case "gt": out += ">"
                case "amp": out += "&"
                case "quot": out += "\""
                case "apos": out += "'"
                default:
                    if reference.hasPrefix("#"), let scalar = reference.hasPrefix("#x") ? UInt32(reference.dropFirst(2), radix: 16) : UInt32(reference.dropFirst()),
                       let character = Unicode.Scalar(scalar) {
                        out.unicodeScalars.append(character)
                    } else if resolvingEntities, let value = entities[reference], depth < 16 {
                        let text = try expand(value, depth: depth + 1)
                        expanded += text.count
                        guard expanded <= Self.expansionLimit else { throw .malformed("entity expansion past \(Self.expansionLimit) characters") }
                        out += text
                    } else {
                        throw .undefinedEntity(reference)
                    }
                }
            }
            return out
        }

        /// An element and, for the root (depth 0), its children's texts.
        mutating func element(depth: Int) throws(ParseError) -> (String, [(name: String, text: String)]) {
            guard depth < 32 else { throw .malformed("elements nested too deep") }
            try expect("<")
            let tag = try name()
            _ = try until(">")  // attributes are not read
            if text[at - 2] == "/" { return (tag, []) }
            var children: [(name: String, text: String)] = [], content = ""
            while true {
                if peek("</") {
                    at += 2
                    guard try name() == tag else { throw .malformed("mismatched end tag of <\(tag)>") }
                    skipSpace()
                    try expect(">")
                    return (tag, depth == 0 ? children : [("", try expand(content))])
                }
                if peek("<!--") { at += 4; _ = try until("-->"); continue }
                if peek("<") {
                    let (child, inner) = try element(depth: depth + 1)
                    if depth == 0 { children.append((child, inner.first?.text ?? "")) }
                    continue
                }
                guard at < text.count else { throw .malformed("unterminated <\(tag)>") }
                content.append(text[at])
                at += 1
            }
        }
    }
}

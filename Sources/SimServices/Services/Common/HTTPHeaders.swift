/// A request's header fields: a handful of (name, value) pairs kept in name order.
///
/// Why not `[String: String]`: every hop of a request reads and writes its headers several times
/// (the identity, its signature, the nonce, the remote address), and a dictionary hashes the name
/// with SipHash on each of those look-ups: with a body's look-ups, a tenth of a serving run went
/// to hashing strings. A request carries about ten headers, and comparing a short name with ten
/// others costs less than hashing it once. Kept in name order, so iteration, equality and hashing
/// do not depend on the order the fields were set in (a dictionary's iteration order is not even
/// the same in two processes), and the encoding is a dictionary's: a keyed container, one key a
/// field (under the default key strategies: a JSON coder's `convertToSnakeCase` would convert
/// these keys, as it does not a dictionary's; nothing encodes headers with one).
public struct HTTPHeaders: Hashable, Sendable, Codable, ExpressibleByDictionaryLiteral, Sequence {
    /// The fields, in strictly increasing name order (no name twice).
    private var fields: [(name: String, value: String)]

    /// No fields.
    public init() { fields = [] }

    /// The fields of `dictionary`.
    public init(_ dictionary: [String: String]) {
        fields = dictionary.map { (name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init()
        for (name, value) in elements {
            precondition(self[name] == nil, "HTTPHeaders literal names \(name) twice")
            self[name] = value
        }
    }

    /// The index of `name`'s field, or where it would go.
    private func position(of name: String) -> (index: Int, found: Bool) {
        // Linear: a request holds about ten fields, and a short name's comparison is a word's.
        var index = 0
        while index < fields.count {
            let candidate = fields[index].name
            if candidate == name { return (index, true) }
            if name < candidate { return (index, false) }
            index += 1
        }
        return (index, false)
    }

    /// The value of field `name`, nil when absent; setting nil removes the field.
    public subscript(name: String) -> String? {
        get {
            for field in fields where field.name == name { return field.value }
            return nil
        }
        set {
            let (index, found) = position(of: name)
            switch (found, newValue) {
            case (true, let value?): fields[index].value = value
            case (true, nil): fields.remove(at: index)
            case (false, let value?): fields.insert((name: name, value: value), at: index)
            case (false, nil): break
            }
        }
    }

    /// Removes field `name` and answers its value (nil when it was absent).
    @discardableResult
    public mutating func removeValue(forKey name: String) -> String? {
        let (index, found) = position(of: name)
        guard found else { return nil }
        return fields.remove(at: index).value
    }

    /// Room for `capacity` fields without growing.
    public mutating func reserveCapacity(_ capacity: Int) { fields.reserveCapacity(capacity) }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }
    /// The names, in order.
    public var keys: [String] { fields.map(\.name) }
    /// The fields as a dictionary.
    public var dictionary: [String: String] {
        var dictionary: [String: String] = [:]
        for field in fields { dictionary[field.name] = field.value }
        return dictionary
    }

    /// The fields in name order.
    public struct Iterator: IteratorProtocol {
        fileprivate var fields: IndexingIterator<[(name: String, value: String)]>
        public mutating func next() -> (key: String, value: String)? {
            fields.next().map { (key: $0.name, value: $0.value) }
        }
    }

    public func makeIterator() -> Iterator { Iterator(fields: fields.makeIterator()) }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields.count)
        for field in fields {
            hasher.combine(field.name)
            hasher.combine(field.value)
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init(try [String: String](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FieldName.self)
        for field in fields { try container.encode(field.value, forKey: FieldName(stringValue: field.name)) }
    }

    private struct FieldName: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}

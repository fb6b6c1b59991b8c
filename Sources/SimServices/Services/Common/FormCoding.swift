import Synchronization
/// The wire form of request and response bodies: a flat map of string fields, as an HTML form or
/// a query string carries them. Route handlers never touch it: `FormDecoder` turns it into the
/// route's `Codable` request type and `FormEncoder` turns the response type back.
///
/// - Property names become snake_case keys (`jobId` -> `job_id`).
/// - Nested values use dotted keys: a `[String: Double]` property `metric` is `metric.accuracy`,
///   `metric.loss`; a nested struct `limits` is `limits.cpu`.
/// - A list of scalars is one comma-separated field (`1.5,2,3`); its elements cannot contain commas.
/// - Numbers are written as Swift prints them and read exactly: "1e3" is a Double, not an Int.
/// Decoding is strict: a missing required field, a value that is not of its type, or a field the
/// type does not have is a `FormError` naming the field, which a route answers with 400.
public struct FormError: Error, Equatable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public var description: String { "\(field): \(problem)" }
}

public enum FormDecoder {
    /// Decodes `T` from `fields`; a field `T` does not read is an error (no silent extras).
    public static func decode<T: Decodable>(_ type: T.Type, from fields: [String: String]) throws(FormError) -> T {
        if let fast = T.self as? FormFastDecodable.Type, let value = fast.init(formFields: fields) { return value as! T }
        return try decodeCodable(type, from: fields)
    }

    /// `decode` through `Decodable` alone (the fast path's reference in the tests).
    static func decodeCodable<T: Decodable>(_ type: T.Type, from fields: [String: String]) throws(FormError) -> T {
        let state = FormDecodingState(fields: fields)
        let value: T
        do { value = try T(from: FormDecoding(state: state, prefix: "", codingPath: [])) } catch let error as FormError {
            throw error
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context), let DecodingError.dataCorrupted(context) {
            throw FormError(field: formKey(context.codingPath), problem: context.debugDescription)
        } catch let DecodingError.keyNotFound(key, context) {
            throw FormError(field: formKey(context.codingPath + [key]), problem: "missing")
        } catch {
            throw FormError(field: "body", problem: "\(error)")
        }
        if let unread = fields.keys.filter({ !state.read.contains($0) }).sorted().first {
            throw FormError(field: unread, problem: "unknown field")
        }
        return value
    }
}

public enum FormEncoder {
    /// Encodes `value` as flat fields.
    public static func encode<T: Encodable>(_ value: T) -> [String: String] {
        if let fast = value as? FormFastEncodable { return fast.formFields }
        return encodeCodable(value)
    }

    /// `encode` through `Encodable` alone (the fast path's reference in the tests).
    static func encodeCodable<T: Encodable>(_ value: T) -> [String: String] {
        let state = FormEncodingState()
        do { try value.encode(to: FormEncoding(state: state, prefix: "", codingPath: [])) } catch {
            preconditionFailure("\(T.self) cannot be encoded as form fields: \(error)")  // a route type's shape, not input
        }
        return state.fields
    }
}

/// `jobId` -> `job_id`.
func snakeCase(_ name: String) -> String {
    // Most property names are already lower case: nothing to convert (Character's case tests
    // were 5 % of a serving run).
    if name.utf8.allSatisfy({ !(65 ... 90).contains($0) }) { return name }
    var result = ""
    for character in name {
        if character.isUppercase {
            if !result.isEmpty { result += "_" }
            result += character.lowercased()
        } else {
            result.append(character)
        }
    }
    return result
}

func formKey(_ path: [any CodingKey]) -> String {
    path.map { $0.intValue.map { "\($0)" } ?? snakeCase($0.stringValue) }.joined(separator: ".")
}

func joined(_ prefix: String, _ key: any CodingKey) -> String {
    let name = key.intValue.map { "\($0)" } ?? snakeCase(key.stringValue)
    return prefix.isEmpty ? name : "\(prefix).\(name)"
}

final class FormDecodingState {
    let fields: [String: String]
    var read: Set<String> = []
    init(fields: [String: String]) { self.fields = fields }
}

/// Keys of a nested dictionary: the field names under a prefix, as given (not case-converted).
struct FormKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

struct FormDecoding: Decoder {
    let state: FormDecodingState
    let prefix: String
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(FormKeyedDecoding<Key>(state: state, prefix: prefix, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard let text = state.fields[prefix] else { throw FormError(field: prefix, problem: "missing") }
        state.read.insert(prefix)
        return FormListDecoding(items: text.isEmpty ? [] : text.splitBytes(",", omittingEmptySubsequences: false).map(String.init),
                                field: prefix, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        FormScalarDecoding(text: state.fields[prefix], field: prefix, codingPath: codingPath, state: state)
    }
}

/// Whether `Key` is the standard library's key of a `Dictionary` (its keys are data, kept as they
/// are, not property names to convert). Asked once per container, not per key.
func isDictionaryKey<Key: CodingKey>(_ type: Key.Type) -> Bool {
    let key = ObjectIdentifier(type)
    if let known = dictionaryKeyTypes.withLock({ $0[key] }) { return known }
    // `_typeName`, not `String(describing:)`: the latter looks the metatype up in every protocol
    // conformance table first, which cost milliseconds per new type in a fresh process.
    let answer = type == FormKey.self || _typeName(type, qualified: true).contains("DictionaryCodingKey")
    dictionaryKeyTypes.withLock { $0[key] = answer }
    return answer
}

/// `isDictionaryKey`'s answers by type (a property of the type, the same in every run).
private let dictionaryKeyTypes = Mutex<[ObjectIdentifier: Bool]>([:])

struct FormKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: FormDecodingState
    let prefix: String
    var codingPath: [any CodingKey]
    let dictionaryKeys: Bool

    init(state: FormDecodingState, prefix: String, codingPath: [any CodingKey]) {
        self.state = state
        self.prefix = prefix
        self.codingPath = codingPath
        dictionaryKeys = isDictionaryKey(Key.self)
    }

    /// Keys present under this prefix (for dictionaries): the next path component of each field.
    var allKeys: [Key] {
        let start = prefix.isEmpty ? "" : prefix + "."
        var names: [String] = []
        for field in state.fields.keys.sorted() where field.hasPrefix(start) && field.count > start.count {
            let rest = field.dropFirst(start.count)
            // A dictionary's key is the whole rest (it may hold dots: `metric.val.acc` is the key
            // `val.acc`); a structure's is the next path component.
            let name = dictionaryKeys ? String(rest) : String(rest.splitBytes(".", maxSplits: 1).first ?? rest)
            if names.last != name { names.append(name) }
        }
        return names.compactMap { Key(stringValue: $0) }
    }

    func path(_ key: Key) -> String {
        // Dictionary keys are data, not property names: kept as they are.
        if dictionaryKeys { return prefix.isEmpty ? key.stringValue : "\(prefix).\(key.stringValue)" }
        return joined(prefix, key)
    }

    func contains(_ key: Key) -> Bool {
        let field = path(key)
        return state.fields[field] != nil || state.fields.keys.contains { $0.hasPrefix(field + ".") }
    }

    func decodeNil(forKey key: Key) throws -> Bool { !contains(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let field = path(key)
        // An empty dictionary has no fields on the wire: absent is empty, not missing.
        guard contains(key) || String(describing: T.self).hasPrefix("Dictionary<") else { throw FormError(field: field, problem: "missing") }
        return try T(from: FormDecoding(state: state, prefix: field, codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(FormKeyedDecoding<NestedKey>(state: state, prefix: path(key), codingPath: codingPath + [key]))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try FormDecoding(state: state, prefix: path(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { FormDecoding(state: state, prefix: prefix, codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { FormDecoding(state: state, prefix: path(key), codingPath: codingPath + [key]) }
}

/// A route type on the request path of every prediction, decoded without `Decoder`'s generic
/// machinery (a tenth of a serving scenario's time went to it). The fast path must give the
/// value `FormDecoder`'s Codable path gives; it answers nil for anything but a well-formed form,
/// and `FormDecoder` then takes the Codable path, so errors are worded as before.
/// `FormFastCodingTests` holds the two paths to the same results.
public protocol FormFastDecodable: Decodable {
    init?(formFields fields: [String: String])
}

/// A route type whose fields are written without `Encoder` (see `FormFastDecodable`): the same
/// fields the Codable path writes.
public protocol FormFastEncodable: Encodable {
    var formFields: [String: String] { get }
}

/// A finite number as `parseScalar` reads one, or nil.
@inline(__always) func formFloat(_ text: Substring) -> Float? { Float(text).flatMap { $0.isFinite ? $0 : nil } }

/// Parses one scalar field.
func parseScalar<T>(_ text: String, as type: T.Type, field: String) throws(FormError) -> T {
    let value: Any?
    switch type {
    case is String.Type: value = text
    case is Bool.Type: value = text == "true" ? true : text == "false" ? false : nil
    case is Int.Type: value = Int(text)
    case is Int64.Type: value = Int64(text)
    case is Int32.Type: value = Int32(text)
    case is Int16.Type: value = Int16(text)
    case is Int8.Type: value = Int8(text)
    case is UInt64.Type: value = UInt64(text)
    case is UInt32.Type: value = UInt32(text)
    case is UInt16.Type: value = UInt16(text)
    case is UInt8.Type: value = UInt8(text)
    case is UInt.Type: value = UInt(text)
    case is Double.Type: value = Double(text).flatMap { $0.isFinite ? $0 : nil }
    case is Float.Type: value = Float(text).flatMap { $0.isFinite ? $0 : nil }
    default: throw FormError(field: field, problem: "\(type) cannot be a form field")
    }
    guard let typed = value as? T else { throw FormError(field: field, problem: "'\(text.prefix(40))' is not \(describe(type))") }
    return typed
}

/// The types a single form field holds.
func isScalar(_ type: Any.Type) -> Bool {
    type is String.Type || type is Bool.Type || type is Int.Type || type is Int64.Type || type is Int32.Type || type is Int16.Type
        || type is Int8.Type || type is UInt64.Type || type is UInt32.Type || type is UInt16.Type || type is UInt8.Type || type is UInt.Type
        || type is Double.Type || type is Float.Type
}

func describe(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "text"
    case is Bool.Type: return "true or false"
    case is Double.Type, is Float.Type: return "a finite number"
    default: return "an integer in range"
    }
}

struct FormScalarDecoding: SingleValueDecodingContainer {
    let text: String?
    let field: String
    var codingPath: [any CodingKey]
    let state: FormDecodingState

    func decodeNil() -> Bool { text == nil }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard let text else { throw FormError(field: field, problem: "missing") }
        state.read.insert(field)
        if isScalar(type) { return try parseScalar(text, as: type, field: field) }
        // A RawRepresentable enum or another single-value type: through its own init(from:).
        return try T(from: FormDecoding(state: state, prefix: field, codingPath: codingPath))
    }
}

struct FormListDecoding: UnkeyedDecodingContainer {
    let items: [String]
    let field: String
    var codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard !isAtEnd else { throw FormError(field: field, problem: "too few items") }
        let item = items[currentIndex]
        let value = try parseScalar(item, as: type, field: "\(field)[\(currentIndex)]")
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw FormError(field: field, problem: "a list of structures cannot be a form field")
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw FormError(field: field, problem: "a list of lists cannot be a form field")
    }
    mutating func superDecoder() throws -> any Decoder { throw FormError(field: field, problem: "unsupported") }
}

final class FormEncodingState {
    var fields: [String: String] = [:]
}

struct FormEncoding: Encoder {
    let state: FormEncodingState
    let prefix: String
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(FormKeyedEncoding<Key>(state: state, prefix: prefix, codingPath: codingPath))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        state.fields[prefix] = ""
        return FormListEncoding(state: state, field: prefix, codingPath: codingPath)
    }
    func singleValueContainer() -> any SingleValueEncodingContainer { FormScalarEncoding(state: state, field: prefix, codingPath: codingPath) }
}

struct FormKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: FormEncodingState
    let prefix: String
    var codingPath: [any CodingKey]
    let dictionaryKeys: Bool

    init(state: FormEncodingState, prefix: String, codingPath: [any CodingKey]) {
        self.state = state
        self.prefix = prefix
        self.codingPath = codingPath
        dictionaryKeys = isDictionaryKey(Key.self)
    }

    func path(_ key: Key) -> String {
        if dictionaryKeys { return prefix.isEmpty ? key.stringValue : "\(prefix).\(key.stringValue)" }
        return joined(prefix, key)
    }

    mutating func encodeNil(forKey key: Key) throws {}
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try value.encode(to: FormEncoding(state: state, prefix: path(key), codingPath: codingPath + [key]))
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(FormKeyedEncoding<NestedKey>(state: state, prefix: path(key), codingPath: codingPath + [key]))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        FormEncoding(state: state, prefix: path(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { FormEncoding(state: state, prefix: prefix, codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { FormEncoding(state: state, prefix: path(key), codingPath: codingPath + [key]) }
}

struct FormScalarEncoding: SingleValueEncodingContainer {
    let state: FormEncodingState
    let field: String
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws {}
    mutating func encode<T: Encodable>(_ value: T) throws {
        switch value {
        case let text as String: state.fields[field] = text
        case let flag as Bool: state.fields[field] = flag ? "true" : "false"
        case let number as Int: state.fields[field] = "\(number)"
        case let number as Int64: state.fields[field] = "\(number)"
        case let number as Int32: state.fields[field] = "\(number)"
        case let number as Int16: state.fields[field] = "\(number)"
        case let number as Int8: state.fields[field] = "\(number)"
        case let number as UInt64: state.fields[field] = "\(number)"
        case let number as UInt32: state.fields[field] = "\(number)"
        case let number as UInt16: state.fields[field] = "\(number)"
        case let number as UInt8: state.fields[field] = "\(number)"
        case let number as UInt: state.fields[field] = "\(number)"
        case let number as Double: state.fields[field] = "\(number)"
        case let number as Float: state.fields[field] = "\(number)"
        default: try value.encode(to: FormEncoding(state: state, prefix: field, codingPath: codingPath))
        }
    }
}

struct FormListEncoding: UnkeyedEncodingContainer {
    let state: FormEncodingState
    let field: String
    var codingPath: [any CodingKey]
    var count = 0

    mutating func append(_ text: String) {
        state.fields[field] = count == 0 ? text : (state.fields[field] ?? "") + "," + text
        count += 1
    }
    mutating func encodeNil() throws {}
    mutating func encode<T: Encodable>(_ value: T) throws {
        // Route types are fixed at compile time: a list of anything but scalars, or an element
        // that holds the separator, is a programming error, not input.
        precondition(isScalar(T.self), "form field \(field): a list of \(T.self) cannot be a form field (scalars only)")
        let scratch = FormEncodingState()
        var single = FormScalarEncoding(state: scratch, field: "item", codingPath: codingPath)
        try single.encode(value)
        let text = scratch.fields["item"] ?? ""
        precondition(!text.contains(","), "form field \(field): list element '\(text)' contains the separator ','")
        append(text)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        preconditionFailure("form field \(field): a list of structures cannot be a form field")
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { preconditionFailure("form field \(field): a list of lists cannot be a form field") }
    mutating func superEncoder() -> any Encoder { preconditionFailure("form field \(field): unsupported") }
}

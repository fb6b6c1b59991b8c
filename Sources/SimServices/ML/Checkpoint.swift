/// A training checkpoint in a safe binary format (weights only, nothing executable):
/// magic "SNCK", format version, step, worker clocks, parameters as fp32 bits, then a CRC-32 of
/// everything before it. Loading checks all of it.
public struct Checkpoint: Sendable, Hashable {
    public var step: Int
    public var workerClocks: [Int]
    public var parameters: [Float]

    public init(step: Int, workerClocks: [Int], parameters: [Float]) {
        self.step = step
        self.workerClocks = workerClocks
        self.parameters = parameters
    }

    static let magic: UInt32 = 0x4B43_4E53  // "SNCK" little-endian
    static let version: UInt32 = 1

    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.u32(Checkpoint.magic)
        writer.u32(Checkpoint.version)
        writer.u64(UInt64(step))
        writer.u32(UInt32(workerClocks.count))
        for clock in workerClocks { writer.u64(UInt64(clock)) }
        writer.u32(UInt32(parameters.count))
        for p in parameters { writer.f32(p) }
        writer.u32(crc32(writer.bytes))
        return writer.bytes
    }

    /// Why a checkpoint did not load.
    public enum LoadError: Error, Hashable, Sendable, CustomStringConvertible {
        case tooShort(Int)
        case badMagic
        case unsupportedVersion(UInt32)
        case checksumMismatch(stored: UInt32, computed: UInt32)
        case malformed(String)

        public var description: String {
            switch self {
            case .tooShort(let n): return "checkpoint too short (\(n) bytes)"
            case .badMagic: return "not a checkpoint (bad magic)"
            case .unsupportedVersion(let v): return "unsupported checkpoint version \(v)"
            case .checksumMismatch(let s, let c): return "checksum mismatch: stored \(hexString(s)), computed \(hexString(c))"
            case .malformed(let why): return "malformed checkpoint: \(why)"
            }
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(LoadError) -> Checkpoint {
        guard bytes.count >= 24 else { throw .tooShort(bytes.count) }
        let body = Array(bytes[..<(bytes.count - 4)])
        var tail = ByteReader(Array(bytes[(bytes.count - 4)...]))
        let stored = tail.u32()!
        let computed = crc32(body)
        var reader = ByteReader(body)
        guard reader.u32() == magic else { throw .badMagic }
        let version = reader.u32()!
        guard version == Checkpoint.version else { throw .unsupportedVersion(version) }
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        guard let step = reader.u64(), let clockCount = reader.u32(), clockCount < 10_000 else { throw .malformed("header") }
        var clocks: [Int] = []
        for _ in 0 ..< clockCount { guard let c = reader.u64() else { throw .malformed("clocks") }; clocks.append(Int(c)) }
        guard let parameterCount = reader.u32(), Int(parameterCount) * 4 == reader.remaining else { throw .malformed("parameters") }
        var parameters: [Float] = []
        for _ in 0 ..< parameterCount { parameters.append(reader.f32()!) }
        return Checkpoint(step: Int(step), workerClocks: clocks, parameters: parameters)
    }
}

/// A CRC-32 as the platform writes it: `0x` and eight hex digits.
public func hexString(_ v: UInt32) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

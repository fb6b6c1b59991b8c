/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the checksum of checkpoints and stored
/// artifacts. `crc32(Array("123456789".utf8)) == 0xCBF43926` (the standard check value).
public func crc32(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
    var crc = ~initial
    for byte in bytes {
        crc = crc32Table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
    }
    return ~crc
}

let crc32Table: [UInt32] = (0 ..< 256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0 ..< 8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

/// Little-endian byte encoding helpers for the binary formats (checkpoints).
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { for i in 0 ..< 4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0 ..< 8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
}

struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var remaining: Int { bytes.count - offset }
    mutating func u32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        var v: UInt32 = 0
        for i in 0 ..< 4 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return v
    }
    mutating func u64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        var v: UInt64 = 0
        for i in 0 ..< 8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v
    }
    mutating func f32() -> Float? { u32().map { Float(bitPattern: $0) } }
}

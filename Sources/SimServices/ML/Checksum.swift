/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the checksum of checkpoints and stored
/// artifacts. `crc32(Array("123456789".utf8)) == 0xCBF43926` (the standard check value).
///
/// Eight bytes a step ("slicing by 8", Intel's method: eight tables, the k-th giving a byte's
/// remainder k bytes further on), then byte by byte: the same value as the byte-at-a-time loop,
/// about four times fewer instructions (the end-of-run checks of Redis's append-only file read
/// all of it, and every record it logs is checksummed).
public func crc32(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBufferPointer { buffer in
        crc32Tables.withUnsafeBufferPointer { table in
            var crc = ~initial
            var index = 0
            let count = buffer.count
            while count - index >= 8 {
                let low = crc ^ (UInt32(buffer[index]) | UInt32(buffer[index + 1]) << 8 | UInt32(buffer[index + 2]) << 16 | UInt32(buffer[index + 3]) << 24)
                crc = table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(buffer[index + 4])] ^ table[2 * 256 + Int(buffer[index + 5])]
                    ^ table[1 * 256 + Int(buffer[index + 6])] ^ table[Int(buffer[index + 7])]
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt32(buffer[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
            return ~crc
        }
    }
}

/// The byte-at-a-time table: a byte's remainder.
let crc32Table: [UInt32] = (0 ..< 256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0 ..< 8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

/// Slicing by 8: table k (entries `k * 256 ..< (k + 1) * 256`) is a byte's remainder followed by k
/// zero bytes; table 0 is `crc32Table`.
let crc32Tables: [UInt32] = {
    var tables = crc32Table + [UInt32](repeating: 0, count: 7 * 256)
    for k in 1 ..< 8 {
        for n in 0 ..< 256 {
            let previous = tables[(k - 1) * 256 + n]
            tables[k * 256 + n] = crc32Table[Int(previous & 0xFF)] ^ (previous >> 8)
        }
    }
    return tables
}()

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

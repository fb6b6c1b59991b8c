import SimKernel

/// A call to an infrastructure component failed to get an answer.
public struct InfraTimeout: Error, Hashable, Sendable, CustomStringConvertible {
    public var component: String
    public var attempts: Int
    public var description: String { "\(component): no answer after \(attempts) attempt(s)" }
}

/// Why a call to an infrastructure component failed: the component's own typed error, or no
/// answer in time. Shared by every infrastructure client.
public enum InfraFailure<ServerError: Error & Hashable & Sendable & CustomStringConvertible>: Error, Hashable, Sendable, CustomStringConvertible {
    case server(ServerError)
    case timeout(InfraTimeout)
    public var description: String {
        switch self {
        case .server(let error): return error.description
        case .timeout(let timeout): return timeout.description
        }
    }
}

extension ProcessContext {
    /// Calls an infrastructure component with a deadline per attempt and `retries` further
    /// attempts after jittered backoff. A crashed or partitioned component gives a timeout error,
    /// never a hang. Retry only idempotent requests.
    func infraCall<Reply: SimMessage>(_ to: Address, _ request: any SimMessage, as type: Reply.Type, component: String,
                                      timeout: Int64, retries: Int) async -> Result<Reply, InfraTimeout> {
        var attempt = 0
        while true {
            attempt += 1
            if case .success(let envelope) = await call(to, request, timeout: timeout), let reply = envelope.payload as? Reply {
                return .success(reply)
            }
            if attempt > retries { return .failure(InfraTimeout(component: component, attempts: attempt)) }
            await sleep(nanoseconds: withRandom { $0.uniform(5 * Nanos.millisecond ... Int64(attempt) * 20 * Nanos.millisecond) })
        }
    }
}

/// Length-prefixed records in an append-only file: `u32 length, u32 crc32, bytes`. Reading stops
/// at the first record that is short or fails its checksum (a torn tail after a crash).
enum RecordLog {
    static func encode(_ payload: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.u32(UInt32(payload.count))
        writer.u32(crc32(payload))
        return writer.bytes + payload
    }

    static func decodeAll(_ bytes: [UInt8]) -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = 0
        while bytes.count - offset >= 8 {
            var header = ByteReader(Array(bytes[offset ..< offset + 8]))
            let length = Int(header.u32()!), checksum = header.u32()!
            guard length <= bytes.count - offset - 8 else { break }
            let payload = Array(bytes[offset + 8 ..< offset + 8 + length])
            guard crc32(payload) == checksum else { break }
            records.append(payload)
            offset += 8 + length
        }
        return records
    }
}

/// A small string codec for log payloads: fields separated by 0x1F (unit separator).
enum Fields {
    static func join(_ fields: [[UInt8]]) -> [UInt8] {
        // Runs of plain bytes are copied at once into a buffer sized up front (appending byte by
        // byte cost 7,700 instructions a Redis command: a twentieth of scenario 03).
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(fields.count) { $0 + $1.count })
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(0x1F) }
            // Escape the separator and the escape byte itself.
            field.withUnsafeBufferPointer { buffer in
                var runStart = 0
                for position in 0 ..< buffer.count where buffer[position] == 0x1F || buffer[position] == 0x1B {
                    out.append(contentsOf: buffer[runStart ..< position])
                    out.append(0x1B)
                    runStart = position
                }
                out.append(contentsOf: buffer[runStart ..< buffer.count])
            }
        }
        return out
    }

    /// The fields `join` joined: each separator ends a field, an escape byte takes the next byte
    /// as it is (a trailing escape byte is dropped). Runs of plain bytes are copied at once
    /// (appending byte by byte into the last of a list of arrays cost 9,000 instructions a record:
    /// the final read of Redis's append-only file was a twentieth of scenario 03).
    static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.withUnsafeBufferPointer { buffer in
            var fields: [[UInt8]] = []
            var current: [UInt8] = []
            var runStart = 0, index = 0
            while index < buffer.count {
                let byte = buffer[index]
                guard byte == 0x1B || byte == 0x1F else { index += 1; continue }
                current.append(contentsOf: buffer[runStart ..< index])
                if byte == 0x1F {
                    fields.append(current)
                    current = []
                    index += 1
                } else {
                    if index + 1 < buffer.count { current.append(buffer[index + 1]) }
                    index += 2
                }
                runStart = Swift.min(index, buffer.count)
            }
            current.append(contentsOf: buffer[runStart ..< buffer.count])
            fields.append(current)
            return fields
        }
    }
}

/// A host's network address as a URL names it, parsed the way the C library does (so that every
/// spelling of an address is recognised, not only the dotted one): IPv4 in one to four parts,
/// each decimal, octal (leading 0) or hex (0x), as `inet_aton` takes them (`2130706433`,
/// `0x7f.1`, `0177.0.0.1` are all 127.0.0.1), and bracketed IPv6 (`[::1]`, `[::ffff:10.0.0.3]`).
public enum HostAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// An IPv6 address as its eight 16-bit groups (one that embeds an IPv4 address, mapped
    /// `::ffff:a.b.c.d`, compatible `::a.b.c.d` or NAT64 `64:ff9b::a.b.c.d`, is `v4`).
    case v6([UInt16])

    /// The address a literal host names, or nil when the host is a name.
    public init?(literal host: String) {
        if host.hasPrefix("[") && host.hasSuffix("]") {
            guard let groups = Self.ipv6Groups(String(host.dropFirst().dropLast()).lowercased()) else { return nil }
            let embedded = UInt32(groups[6]) << 16 | UInt32(groups[7])
            if groups[0 ..< 5].allSatisfy({ $0 == 0 }) && (groups[5] == 0xFFFF || (groups[5] == 0 && embedded > 1)) {
                self = .v4(embedded)  // mapped, or the deprecated compatible form (:: and ::1 excepted)
            } else if groups[0] == 0x64 && groups[1] == 0xFF9B && groups[2 ..< 6].allSatisfy({ $0 == 0 }) {
                self = .v4(embedded)  // NAT64 (RFC 6052)
            } else {
                self = .v6(groups)
            }
            return
        }
        let parts = host.splitBytes(".", omittingEmptySubsequences: false)
        guard (1 ... 4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            let text = part.lowercased()
            let value: UInt64?
            if text.hasPrefix("0x") { value = UInt64(text.dropFirst(2), radix: 16) }
            else if text.count > 1 && text.hasPrefix("0") { value = UInt64(text.dropFirst(), radix: 8) }
            else { value = UInt64(text, radix: 10) }
            guard let value else { return nil }
            values.append(value)
        }
        // The last part fills the bytes the others leave.
        let lastBits = UInt64(8 * (5 - parts.count))
        guard values.dropLast().allSatisfy({ $0 <= 0xFF }), values.last! < (1 << lastBits) else { return nil }
        var address = values.last!
        for (index, value) in values.dropLast().enumerated() { address |= value << UInt64(24 - 8 * index) }
        self = .v4(UInt32(address))
    }

    /// The address a host names without asking DNS: a literal, or `localhost` (and its
    /// subdomains), which resolvers answer with loopback themselves.
    public static func fixed(_ host: String) -> HostAddress? {
        let name = host.lowercased()
        if name == "localhost" || name == "localhost." || name.hasSuffix(".localhost") || name.hasSuffix(".localhost.") { return .v4(0x7F00_0001) }
        return HostAddress(literal: host)
    }

    /// The eight groups of an IPv6 address's text (`::` once at most; the last 32 bits may be a
    /// dotted IPv4 address), or nil.
    static func ipv6Groups(_ text: String) -> [UInt16]? {
        guard text.contains(":"), text.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.splitBytes(":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains("."), case .v4(let v4)? = HostAddress(dotted: String(piece)) {
                    result += [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
                } else {
                    guard (1 ... 4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        let halves = text.components(separatedBy: "::")
        switch halves.count {
        case 1:
            guard let all = groups(Substring(text)), all.count == 8 else { return nil }
            return all
        case 2:
            guard let head = groups(Substring(halves[0])), let tail = groups(Substring(halves[1])), head.count + tail.count <= 7 else { return nil }
            return head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        default:
            return nil
        }
    }

    /// Parses a dotted quad (`10.0.0.3`) only.
    public init?(dotted text: String) {
        let parts = text.splitBytes(".", omittingEmptySubsequences: false).compactMap { UInt32($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 <= 0xFF }) else { return nil }
        self = .v4(parts.reduce(0) { $0 << 8 | $1 })
    }

    public var description: String {
        switch self {
        case .v4(let a): return "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF)"
        case .v6(let groups): return "[" + groups.map { String($0, radix: 16) }.joined(separator: ":") + "]"
        }
    }

    /// Loopback (127/8, ::1).
    public var isLoopback: Bool {
        switch self {
        case .v4(let a): return a >> 24 == 127
        case .v6(let groups): return groups == [0, 0, 0, 0, 0, 0, 0, 1]
        }
    }

    /// Not reachable on the public internet: loopback, private (10/8, 172.16/12, 192.168/16),
    /// link-local (169.254/16: the cloud metadata address), carrier-grade NAT (100.64/10), "this
    /// network" (0/8), multicast and reserved (224/3); for IPv6 the unspecified address, loopback,
    /// unique-local (fc00::/7) and link-local (fe80::/10). A webhook may target none of these.
    public var isInternal: Bool {
        switch self {
        case .v4(let a):
            let first = a >> 24, second = a >> 16 & 0xFF
            return first == 0 || first == 10 || first == 127 || first >= 224 || (first == 169 && second == 254)
                || (first == 172 && (16 ... 31).contains(second)) || (first == 192 && second == 168) || (first == 100 && (64 ... 127).contains(second))
        case .v6(let groups):
            return isLoopback || groups.allSatisfy { $0 == 0 } || groups[0] & 0xFE00 == 0xFC00 || groups[0] & 0xFFC0 == 0xFE80
        }
    }
}

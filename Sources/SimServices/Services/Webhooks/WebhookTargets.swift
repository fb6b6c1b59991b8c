import SimKernel

/// Where a webhook goes: an endpoint URL `https://[user@]host[:port]/<mailbox>[/...]` is parsed as
/// a URL parser would (the host is what follows the last `@` of the authority), its host resolved
/// through the simulated DNS (`NameService`) at every delivery, and the delivery sent to the node
/// at that address, to the process listening on `<mailbox>`. A target whose address is internal
/// (loopback, private, link-local...: `HostAddress.isInternal`) is refused, at subscription and
/// again at each delivery, because the name may point elsewhere by then (DNS rebinding). I2 keeps
/// only the subscription's look at the URL's text (`looksPrivate`) and delivers wherever the name
/// resolves.
enum WebhookTargets {
    struct Target: Equatable {
        var host: String
        var mailbox: String
    }

    /// The host and mailbox of an https URL, or nil for anything else.
    static func parse(_ url: String) -> Target? {
        guard url.hasPrefix("https://") else { return nil }
        let rest = url.dropFirst("https://".count)
        // The authority ends at the first '/', '?', '#' or '\\', as WHATWG URL parsers end it
        // (`https://admin#@client/x` is the host admin, not client).
        let authority = rest.prefix { !"/?#\\".contains($0) }
        guard rest.dropFirst(authority.count).first.map({ $0 == "/" }) ?? false else { return nil }
        let path = rest.dropFirst(authority.count).drop { $0 == "/" }
        var host = Substring(authority.splitBytes("@", omittingEmptySubsequences: false).last ?? "")
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            host = host[...close]
        } else if let colon = host.firstIndex(of: ":") {
            host = host[..<colon]
        }
        let mailbox = path.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !host.isEmpty, !mailbox.isEmpty else { return nil }
        return Target(host: String(host), mailbox: String(mailbox))
    }

    /// I2's check: the URL's text after the scheme starts like a private address.
    static func looksPrivate(_ url: String) -> Bool {
        let host = url.splitBytes("/").dropFirst().first.map(String.init) ?? ""
        return host.hasPrefix("localhost") || host.hasPrefix("127.") || host.hasPrefix("10.") || host.hasPrefix("192.168.")
    }

    enum Resolution: Equatable {
        /// Deliver to this process, at this address.
        case deliver(Address, HostAddress)
        /// The host resolves to an internal address: no delivery.
        case refused(HostAddress)
        /// Not an https URL, no such name, or nobody at the address.
        case unreachable
    }

    /// Resolves `url` now, from the webhooks process `context` runs in.
    static func resolve(_ url: String, defects: DefectSet, context: ProcessContext) -> Resolution {
        guard let target = parse(url), let address = context.simulation.names.resolve(target.host) else { return .unreachable }
        if address.isInternal && !defects.contains(.I2) { return .refused(address) }
        let nodeName = address.isLoopback ? context.node.name : context.simulation.names.node(at: address)
        guard let nodeName, let node = context.simulation.node(named: nodeName) else { return .unreachable }
        return .deliver(Address(node: node.id, service: target.mailbox), address)
    }
}

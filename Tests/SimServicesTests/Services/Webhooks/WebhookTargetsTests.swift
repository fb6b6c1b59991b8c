import XCTest
@testable import SimKernel
@testable import SimServices

/// Addresses in every spelling, URL hosts, and which targets a webhook may have.
final class WebhookTargetsTests: XCTestCase {
    /// inet_aton's spellings of one address all parse to it (values checked with Python's
    /// `socket.inet_aton`); malformed ones are names, not addresses.
    func testEverySpellingOfAnAddressParsesToIt() {
        for spelling in ["127.0.0.1", "2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "127.0.1", "0x7F.0.0.0x1"] {
            XCTAssertEqual(HostAddress(literal: spelling), .v4(0x7F00_0001), spelling)
        }
        XCTAssertEqual(HostAddress(literal: "10.0.0.11")?.description, "10.0.0.11")
        XCTAssertEqual(HostAddress(literal: "[::ffff:10.0.0.3]"), HostAddress(dotted: "10.0.0.3"))
        XCTAssertEqual(HostAddress(literal: "[::1]"), .v6([0, 0, 0, 0, 0, 0, 0, 1]))
        XCTAssertEqual(HostAddress(literal: "[0::1]"), .v6([0, 0, 0, 0, 0, 0, 0, 1]))
        // IPv6 spellings that embed an IPv4 address are that address.
        for spelling in ["[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[::FFFF:127.0.0.1]"] {
            XCTAssertEqual(HostAddress(literal: spelling), .v4(0x7F00_0001), spelling)
        }
        for malformed in ["[1:2:3]", "[::1::2]", "[12345::1]", "[::ffff:300.0.0.1]", "[1:2:3:4:5:6:7:8:9]"] { XCTAssertNil(HostAddress(literal: malformed), malformed) }
        for name in ["hooks.example.com", "256.1.1.1", "1.2.3.4.5", "08.0.0.1", "0x", "1..1", "", "[::1", "[hooks]"] {
            XCTAssertNil(HostAddress(literal: name), name)
        }
        XCTAssertEqual(HostAddress.fixed("LocalHost"), .v4(0x7F00_0001))
        XCTAssertEqual(HostAddress.fixed("api.localhost"), .v4(0x7F00_0001))
    }

    /// Internal: loopback, the private ranges, link-local (metadata), CGNAT, 0/8, multicast; IPv6
    /// loopback, unspecified, unique-local and link-local. Public addresses are not.
    func testInternalAddressesAreTheRangesTheInternetCannotReach() {
        for text in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "[::1]", "[::]", "[fd00::1]", "[fe80::1]"] {
            XCTAssertTrue(HostAddress(literal: text)!.isInternal, text)
        }
        for text in ["203.0.113.2", "8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1", "[2001:db8::1]"] {
            XCTAssertFalse(HostAddress(literal: text)!.isInternal, text)
        }
    }

    /// The host is what follows the authority's last `@`, without a port; the first path segment
    /// is the mailbox; anything but https with a host and a path is not a target.
    func testURLsAreParsedAsAURLParserWould() {
        XCTAssertEqual(WebhookTargets.parse("https://client/hooks"), .init(host: "client", mailbox: "hooks"))
        XCTAssertEqual(WebhookTargets.parse("https://hooks.example.com@10.0.0.3:8443/http/x?y"), .init(host: "10.0.0.3", mailbox: "http"))
        XCTAssertEqual(WebhookTargets.parse("https://[::ffff:10.0.0.3]:443/http"), .init(host: "[::ffff:10.0.0.3]", mailbox: "http"))
        for url in ["http://client/hooks", "https://client", "https://client/", "https:///hooks", "https://[::1/x", "https://admin#@client/x", "https://admin?@client/x",
                    "https://admin\\@client/x"] { XCTAssertNil(WebhookTargets.parse(url), url) }
    }

    /// A name resolves through its records at the time of asking: rebinding changes the answer.
    func testANameResolvesToItsCurrentRecord() {
        let names = NameService()
        names.assign(node: "admin", external: false)
        names.assign(node: "client", external: true)
        XCTAssertEqual(names.address(of: "admin")?.description, "10.0.0.2")
        XCTAssertEqual(names.address(of: "client")?.description, "203.0.113.2")
        XCTAssertNil(names.resolve("rebind.example"))
        names.set("Rebind.Example.", to: names.address(of: "client")!, at: 1)
        XCTAssertEqual(names.resolve("rebind.example"), names.address(of: "client"))
        names.set("rebind.example", to: names.address(of: "admin")!, at: 2)
        XCTAssertEqual(names.resolve("rebind.example").flatMap(names.node(at:)), "admin")
        XCTAssertEqual(names.resolve("ADMIN"), names.address(of: "admin"))
    }
}

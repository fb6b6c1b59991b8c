/// The read-only files every service's container image carries, as a process on the node would
/// read them: what an XML external entity (`SYSTEM "file:///..."`) reaches when a parser resolves
/// it. The mesh key is the real credential the gateway signs forwarded identities with.
public enum ImageFiles {
    /// The files by path (`/etc/synapsenet/mesh.key` holds the mesh key in hex).
    public static func read(_ path: String, node: String) -> String? {
        switch path {
        case "/etc/hostname": return node + "\n"
        case "/etc/passwd": return passwd
        case "/etc/synapsenet/mesh.key": return meshKey
        default: return nil
        }
    }

    static let passwd = "root:x:0:0:root:/root:/bin/sh\nsynapsenet:x:1000:1000::/srv:/usr/sbin/nologin\n"
    static var meshKey: String { SHA256.hex(ForwardedIdentity.key) + "\n" }

    /// Texts that must never leave the node: a checker looks for them in what the platform stores.
    public static var secrets: [(file: String, text: String)] {
        [("/etc/synapsenet/mesh.key", SHA256.hex(ForwardedIdentity.key)), ("/etc/passwd", "root:x:0:0")]
    }
}

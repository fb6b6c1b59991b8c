import SimKernel
import SimServices
import Yams

/// Sessions against auth through the gateway, on the `client` node: a scientist (`bob`) works with
/// two tokens every `interval_ms` (writes an artifact with one, reads with the other) while an
/// administrator withdraws his write role at `demote_at_ms` and he logs the second token out at
/// `revoke_at_ms`; a token asked to live 2 s is used on past its expiry; a forger sends crafted
/// tokens (`alg: none`, another algorithm, tampered claims, a guessed key, garbage) and tries to
/// raise roles (a viewer asking for admin, a spoofed `x-role` header, a call straight to auth's
/// address claiming the administrator's identity). Each tenant creates a model; bob (t2) walks
/// model ids 1-6 and tries to create a model in t1 and to register a version of t1's model; both
/// record runs of one experiment and bob filters runs by metric, once with an injected clause. A flooder sends bursts of anonymous requests,
/// each with a new X-Forwarded-For; a prober asks bob's token with wrong keys whose digests share
/// 0 and 1 leading bytes with his. A bot (`ci-bot`) asks tokens every 5 `interval_ms` with its API
/// key, rotates the key at `rotate_at_ms` and goes on with the old one for `key_switch_ms` (its
/// fleet deploying the new one) before it switches. Two services share ml-engineer's login session
/// and refresh it at the same moment every 10 intervals; a thief replays its first refresh token. After the role change and the revocation cache's TTL, nothing
/// may get through with the withdrawn role or the revoked token; no crafted token ever.
public struct AuthSessionsWorkload: Workload {
    public static let name = "auth_sessions"
    public static let requiredRoles = ["client", "gateway", "auth", "storage", "models", "experiments"]
    /// Model ids bob walks through (the platform's first requests and the two tenants' models fit).
    public static let modelIDs = 6
    public static let keys = ["requests", "interval_ms", "demote_at_ms", "revoke_at_ms", "flood", "rate_limit_per_s", "rate_limit_burst", "rotate_at_ms", "key_switch_ms"]

    public var requests = 60
    public var intervalMillis = 200
    public var demoteAtMillis = 8_000
    public var revokeAtMillis = 10_000
    /// Anonymous requests a flooder sends at once, every second, each with a new X-Forwarded-For
    /// (0: no flooder).
    public var flood = 30
    /// The gateway's rate limit per caller for this run.
    public var rateLimitPerSecond = 20
    public var rateLimitBurst = 10
    /// When ci-bot rotates its API key, and how long it keeps using the old one afterwards.
    public var rotateAtMillis = 5_000
    public var keySwitchMillis = 3_000

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "requests": requests = Int(try reader.integer(value, path, in: 1 ... 100_000))
            case "interval_ms": intervalMillis = Int(try reader.integer(value, path, in: 1 ... 600_000))
            case "demote_at_ms": demoteAtMillis = Int(try reader.integer(value, path, in: 0 ... 86_400_000))
            case "flood": flood = Int(try reader.integer(value, path, in: 0 ... 10_000))
            case "rate_limit_per_s": rateLimitPerSecond = Int(try reader.integer(value, path, in: 1 ... 1_000_000_000))
            case "rate_limit_burst": rateLimitBurst = Int(try reader.integer(value, path, in: 1 ... 1_000_000))
            case "rotate_at_ms": rotateAtMillis = Int(try reader.integer(value, path, in: 0 ... 86_400_000))
            case "key_switch_ms": keySwitchMillis = Int(try reader.integer(value, path, in: 0 ... 86_400_000))
            default: revokeAtMillis = Int(try reader.integer(value, path, in: 0 ... 86_400_000))
            }
        }
    }

    /// Tokens no verifier may accept, built from a real one (`genuine`, bob's): each with what it tries.
    public static func forgeries(of genuine: String) -> [(what: String, token: String)] {
        let parts = genuine.splitBytes(".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, var claims = JWT.unverifiedClaims(genuine) else { return [] }
        claims.role = "admin"
        claims.tenant = "t1"
        // The claims' segment as auth would write it (the signature of an empty key is dropped).
        let escalated = String(JWT.issue(claims, secret: []).splitBytes(".")[1])
        func header(_ text: String) -> String { JWT.base64URL(Array(text.utf8)) }
        return [
            ("alg none", header(#"{"alg":"none","typ":"JWT"}"#) + "." + escalated + "."),
            ("alg None", header(#"{"alg":"None"}"#) + "." + parts[1] + "."),
            ("alg HS512", header(#"{"alg":"HS512","typ":"JWT"}"#) + "." + parts[1] + "." + parts[2]),
            ("tampered claims", parts[0] + "." + escalated + "." + parts[2]),
            ("guessed key", JWT.issue(claims, secret: Array("secret".utf8))),
            ("truncated signature", parts[0] + "." + parts[1] + "." + String(parts[2].dropLast(4))),
            ("garbage", "not-a-token"),
        ]
    }

    /// Two wrong keys for bob: the first one's SHA-256 differs from his key's in the first byte,
    /// the second's shares exactly the first byte.
    public static let probeKeys: [String] = {
        let stored = SHA256.hash(Array("k-bob".utf8))
        func matching(_ prefix: Int) -> String {
            for n in 0... {
                let key = "guess-\(n)", digest = SHA256.hash(Array(key.utf8))
                if zip(digest, stored).prefix(while: { $0 == $1 }).count == prefix { return key }
            }
            fatalError("unreachable: the search is unbounded")
        }
        return [matching(0), matching(1)]
    }()

    public func configure(serving: inout ServingConfiguration) {
        serving.rateLimitPerSecond = rateLimitPerSecond
        serving.rateLimitBurst = rateLimitBurst
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"], let auth = platform.directory.services["auth"] else { return }
        let simulation = platform.simulation, requests = self.requests, interval = Int64(intervalMillis) * Nanos.millisecond
        let demoteAt = Int64(demoteAtMillis) * Nanos.millisecond, revokeAt = Int64(revokeAtMillis) * Nanos.millisecond
        func token(_ context: ProcessContext, _ user: String, lifetime: Int? = nil) async -> String {
            await context.token(gateway, user: user, lifetime: lifetime)
        }
        /// One request whose answer matters to nobody but the checkers (retried only on silence or 5xx).
        func probe(_ context: ProcessContext, _ request: HTTPRequest) { simulation.spawn { _ = await context.askUntilDefinitive(gateway, request) } }

        client.addProcess("scientist") { context in
            let writer = await token(context, "bob"), reader = await token(context, "bob")
            let shortLived = await token(context, "bob", lifetime: 2)
            simulation.spawn {
                await context.suspend(until: revokeAt)
                while await context.askUntilDefinitive(gateway, HTTPRequest("POST", "auth/revoke", body: ["token": reader])).status != 200 {
                    await context.sleep(nanoseconds: 500 * Nanos.millisecond)
                }
            }
            for i in 0 ..< requests {
                await context.sleep(nanoseconds: interval)
                probe(context, HTTPRequest("PUT", "storage/artifacts", body: ["key": "bob/notes-\(i)", "content": "step \(i)"], headers: ["authorization": writer]))
                probe(context, HTTPRequest("GET", "storage/artifacts", body: ["key": "bob/notes-\(max(0, i - 1))"], headers: ["authorization": reader]))
                if i % 5 == 0 { probe(context, HTTPRequest("GET", "storage/artifacts", body: ["key": "bob/notes-0"], headers: ["authorization": shortLived])) }
            }
        }
        client.addProcess("administrator") { context in
            let admin = await token(context, "ops-admin")
            await context.suspend(until: demoteAt)
            while await context.askUntilDefinitive(gateway, HTTPRequest("POST", "auth/roles", body: ["user": "bob", "role": "viewer"], headers: ["authorization": admin])).status != 200 {
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
            }
        }
        client.addProcess("tenants") { context in
            // Each tenant has a model; bob (t2) then walks model ids as an IDOR probe would, and
            // tries to create a model in t1 by naming it in the body.
            let engineer = await token(context, "ml-engineer"), bob = await token(context, "bob")
            for (name, owner) in [("fraud-detector", engineer), ("bob-model", bob)] {
                while await context.askUntilDefinitive(gateway, HTTPRequest("POST", "models/create", body: ["name": name], headers: ["authorization": owner])).status != 200 {
                    await context.sleep(nanoseconds: 500 * Nanos.millisecond)
                }
            }
            // Both tenants record runs of an experiment of the same name.
            for (auc, owner) in [("0.91", engineer), ("0.87", engineer), ("0.72", bob)] {
                let run = HTTPRequest("POST", "experiments/runs", body: ["experiment": "fraud", "metric.auc": auc, "run_key": "tenants-\(auc)"], headers: ["authorization": owner])
                _ = await context.askUntilDefinitive(gateway, run)
            }
            for i in 0 ..< requests {
                await context.sleep(nanoseconds: interval)
                probe(context, HTTPRequest("GET", "models/get", body: ["id": "\(1 + i % Self.modelIDs)"], headers: ["authorization": bob]))
                // bob filters runs by metric: honestly, and with a clause that tries to leave his tenant.
                if i % 10 == 2 { probe(context, HTTPRequest("GET", "experiments/runs/filter", body: ["experiment": "fraud", "filter": "metrics.auc > 0.5"], headers: ["authorization": bob])) }
                if i % 10 == 7 { probe(context, HTTPRequest("GET", "experiments/runs/filter", body: ["experiment": "fraud", "filter": "metrics.auc > 0) OR (1=1"], headers: ["authorization": bob])) }
                if i % 10 == 0 { probe(context, HTTPRequest("POST", "models/create", body: ["name": "planted-\(i)", "tenant": "t1"], headers: ["authorization": bob])) }
                // A version of t1's model, registered by t2's bob: the registry asks models on his behalf.
                if i % 10 == 5 { probe(context, HTTPRequest("POST", "registry/versions", body: ["model": "fraud-detector"], headers: ["authorization": bob])) }
            }
        }
        let rotateAt = Int64(rotateAtMillis) * Nanos.millisecond, keySwitch = Int64(keySwitchMillis) * Nanos.millisecond
        client.addProcess("key-rotator") { context in
            // ci-bot's tokens, every fifth interval (anonymous requests share the client's rate
            // limit with the flood), with the key its fleet has deployed.
            var key = "k-ci-bot", next: String?, switchAt = Int64.max
            for _ in 0 ..< requests / 5 {
                await context.sleep(nanoseconds: 5 * interval)
                if next == nil, simulation.now >= rotateAt {
                    let session = await token(context, "ci-bot")
                    let rotated = await context.askUntilDefinitive(gateway, HTTPRequest("POST", "auth/keys/rotate", body: ["request_id": "ci-bot-rotation-1"], headers: ["authorization": session]))
                    next = rotated.body["api_key"]
                    switchAt = simulation.now + keySwitch
                }
                if let next, simulation.now >= switchAt { key = next }
                probe(context, HTTPRequest("POST", "auth/token", body: ["user": "ci-bot", "api_key": key]))
            }
        }
        client.addProcess("session-sharers") { context in
            // Two services of one client (a pipeline and a notebook) share ml-engineer's login
            // session and refresh it together every 10 intervals, as both find the access token
            // about to expire at once; each keeps what it got. Halfway through, a thief replays the
            // session's first refresh token (stolen from a log): it must be refused, the session
            // revoked, and the client logs in again.
            func login() async -> String {
                while true {
                    let opened = await context.askUntilDefinitive(gateway, HTTPRequest("POST", "auth/sessions", body: ["user": "ml-engineer", "api_key": "k-ml-engineer"]))
                    if let refresh = opened.body["refresh_token"] { return refresh }
                    await context.sleep(nanoseconds: 500 * Nanos.millisecond)
                }
            }
            var refresh = await login()
            let stolen = refresh
            for round in 0 ..< requests / 10 {
                await context.sleep(nanoseconds: 10 * interval)
                if round == requests / 20 { probe(context, HTTPRequest("POST", "auth/refresh", body: ["refresh_token": stolen])) }
                let answers = SimStore<HTTPResponse>(), presented = refresh
                for _ in 0 ..< 2 {
                    simulation.spawn { await answers.put(await context.askUntilDefinitive(gateway, HTTPRequest("POST", "auth/refresh", body: ["refresh_token": presented]))) }
                }
                let first = await answers.get(), second = await answers.get()
                guard let next = first.body["refresh_token"] ?? second.body["refresh_token"] else { refresh = await login(); continue }
                refresh = next
            }
        }
        client.addProcess("key-prober") { context in
            // Wrong keys for bob whose digests share 0 and 1 leading bytes with the stored one (an
            // attacker finds these by timing 256 candidates a byte; the workload computes them).
            for i in 0 ..< requests / 5 {
                await context.sleep(nanoseconds: 5 * interval)
                let key = Self.probeKeys[i % Self.probeKeys.count]
                probe(context, HTTPRequest("POST", "auth/token", body: ["user": "bob", "api_key": key]))
            }
        }
        let flood = self.flood
        if flood > 0 {
            client.addProcess("flooder") { context in
                // Bursts of anonymous reads, each request claiming another address: the limit must
                // hold for the one client they all come from.
                await context.sleep(nanoseconds: 4 * Nanos.second)
                for burst in 0 ..< requests / 5 {
                    for i in 0 ..< flood {
                        let spoofed = HTTPRequest("GET", "storage/artifacts", body: ["key": SecurityProbeWorkload.report], headers: ["x-forwarded-for": "10.0.\(burst).\(i)"])
                        simulation.spawn { _ = await context.call(gateway, HTTPMessage.request(spoofed), timeout: 2 * Nanos.second) }
                    }
                    await context.sleep(nanoseconds: Nanos.second)
                }
            }
        }
        client.addProcess("forger") { context in
            let genuine = await token(context, "bob"), viewer = await token(context, "alice")
            let forged = Self.forgeries(of: genuine)
            for i in 0 ..< requests {
                await context.sleep(nanoseconds: interval)
                let (_, token) = forged[i % forged.count]
                probe(context, HTTPRequest("PUT", "storage/artifacts", body: ["key": "forged/\(i)", "content": "x"], headers: ["authorization": token]))
                switch i % 4 {
                case 0: probe(context, HTTPRequest("POST", "auth/roles", body: ["user": "alice", "role": "admin"], headers: ["authorization": viewer]))
                case 1: probe(context, HTTPRequest("POST", "auth/roles", body: ["user": "alice", "role": "admin"], headers: ["x-role": "admin", "x-user": "ops-admin"]))
                case 2: probe(context, HTTPRequest("PUT", "storage/artifacts", body: ["key": "alice/\(i)", "content": "x"], headers: ["authorization": viewer]))
                default:
                    // Straight to auth's address, past the gateway, claiming to be the administrator.
                    let direct = HTTPRequest("POST", "auth/roles", body: ["user": "alice", "role": "admin"], headers: ["x-user": "ops-admin", "x-tenant": "t1", "x-role": "admin"])
                    simulation.spawn { _ = await context.call(auth, HTTPMessage.request(direct), timeout: 2 * Nanos.second) }
                }
            }
        }
    }
}

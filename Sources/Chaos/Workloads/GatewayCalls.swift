import SimKernel
import SimServices

extension ProcessContext {
    /// Sends `request` to the gateway until it gets a definitive answer (not 5xx, 429 or
    /// silence), backing off with jitter from 100 ms to 2 s: what a client that must get through
    /// does. Only for requests that are safe to repeat.
    func askUntilDefinitive(_ gateway: Address, _ request: HTTPRequest) async -> HTTPResponse {
        var backoff = 100 * Nanos.millisecond
        while true {
            if case .success(let envelope) = await call(gateway, HTTPMessage.request(request), timeout: 3 * Nanos.second),
               case .response(let response) = envelope.payload as? HTTPMessage, response.status < 500, response.status != 429 { return response }
            await sleep(nanoseconds: backoff + withRandom { $0.uniform(0 ... backoff / 2) })
            backoff = Swift.min(2 * Nanos.second, backoff * 2)
        }
    }

    /// A token for `user` (whose API key is `k-<user>`; `lifetime` seconds, else auth's default),
    /// asked through the gateway until granted.
    func token(_ gateway: Address, user: String, lifetime: Int? = nil) async -> String {
        var body = ["user": user, "api_key": "k-\(user)"]
        if let lifetime { body["lifetime_s"] = "\(lifetime)" }
        while true {
            if let token = await askUntilDefinitive(gateway, HTTPRequest("POST", "auth/token", body: body)).body["token"] { return token }
            await sleep(nanoseconds: 500 * Nanos.millisecond)
        }
    }
}

/// A user of the platform calling it through the gateway, which refuses every request without a
/// token but a login's: the client asks auth for a token with the user's API key before its first
/// request, sends it with every request, and asks for a new one when the gateway refuses it (an
/// expired token, or auth's clock stepped past its validity), as an SDK's session does. Shared by
/// the tasks of one workload process.
final class PlatformClient: @unchecked Sendable {  // confined to its simulation's thread
    let gateway: Address
    /// The account (API key `k-<user>`, provisioned with auth's database).
    let user: String
    private var token: String?
    /// When one of the client's tasks began asking for a token (the others wait for it), if it
    /// is asking now. A login older than its 3 s timeout is not waited for (its task may be gone
    /// with a crash of the client's node).
    private var loginStartedAt: Int64?

    init(gateway: Address, user: String) {
        self.gateway = gateway
        self.user = user
    }

    /// Whether `response` is the platform's answer to the request, not a reason to send it again:
    /// not a 5xx, not a 429, not the gateway refusing the token (which the client then replaces).
    static func isDefinitive(_ response: HTTPResponse) -> Bool {
        response.status < 500 && response.status != 429 && !refusedToken(response)
    }

    static func refusedToken(_ response: HTTPResponse) -> Bool {
        response.status == 401 && response.body["error"]?.hasPrefix("token refused") == true
    }

    /// The current token; when there is none, one login at a time for all the client's tasks
    /// (the others wait for it), retried with jittered backoff. Nil when none came within `timeout`.
    func currentToken(_ context: ProcessContext, timeout: Int64 = .max) async -> String? {
        let deadline = timeout > Int64.max - context.simulation.now ? Int64.max : context.simulation.now + timeout
        var backoff = 100 * Nanos.millisecond
        while token == nil {
            guard context.simulation.now < deadline else { return nil }
            if let started = loginStartedAt, context.simulation.now - started <= 3 * Nanos.second {
                await context.sleep(nanoseconds: 20 * Nanos.millisecond)
                continue
            }
            loginStartedAt = context.simulation.now
            let login = HTTPRequest("POST", "auth/token", body: ["user": user, "api_key": "k-\(user)"])
            let answer = await context.call(gateway, HTTPMessage.request(login), timeout: Swift.min(3 * Nanos.second, Swift.max(1, deadline - context.simulation.now)))
            loginStartedAt = nil
            if case .success(let envelope) = answer, case .response(let response) = envelope.payload as? HTTPMessage, let granted = response.body["token"] {
                token = granted
            } else {
                await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
                backoff = Swift.min(2 * Nanos.second, backoff * 2)
            }
        }
        return token
    }

    /// `request` with the user's token, sent once through the gateway (the login, when there is
    /// no token yet, counts against `timeout`). A refusal of the token itself (401 "token
    /// refused") drops it, so the next request logs in again.
    func call(_ context: ProcessContext, _ request: HTTPRequest, timeout: Int64) async -> Result<Envelope, RPCError> {
        let started = context.simulation.now
        guard let sent = await currentToken(context, timeout: timeout) else { return .failure(.timeout(to: gateway, after: timeout)) }
        var request = request
        request.headers["authorization"] = sent
        let result = await context.call(gateway, HTTPMessage.request(request), timeout: Swift.max(1, timeout - (context.simulation.now - started)))
        if case .success(let envelope) = result, case .response(let response) = envelope.payload as? HTTPMessage, Self.refusedToken(response), token == sent {
            token = nil
        }
        return result
    }

    /// The answer to `request` when one came back.
    func response(_ context: ProcessContext, _ request: HTTPRequest, timeout: Int64 = 3 * Nanos.second) async -> HTTPResponse? {
        guard case .success(let envelope) = await call(context, request, timeout: timeout),
              case .response(let response) = envelope.payload as? HTTPMessage else { return nil }
        return response
    }

    /// Sends `request` until it gets a definitive answer (`isDefinitive`), backing off with
    /// jitter from 100 ms to 2 s: what a client that must get through does.
    func askUntilDefinitive(_ context: ProcessContext, _ request: HTTPRequest) async -> HTTPResponse {
        var backoff = 100 * Nanos.millisecond
        while true {
            if let response = await response(context, request), Self.isDefinitive(response) { return response }
            await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
            backoff = Swift.min(2 * Nanos.second, backoff * 2)
        }
    }
}

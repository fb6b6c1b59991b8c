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

    /// A token for `user` (whose API key is `k-<user>`), asked through the gateway until granted.
    func token(_ gateway: Address, user: String) async -> String {
        while true {
            if let token = await askUntilDefinitive(gateway, HTTPRequest("POST", "auth/token", body: ["user": user, "api_key": "k-\(user)"])).body["token"] { return token }
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

    init(gateway: Address, user: String) {
        self.gateway = gateway
        self.user = user
    }

    /// The current token, asked for first when there is none.
    func currentToken(_ context: ProcessContext) async -> String {
        if let token { return token }
        let fresh = await context.token(gateway, user: user)
        token = fresh
        return fresh
    }

    /// `request` with the user's token, sent once through the gateway. A refusal of the token
    /// itself (401 "token refused") drops it, so the next request logs in again.
    func call(_ context: ProcessContext, _ request: HTTPRequest, timeout: Int64) async -> Result<Envelope, RPCError> {
        var request = request
        let sent = await currentToken(context)
        request.headers["authorization"] = sent
        let result = await context.call(gateway, HTTPMessage.request(request), timeout: timeout)
        if case .success(let envelope) = result, case .response(let response) = envelope.payload as? HTTPMessage,
           response.status == 401, response.body["error"]?.hasPrefix("token refused") == true, token == sent {
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

    /// Sends `request` until it gets a definitive answer (as `askUntilDefinitive`, with the
    /// user's token; a refused token is replaced and the request sent again).
    func askUntilDefinitive(_ context: ProcessContext, _ request: HTTPRequest) async -> HTTPResponse {
        var backoff = 100 * Nanos.millisecond
        while true {
            if let response = await response(context, request), response.status < 500, response.status != 429,
               !(response.status == 401 && response.body["error"]?.hasPrefix("token refused") == true) { return response }
            await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
            backoff = Swift.min(2 * Nanos.second, backoff * 2)
        }
    }
}

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

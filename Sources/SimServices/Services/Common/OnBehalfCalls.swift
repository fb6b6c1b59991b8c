import SimKernel

/// A service calling another on behalf of its caller: the caller's identity (`x-user`, `x-tenant`,
/// `x-role`, as the gateway forwarded them) goes along, signed again for the downstream method
/// and path under the mesh key every platform service holds, so the downstream service judges the
/// same caller (its tenant scope, its role). G1 propagates only the user: the tenant and role
/// claims are lost downstream, which then denies what the caller may do.
extension ServiceRuntime {
    public func callOnBehalf(of info: RequestInfo, service: String, _ request: HTTPRequest, attempts: Int = 3) async -> HTTPResponse? {
        guard let address = directory.services[service] else { return nil }
        var request = request
        let claims = defects.contains(.G1) ? ["x-user"] : ForwardedIdentity.identityHeaders
        for name in claims { request.headers[name] = info.headers[name] }
        // Between attempts, jittered exponential backoff (50 ms doubling to 2 s, as the gateway
        // path backs off): an overloaded or restarting service is not hammered at once.
        var backoff = 50 * Nanos.millisecond
        for attempt in 0 ..< attempts {
            if attempt > 0 {
                await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
                backoff = Swift.min(2 * Nanos.second, backoff * 2)
            }
            // Signed anew each attempt: a signature is taken once, within `ForwardedIdentity.windowNanos`.
            ForwardedIdentity.sign(&request, by: context, for: address)
            if case .success(let envelope) = await context.call(address, HTTPMessage.request(request), timeout: Nanos.second),
               case .response(let response) = envelope.payload as? HTTPMessage, response.status < 500 {
                // What checkers see: who asked, with which claims upstream, and the answer.
                let security = context.simulation.security
                security.downstreamCalls.append((context.simulation.now, spec.name, service, request.path, info.user ?? "", info.tenant != nil && info.role != nil, response.status))
                security.revision &+= 1
                return response
            }
        }
        return nil
    }
}

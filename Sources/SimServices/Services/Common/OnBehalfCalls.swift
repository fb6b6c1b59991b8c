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
        request.headers[ForwardedIdentity.header] = ForwardedIdentity.sign(request.headers, method: request.method, path: request.path)
        for _ in 0 ..< attempts {
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

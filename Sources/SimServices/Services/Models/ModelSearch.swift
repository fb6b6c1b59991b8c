import SimKernel

/// `GET models/search {pattern}`: the names of the caller's tenant's models that a regular
/// expression (`RegexProgram`'s syntax, at most 256 characters) finds, matched by the Pike VM, whose
/// work is linear in each name's length. The matching's steps are charged to the service as CPU
/// time. I10 matches with a backtracking engine instead: a pattern such as `(a+)+$` against a
/// name like `aaaaaaaaaaaaaa!` takes steps exponential in its length (ReDoS).
extension ModelsService {
    public struct Search: Codable, Sendable, Equatable {
        public var pattern: String
    }
    public struct Found: Codable, Sendable, Equatable {
        /// The matching names, comma-separated, in name order.
        public var names: String
        /// The matcher's steps over every name.
        public var steps: Int
    }

    /// Virtual CPU time of one matcher step.
    static let regexStepCost: Int64 = 20

    static func search(_ runtime: ServiceRuntime, _ request: Search, _ info: RequestInfo) async throws(ServiceError) -> Found {
        guard let tenant = info.tenant, info.user != nil else { throw ServiceError(401, "searching models needs an authenticated caller") }
        let program: RegexProgram
        do { program = try RegexProgram(request.pattern) } catch { throw .badRequest("pattern: \(error)") }
        guard case .success(let rows) = await runtime.transaction([SQLStatement("SELECT name FROM models WHERE tenant = ? ORDER BY name", [.text(tenant)])]) else {
            throw .unavailable("cannot read the models")
        }
        let context = runtime.context, security = context.simulation.security, backtracks = runtime.defects.contains(.I10)
        var found: [String] = [], total = 0
        for name in rows[0].rows.compactMap({ $0[0].text }) {
            let (matched, steps) = backtracks ? Backtracker.search(program, in: name) : PikeVM.search(program, in: name)
            security.regexMatches.append((context.simulation.now, request.pattern, program.instructions.count, name.count, steps))
            total += steps
            if matched { found.append(name) }
        }
        security.revision &+= 1
        await context.sleep(nanoseconds: Int64(total) * regexStepCost)  // the CPU the matching took
        return Found(names: found.joined(separator: ","), steps: total)
    }
}

import SimKernel

/// Security events: every refusal of a request for a security reason (a traversal key, and the
/// refusals to come: forged tokens, SSRF targets...) is published on the Kafka topic
/// `security.events` before the caller hears the refusal, naming the service, the caller and the
/// reason. The topic is created by the first event (nothing changes in runs that refuse nothing).
/// If the event cannot be published the request is answered 503, refused all the same: a refusal
/// is never left unlogged.
public enum SecurityEvents {
    public static let topic = "security.events"

    /// Publishes the refusal of `detail` to `caller` by `runtime`'s service for `reason`, then
    /// throws the 4xx the caller gets (`status`), or 503 when the log is unreachable.
    public static func refuse(_ runtime: ServiceRuntime, caller: String, reason: String, detail: String, status: Int = 400) async -> ServiceError {
        let context = runtime.context, service = runtime.spec.name
        let observations = context.simulation.security
        observations.nextEvent += 1
        let id = "\(service)-\(context.node.name)-\(context.epoch)-\(observations.nextEvent)"
        // Fields come from callers (a forged token's subject, a key): none may carry the separator
        // or a line break, or it could plant fields of its own in the log.
        let value = Array(([id, service, caller, reason, detail].map(field)).joined(separator: "|").utf8)
        var logged = false
        for attempt in 0 ..< 2 {
            switch await runtime.kafka.produce(topic, key: caller, value: value, context: context, retries: 1) {
            case .success: logged = true
            case .failure(.server(.unknownTopic)) where attempt == 0:
                _ = await runtime.kafka.createTopic(topic, partitions: 1, context: context)
                continue
            case .failure: break
            }
            break
        }
        guard logged else { return .unavailable("refused (\(reason)), and the security log is unreachable: try again") }
        observations.refusals.append(.init(at: context.simulation.now, eventID: id, service: service, caller: caller, reason: reason, detail: detail, status: status))
        observations.revision &+= 1
        return ServiceError(status, "refused: \(reason)")
    }

    /// `text` as one field of an event: `|`, CR and LF escaped as `%7C`, `%0D`, `%0A` (and `%` as `%25`).
    static func field(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "%": escaped += "%25"
            case "|": escaped += "%7C"
            case "\r": escaped += "%0D"
            case "\n": escaped += "%0A"
            case "\r\n": escaped += "%0D%0A"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Who a request comes from, as the gateway forwarded it (else its origin).
    /// A caller asking for another tenant's `what` (a run, a feature view, a pipeline run): answered
    /// as a missing one is (404: its existence is not disclosed), and logged as "`what` of another
    /// tenant". `caller` defaults to the request's (`caller(_:)`).
    /// The answer is the very one a missing resource gets (`missing`, e.g. "no run 7"): the
    /// reason is for the log only. A refusal that could not be logged answers 503 `unavailable`,
    /// the words a failed read of the resource gets, so a fault never tells another tenant's
    /// resource from a missing one by its message either.
    public static func refuseOtherTenants(_ runtime: ServiceRuntime, _ info: RequestInfo, _ what: String, detail: String, missing: String, unavailable: String,
                                          caller: String? = nil) async -> ServiceError {
        let refusal = await refuse(runtime, caller: caller ?? Self.caller(info), reason: "\(what) of another tenant", detail: detail, status: 404)
        return refusal.status == 404 ? ServiceError(404, missing) : .unavailable(unavailable)
    }

    public static func caller(_ info: RequestInfo) -> String {
        info.user.map { "\($0)@\(info.tenant ?? "-")" } ?? "anonymous(\(info.origin))"
    }
}

/// What checkers see of the security side: refusals (each logged before it was answered) and
/// artifact downloads served.
public final class SecurityObservations {
    public struct Refusal {
        public var at: Int64
        public var eventID: String
        public var service: String
        public var caller: String
        public var reason: String
        public var detail: String
        public var status: Int
    }
    public var refusals: [Refusal] {
        get { _refusals }
        _modify { changes.note(); yield &_refusals }
        set { changes.note(); _refusals = newValue }
    }
    private var _refusals: [Refusal] = []
    /// An artifact download answered: the key asked, and the object served.
    public var downloads: [(at: Int64, caller: String, tenant: String, asked: String, bucket: String, key: String)] {
        get { _downloads }
        _modify { changes.note(); yield &_downloads }
        set { changes.note(); _downloads = newValue }
    }
    private var _downloads: [(at: Int64, caller: String, tenant: String, asked: String, bucket: String, key: String)] = []
    /// A token auth accepted: when (true time once its cache was consulted, and the verifying
    /// node's clock when the token's times were judged, in seconds), the token itself, and the
    /// role auth granted its user.
    public struct Verification {
        public var at: Int64
        public var localSeconds: Int64
        public var token: String
        public var role: String
    }
    public var verifications: [Verification] {
        get { _verifications }
        _modify { changes.note(); yield &_verifications }
        set { changes.note(); _verifications = newValue }
    }
    private var _verifications: [Verification] = []
    /// Tokens revoked (committed to users_db), by true time.
    public var revocations: [(at: Int64, jti: String)] {
        get { _revocations }
        _modify { changes.note(); yield &_revocations }
        set { changes.note(); _revocations = newValue }
    }
    private var _revocations: [(at: Int64, jti: String)] = []
    /// Sessions auth revoked (refresh-token reuse), when the revocation committed: every access
    /// token the session issued is refused from the next reload of auth's cache.
    public var sessionRevocations: [(at: Int64, session: String)] {
        get { _sessionRevocations }
        _modify { changes.note(); yield &_sessionRevocations }
        set { changes.note(); _sessionRevocations = newValue }
    }
    private var _sessionRevocations: [(at: Int64, session: String)] = []
    /// Role changes sent to users_db: committed (`certain`, at the time the commit was answered)
    /// or perhaps committed (the answer was lost: at the time the change was sent).
    public var roleChanges: [(at: Int64, user: String, role: String, certain: Bool)] {
        get { _roleChanges }
        _modify { changes.note(); yield &_roleChanges }
        set { changes.note(); _roleChanges = newValue }
    }
    private var _roleChanges: [(at: Int64, user: String, role: String, certain: Bool)] = []
    /// Requests the gateway forwarded for a verified identity: the role it checked them against.
    public var authorized: [(at: Int64, user: String, role: String, method: String, path: String)] {
        get { _authorized }
        _modify { changes.note(); yield &_authorized }
        set { changes.note(); _authorized = newValue }
    }
    private var _authorized: [(at: Int64, user: String, role: String, method: String, path: String)] = []
    /// Models the models service served by id: to whom (user, tenant) and the model's tenant.
    public var modelReads: [(at: Int64, user: String, callerTenant: String, id: Int64, modelTenant: String)] {
        get { _modelReads }
        _modify { changes.note(); yield &_modelReads }
        set { changes.note(); _modelReads = newValue }
    }
    private var _modelReads: [(at: Int64, user: String, callerTenant: String, id: Int64, modelTenant: String)] = []
    /// API key comparisons in auth: the leading bytes the presented digest shared with the stored
    /// one, and the virtual time the comparison took.
    public var keyComparisons: [(at: Int64, user: String, matched: Int, spent: Int64)] {
        get { _keyComparisons }
        _modify { changes.note(); yield &_keyComparisons }
        set { changes.note(); _keyComparisons = newValue }
    }
    private var _keyComparisons: [(at: Int64, user: String, matched: Int, spent: Int64)] = []
    /// Requests a service behind the gateway honoured under a forwarded identity, and whether the
    /// identity carried the gateway's signature.
    public var identityCalls: [(at: Int64, service: String, user: String, role: String, path: String, signed: Bool)] {
        get { _identityCalls }
        _modify { changes.note(); yield &_identityCalls }
        set { changes.note(); _identityCalls = newValue }
    }
    private var _identityCalls: [(at: Int64, service: String, user: String, role: String, path: String, signed: Bool)] = []
    /// Model files an inference replica loaded (the bytes as read from the object store).
    public var modelLoads: [(at: Int64, node: String, model: String, version: Int64, bytes: [UInt8])] {
        get { _modelLoads }
        _modify { changes.note(); yield &_modelLoads }
        set { changes.note(); _modelLoads = newValue }
    }
    private var _modelLoads: [(at: Int64, node: String, model: String, version: Int64, bytes: [UInt8])] = []
    /// Callables a model file's load called (I3's unpickling honours them): where and what.
    public var payloadCalls: [(at: Int64, node: String, model: String, version: Int64, call: LegacyPickle.Call)] {
        get { _payloadCalls }
        _modify { changes.note(); yield &_payloadCalls }
        set { changes.note(); _payloadCalls = newValue }
    }
    private var _payloadCalls: [(at: Int64, node: String, model: String, version: Int64, call: LegacyPickle.Call)] = []
    /// Model updates: the caller, the fields it asked to change, and the model's row before and
    /// after (column -> value), read in the update's own transaction.
    public var modelUpdates: [(at: Int64, caller: String, asked: [String], before: [String: String], after: [String: String])] {
        get { _modelUpdates }
        _modify { changes.note(); yield &_modelUpdates }
        set { changes.note(); _modelUpdates = newValue }
    }
    private var _modelUpdates: [(at: Int64, caller: String, asked: [String], before: [String: String], after: [String: String])] = []
    /// Webhook delivery attempts sent: the endpoint, its URL, the address its host resolved to,
    /// the node at that address and the event's id.
    public var webhookAttempts: [(at: Int64, endpoint: Int64, url: String, address: String, node: String, event: String)] {
        get { _webhookAttempts }
        _modify { changes.note(); yield &_webhookAttempts }
        set { changes.note(); _webhookAttempts = newValue }
    }
    private var _webhookAttempts: [(at: Int64, endpoint: Int64, url: String, address: String, node: String, event: String)] = []
    /// Webhooks a subscriber's receiver judged: the event id, whether the platform sent it (not an
    /// attacker's replay or forgery), and the verdict.
    public var webhookReceipts: [(at: Int64, id: String, fromPlatform: Bool, verdict: WebhookReceiver.Verdict)] {
        get { _webhookReceipts }
        _modify { changes.note(); yield &_webhookReceipts }
        set { changes.note(); _webhookReceipts = newValue }
    }
    private var _webhookReceipts: [(at: Int64, id: String, fromPlatform: Bool, verdict: WebhookReceiver.Verdict)] = []
    /// Regular-expression matches run by a search: the pattern, its program's instruction count,
    /// the input's length and the matcher's steps.
    public var regexMatches: [(at: Int64, pattern: String, instructions: Int, inputLength: Int, steps: Int)] {
        get { _regexMatches }
        _modify { changes.note(); yield &_regexMatches }
        set { changes.note(); _regexMatches = newValue }
    }
    private var _regexMatches: [(at: Int64, pattern: String, instructions: Int, inputLength: Int, steps: Int)] = []
    /// Model descriptions stored from metadata documents: for whom, which model, and the text.
    public var metadataStored: [(at: Int64, caller: String, model: String, description: String)] {
        get { _metadataStored }
        _modify { changes.note(); yield &_metadataStored }
        set { changes.note(); _metadataStored = newValue }
    }
    private var _metadataStored: [(at: Int64, caller: String, model: String, description: String)] = []
    /// API key rotations as sent to users_db: the user, the key rotated out and the new key
    /// (SHA-256 digests), and the rotation's time on auth's clock (seconds), as stored.
    public var keyRotations: [(at: Int64, user: String, old: [UInt8]?, new: [UInt8], rotatedAtLocal: Int64)] {
        get { _keyRotations }
        _modify { changes.note(); yield &_keyRotations }
        set { changes.note(); _keyRotations = newValue }
    }
    private var _keyRotations: [(at: Int64, user: String, old: [UInt8]?, new: [UInt8], rotatedAtLocal: Int64)] = []
    /// Keys presented for a token: when (true time, and auth's clock in seconds), by whom, the
    /// key's digest, and whether it was accepted.
    public var keyPresentations: [(at: Int64, localSeconds: Int64, user: String, digest: [UInt8], accepted: Bool)] {
        get { _keyPresentations }
        _modify { changes.note(); yield &_keyPresentations }
        set { changes.note(); _keyPresentations = newValue }
    }
    private var _keyPresentations: [(at: Int64, localSeconds: Int64, user: String, digest: [UInt8], accepted: Bool)] = []
    /// A request the admin service accepted over mutual TLS: when, the chain, the request and
    /// the proof of possession it carried.
    public struct AcceptedPeer {
        public var at: Int64
        public var chain: [PeerCertificate]
        public var method: String
        public var path: String
        public var body: [String: String]
        public var proof: String
    }
    public var peersAccepted: [AcceptedPeer] {
        get { _peersAccepted }
        _modify { changes.note(); yield &_peersAccepted }
        set { changes.note(); _peersAccepted = newValue }
    }
    private var _peersAccepted: [AcceptedPeer] = []
    /// Calls a service made to another on behalf of its caller: from, to, the route, the caller's
    /// user, whether the caller's identity was complete (tenant and role) upstream, and the answer.
    public var downstreamCalls: [(at: Int64, from: String, to: String, path: String, user: String, upstreamComplete: Bool, status: Int)] {
        get { _downstreamCalls }
        _modify { changes.note(); yield &_downstreamCalls }
        set { changes.note(); _downstreamCalls = newValue }
    }
    private var _downstreamCalls: [(at: Int64, from: String, to: String, path: String, user: String, upstreamComplete: Bool, status: Int)] = []
    /// A refresh of a login session (`RefreshSessions.swift`): the generation presented, whether
    /// this refresh rotated the session, the session's row as the same transaction read it after
    /// the rotation was tried, and whether a new token was answered.
    public struct SessionRefresh {
        public var at: Int64
        /// Auth's clock when it judged the refresh, in seconds.
        public var localSeconds: Int64
        public var session: String
        public var user: String
        public var presented: Int64
        public var rotated: Bool
        public var row: AuthService.SessionRow
        public var accepted: Bool
    }
    public var refreshes: [SessionRefresh] {
        get { _refreshes }
        _modify { changes.note(); yield &_refreshes }
        set { changes.note(); _refreshes = newValue }
    }
    private var _refreshes: [SessionRefresh] = []
    /// Experiment filters answered (`RunFilter`): the caller, the tenant it acts in, the filter,
    /// and the runs returned with the tenant each belongs to (read in the same statement).
    public var runFilters: [(at: Int64, caller: String, callerTenant: String, filter: String, runs: [(run: Int64, tenant: String)])] {
        get { _runFilters }
        _modify { changes.note(); yield &_runFilters }
        set { changes.note(); _runFilters = newValue }
    }
    private var _runFilters: [(at: Int64, caller: String, callerTenant: String, filter: String, runs: [(run: Int64, tenant: String)])] = []
    public var nextEvent = 0 { didSet { changes.note() } }
    public var revision: UInt64 = 0 { didSet { changes.note() } }
    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }
}

extension Simulation {
    public var security: SecurityObservations { component(SecurityObservations.self) { SecurityObservations(changes: checkerChanges) } }
}

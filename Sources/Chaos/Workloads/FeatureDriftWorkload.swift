import SimKernel
import SimServices
import Yams

/// Scenario 03's feature pipeline, driven by the `client` node through the gateway. Two feature
/// views: `user_demographics` (age, income, account age, transaction count, login frequency: five
/// correlated copies of one latent cause, with transformations `risk` and `wealth`, declared
/// before the one it reads) and `user_behavior` (session duration, page views as a category,
/// click rate). Every `window_ms` the producers send `rows_per_window` rows per view (a share of
/// them from a producer in UTC-5 that stamps its local time), and once a window has closed the
/// client asks monitoring to check it against the first `reference_windows` windows. From
/// `shift_at_window` on, a legitimate cohort shift (older, richer users) moves every demographic
/// feature together: one alert per window for the group is right, one per feature is the storm.
/// Each window a pipeline run materializes both views (a DAG with a diamond); the client also
/// materializes on demand in between, reads the online store and joins point-in-time. At start it
/// tries to register a view whose transformations form a cycle and a pipeline DAG with a cycle
/// (both must be refused), and subscribes to alerts by webhook at `https://client/alerts`, where
/// a receiver verifies each signature and counts each event id once. A third view, `user_profile`,
/// gets its history by one backfill (a training-set builder waits for it, then joins) and a second
/// schema version a quarter into the run, read by clients pinned to v1 and by clients of the newest.
public struct FeatureDriftWorkload: Workload {
    public static let name = "feature_drift"
    public static let requiredRoles = ["client", "gateway", "features", "monitoring", "pipeline", "workers", "webhooks"]
    public static let keys = ["window_ms", "windows", "rows_per_window", "reference_windows", "shift_at_window", "users", "remote_share_percent", "shift_sd"]

    public var windowMillis = 1000
    public var windows = 40
    public var rowsPerWindow = 100
    public var referenceWindows = 5
    /// The first window of the cohort shift (`windows` or more: no shift).
    public var shiftAtWindow = 22
    public var users = 1000
    public var remoteSharePercent = 20
    /// The shift of the latent cause, in tenths of a standard deviation.
    public var shiftTenthsOfSD = 10

    public static let demographics = FeatureView(name: "user_demographics", features: ["age", "income", "account_age", "transaction_count", "login_frequency"],
                                                 ttl: 24 * 3600 * Nanos.second, sla: 3 * Nanos.second,
                                                 transforms: [try! FeatureView.Transform.parse("risk=product(wealth transaction_count)").get(),
                                                              try! FeatureView.Transform.parse("wealth=ratio(income age)").get()])
    public static let behavior = FeatureView(name: "user_behavior", features: ["session_duration", "page_views", "click_rate"], categorical: ["page_views"],
                                             ttl: 5 * Nanos.second, sla: 3 * Nanos.second)
    /// The workload's two views, by name (what the checks judge served values against).
    public static let viewsByName: [String: FeatureView] = Dictionary(uniqueKeysWithValues: [demographics, behavior].map { ($0.name, $0) })
    /// A view that evolves mid-run and has a backfilled history: `user_profile` v1 (plan, tenure),
    /// then v2 appending `referrals`. Its history (before the first window) arrives as one
    /// backfill; its readers are pinned to v1 (an old client) or follow the newest version.
    public static let profile = FeatureView(name: "user_profile", features: ["plan", "tenure_days"], ttl: 24 * 3600 * Nanos.second, sla: 60 * Nanos.second)
    public static let profileVersions: [Int: [String]] = [1: ["plan", "tenure_days"], 2: ["plan", "tenure_days", "referrals"]]
    /// Profile entities (u1...u50), backfilled rows (400: 16 parts of 25), and how far back they go.
    public static let profileUsers = 50
    public static let backfillRows = 400
    public static let backfillSpan = 30 * Nanos.second
    /// A view whose transformations read each other in a ring (a -> b -> c -> a): to be refused.
    public static let ring = FeatureView(name: "user_segments", features: ["age", "income"], ttl: 24 * 3600 * Nanos.second, sla: 3 * Nanos.second,
                                         transforms: [try! FeatureView.Transform.parse("segment_a=sum(segment_c income)").get(),
                                                      try! FeatureView.Transform.parse("segment_b=sum(segment_a age)").get(),
                                                      try! FeatureView.Transform.parse("segment_c=sum(segment_b)").get()])
    /// The pipeline DAG of a cycle (to be refused), and the materialization DAG (a diamond).
    public static let loopDAG = ["extract>transform", "transform>load", "load>extract"]
    public static func materializationDAG(withRing: Bool) -> [String] {
        ["validate>materialize.user_demographics", "validate>materialize.user_behavior",
         "materialize.user_demographics>freshness", "materialize.user_behavior>freshness"] + (withRing ? ["validate>materialize.user_segments", "materialize.user_segments>freshness"] : [])
    }

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "window_ms": windowMillis = Int(try reader.integer(value, path, in: 100 ... 600_000))
            case "windows": windows = Int(try reader.integer(value, path, in: 2 ... 10_000))
            case "rows_per_window": rowsPerWindow = Int(try reader.integer(value, path, in: 4 ... 5_000))
            case "reference_windows": referenceWindows = Int(try reader.integer(value, path, in: 1 ... 1_000))
            case "shift_at_window": shiftAtWindow = Int(try reader.integer(value, path, in: 0 ... 100_000))
            case "users": users = Int(try reader.integer(value, path, in: 1 ... 10_000_000))
            case "remote_share_percent": remoteSharePercent = Int(try reader.integer(value, path, in: 0 ... 100))
            default: shiftTenthsOfSD = Int(try reader.integer(value, path, in: 0 ... 100))
            }
        }
        guard referenceWindows < windows else {
            throw reader.fail(node, field, "reference_windows (\(referenceWindows)) must be fewer than windows (\(windows)): the windows after them are checked")
        }
        if shiftAtWindow < referenceWindows {
            throw reader.fail(node, field, "shift_at_window (\(shiftAtWindow)) falls inside the reference windows (the first \(referenceWindows)): the reference must be unshifted")
        }
    }

    /// Whether window `k` is drawn from the shifted cohort.
    public func isShifted(_ window: Int) -> Bool { window >= shiftAtWindow && shiftTenthsOfSD > 0 }

    /// One row of each view for a user, drawn from `random`: demographics from one latent cause z
    /// (each feature 0.8 z + 0.6 noise: correlation 0.64 between any two), behaviour independent.
    static func draw(_ random: inout SimRandom, shift: Double) -> (demographics: [String], behavior: [String]) {
        let z = random.normal() + shift
        func part() -> Double { 0.8 * z + 0.6 * random.normal() }
        let age = (40 + 10 * part()).rounded(), income = (60_000 + 15_000 * part()).rounded()
        let accountAge = Swift.max(0, (36 + 12 * part()).rounded()), transactions = Swift.max(0, (50 + 15 * part()).rounded())
        let logins = ((5 + 1.5 * part()) * 100).rounded() / 100
        let session = ((300 + 90 * random.normal()) * 10).rounded() / 10
        // Five categories, none rare (at least ~7 % each), so the reference sees them all.
        let pageViews = Swift.min(5, Swift.max(1, Int((3 + random.normal()).rounded())))
        let clickRate = (random.unitDouble() * 1000).rounded() / 1000
        return (["\(Swift.max(18, age))", "\(income)", "\(accountAge)", "\(transactions)", "\(logins)"], ["\(session)", "\(pageViews)", "\(clickRate)"])
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        FeatureDriftClient(workload: self, simulation: platform.simulation, gateway: gateway).install(on: client)
    }
}

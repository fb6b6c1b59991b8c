extension WebhooksService {
    /// Every stored endpoint is an https URL that is not private or loopback (SSRF), with a secret.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("users_db", "endpoints"), let rows = view.rows("users_db", "SELECT id, url, secret FROM endpoints ORDER BY id") else { return [] }
        return rows.compactMap { row in
            let url = row[1].text ?? ""
            if !url.hasPrefix("https://") || isPrivate(url) { return "webhooks: endpoint \(row[0].plain) targets \(url)" }
            return (row[2].text ?? "").isEmpty ? "webhooks: endpoint \(row[0].plain) has no secret" : nil
        }
    }
}

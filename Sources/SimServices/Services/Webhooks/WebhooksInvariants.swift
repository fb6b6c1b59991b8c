extension WebhooksService {
    /// Every stored endpoint is an https URL with a host and a path, whose host is not an internal
    /// address literal or localhost (SSRF; a name is judged where it resolves, at delivery), and has a secret.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard view.hasTable("users_db", "endpoints"), let rows = view.rows("users_db", "SELECT id, url, secret FROM endpoints ORDER BY id") else { return [] }
        return rows.compactMap { row in
            let url = row[1].text ?? ""
            guard let target = WebhookTargets.parse(url) else { return "webhooks: endpoint \(row[0].plain) targets \(url), not an https URL with a host and a path" }
            if let literal = HostAddress.fixed(target.host), literal.isInternal { return "webhooks: endpoint \(row[0].plain) targets the internal address \(literal) (\(url))" }
            return (row[2].text ?? "").isEmpty ? "webhooks: endpoint \(row[0].plain) has no secret" : nil
        }
    }
}

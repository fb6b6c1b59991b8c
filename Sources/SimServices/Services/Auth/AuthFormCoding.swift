/// `auth/verify`'s form coding by hand (see `FormFastDecodable`): every client request the
/// gateway forwards has auth verify its token, so a `VerifyRequest` and an `Identity` cross the
/// wire once per request, and Codable's generic containers for them were a twentieth of a
/// serving run. The fields are those the Codable path reads and writes; a form with any other
/// field, or without one of these, is left to it (which words the refusal).
extension AuthService.VerifyRequest: FormFastDecodable, FormFastEncodable {
    public init?(formFields fields: [String: String]) {
        guard fields.count == 1, let token = fields["token"] else { return nil }
        self.token = token
    }
    public var formFields: [String: String] { ["token": token] }
}

extension AuthService.Identity: FormFastDecodable, FormFastEncodable {
    public init?(formFields fields: [String: String]) {
        guard fields.count == 4, let user = fields["user"], let tenant = fields["tenant"], let role = fields["role"], let jti = fields["jti"] else { return nil }
        self.user = user
        self.tenant = tenant
        self.role = role
        self.jti = jti
    }
    public var formFields: [String: String] { ["user": user, "tenant": tenant, "role": role, "jti": jti] }
}

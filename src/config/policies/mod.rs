//! Typed options of every policy and handler mcpgw knows (SPEC §2.4–2.8, §11, D12).
//!
//! Owns: which `policyType`s and handler exports mcpgw understands, the typed option structs
//! with their defaults, and reading them from the located option nodes. Option problems become
//! findings at the offending value. Cross-policy and cross-route rules live in `validate`.

pub mod api_key;
pub mod audit_log;
pub mod basic;
pub mod capability_filter;
pub mod client_credentials;
pub mod handlers;
pub mod ip_restriction;
pub mod jwt;
pub mod oauth_inbound;
pub mod query_param;
pub mod reader;
pub mod secret_masking;
pub mod token_exchange;

use crate::config::project::PolicyDecl;
use crate::diag::diagnostic::Findings;

pub use jwt::{JwtPolicy, JwtProvider};
pub use oauth_inbound::{OAuthInbound, OAuthProvider};

/// What mcpgw knows about a policy type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    OAuth(OAuthProvider),
    TokenExchange,
    CapabilityFilter,
    SetHeaders,
    SetUpstreamApiKey,
    RemoveHeaders,
    RequestSizeLimit,
    RateLimit,
    /// A member of the JWT family by its own policyType (§16.2, §16.3).
    Jwt(JwtProvider),
    /// The generic `oauth-inbound` policyType: which JWT policy runs depends on `export`.
    JwtGeneric,
    /// `api-key-inbound` against the local consumer store (§16.1, D21).
    ApiKey,
    QueryParamToHeader,
    IpRestriction,
    AuditLog,
    ClientCredentials,
    /// `set-headers-outbound` (§16.10): the options of `set-headers-inbound`, on the response.
    SetHeadersOutbound,
    /// `remove-headers-outbound`: the options of `remove-headers-inbound`, on the response.
    RemoveHeadersOutbound,
    /// `secret-masking-outbound` (§16.9).
    SecretMasking,
    /// A policy type mcpgw does not implement (D11/D13).
    Other,
}

impl PolicyKind {
    pub fn of(policy_type: &str) -> PolicyKind {
        if let Some(p) = OAuthProvider::from_policy_type(policy_type) {
            return PolicyKind::OAuth(p);
        }
        match policy_type {
            "mcp-token-exchange-inbound" => PolicyKind::TokenExchange,
            "mcp-capability-filter-inbound" => PolicyKind::CapabilityFilter,
            "set-headers-inbound" => PolicyKind::SetHeaders,
            "set-upstream-api-key-inbound" => PolicyKind::SetUpstreamApiKey,
            "remove-headers-inbound" => PolicyKind::RemoveHeaders,
            "request-size-limit-inbound" => PolicyKind::RequestSizeLimit,
            "rate-limit-inbound" => PolicyKind::RateLimit,
            "api-key-inbound" => PolicyKind::ApiKey,
            "set-headers-outbound" => PolicyKind::SetHeadersOutbound,
            "remove-headers-outbound" => PolicyKind::RemoveHeadersOutbound,
            "secret-masking-outbound" => PolicyKind::SecretMasking,
            jwt::GENERIC_POLICY_TYPE => PolicyKind::JwtGeneric,
            "query-param-to-header-inbound" => PolicyKind::QueryParamToHeader,
            "ip-address-restriction-inbound" => PolicyKind::IpRestriction,
            "audit-log-inbound" => PolicyKind::AuditLog,
            "upstream-oauth-client-credentials-inbound" => PolicyKind::ClientCredentials,
            t => JwtProvider::from_policy_type(t).map_or(PolicyKind::Other, PolicyKind::Jwt),
        }
    }

    /// The class a built-in policy type exports.
    pub fn export(self) -> Option<&'static str> {
        Some(match self {
            PolicyKind::OAuth(p) => p.export(),
            PolicyKind::TokenExchange => "McpTokenExchangeInboundPolicy",
            PolicyKind::CapabilityFilter => "McpCapabilityFilterInboundPolicy",
            PolicyKind::SetHeaders => "SetHeadersInboundPolicy",
            PolicyKind::SetUpstreamApiKey => "SetUpstreamApiKeyInboundPolicy",
            PolicyKind::RemoveHeaders => "RemoveHeadersInboundPolicy",
            PolicyKind::RequestSizeLimit => "RequestSizeLimitInboundPolicy",
            PolicyKind::RateLimit => "RateLimitInboundPolicy",
            PolicyKind::Jwt(p) => p.export(),
            PolicyKind::ApiKey => "ApiKeyInboundPolicy",
            PolicyKind::QueryParamToHeader => "QueryParamToHeaderInboundPolicy",
            PolicyKind::IpRestriction => "IpAddressRestrictionInboundPolicy",
            PolicyKind::AuditLog => "AuditLogInboundPolicy",
            PolicyKind::ClientCredentials => "UpstreamOAuthClientCredentialsInboundPolicy",
            PolicyKind::SetHeadersOutbound => "SetHeadersOutboundPolicy",
            PolicyKind::RemoveHeadersOutbound => "RemoveHeadersOutboundPolicy",
            PolicyKind::SecretMasking => "SecretMaskingOutboundPolicy",
            PolicyKind::JwtGeneric | PolicyKind::Other => return None,
        })
    }
}

/// Everything a policy's options need to know about the rest of the project.
#[derive(Debug, Clone)]
pub struct PolicyContext {
    /// The plugin's route prefix: `/__zuplo` by default, empty for `basePath: "/"`.
    pub prefix: String,
    /// `--local-idp` (D22, D25 b): mcpgw stands in for the identity providers, so options
    /// only they need may be unset or placeholders.
    pub local_idp: bool,
}

/// A policy's options, typed.
#[derive(Debug, Clone)]
pub enum PolicyConfig {
    OAuth(Box<OAuthInbound>),
    TokenExchange(Box<token_exchange::TokenExchange>),
    CapabilityFilter(Box<capability_filter::CapabilityFilter>),
    SetHeaders(basic::SetHeaders),
    SetUpstreamApiKey(basic::SetUpstreamApiKey),
    RemoveHeaders(basic::RemoveHeaders),
    RequestSizeLimit(basic::RequestSizeLimit),
    RateLimit(basic::RateLimit),
    /// A JWT-family policy (§16.2, §16.3), with its derived issuer, keys and audience.
    Jwt(Box<JwtPolicy>),
    /// `api-key-inbound` (§16.1).
    ApiKey(api_key::ApiKeyPolicy),
    QueryParamToHeader(query_param::QueryParamToHeader),
    IpRestriction(ip_restriction::IpRestriction),
    AuditLog(audit_log::AuditLog),
    ClientCredentials(Box<client_credentials::ClientCredentials>),
    /// `set-headers-outbound` (§16.10).
    SetHeadersOutbound(basic::SetHeaders),
    /// `remove-headers-outbound`.
    RemoveHeadersOutbound(basic::RemoveHeaders),
    /// `secret-masking-outbound` (§16.9).
    SecretMasking(Box<secret_masking::SecretMasking>),
    /// The options did not pass; findings say why.
    Invalid,
    /// Not a policy mcpgw runs.
    Other,
}

/// Reads a policy's options into their typed form, reporting problems.
pub fn parse(decl: &PolicyDecl, ctx: &PolicyContext, findings: &mut Findings) -> PolicyConfig {
    let kind = PolicyKind::of(&decl.policy_type.value);
    let name = &decl.name.value;
    // A handler that is not an object (or an empty one) was reported as MCP106; reading its
    // missing options would only add "required" findings for the same mistake.
    let h = &decl.handler;
    if kind != PolicyKind::Other && h.export.is_none() && h.module.is_none() && h.options.is_none()
    {
        return PolicyConfig::Invalid;
    }
    let empty = crate::config::jsonc::Node {
        span: decl.handler.span,
        value: crate::config::jsonc::Value::Object(Vec::new()),
        env: None,
    };
    let options = decl.handler.options.as_ref().unwrap_or(&empty);
    let parsed = match kind {
        PolicyKind::OAuth(provider) => oauth_inbound::parse(provider, name, options, ctx, findings)
            .map(|o| PolicyConfig::OAuth(Box::new(o))),
        PolicyKind::TokenExchange => token_exchange::parse(name, options, findings)
            .map(|t| PolicyConfig::TokenExchange(Box::new(t))),
        PolicyKind::CapabilityFilter => capability_filter::parse(name, options, findings)
            .map(|c| PolicyConfig::CapabilityFilter(Box::new(c))),
        PolicyKind::SetHeaders => {
            basic::parse_set_headers(name, options, findings).map(PolicyConfig::SetHeaders)
        }
        PolicyKind::SetUpstreamApiKey => basic::parse_set_upstream_api_key(name, options, findings)
            .map(PolicyConfig::SetUpstreamApiKey),
        PolicyKind::RemoveHeaders => {
            basic::parse_remove_headers(name, options, findings).map(PolicyConfig::RemoveHeaders)
        }
        PolicyKind::RequestSizeLimit => basic::parse_request_size_limit(name, options, findings)
            .map(PolicyConfig::RequestSizeLimit),
        PolicyKind::RateLimit => {
            basic::parse_rate_limit(name, options, findings).map(PolicyConfig::RateLimit)
        }
        // the runtime picks the class by `export` (§16.0); the pair itself is rule 109's
        PolicyKind::Jwt(_) | PolicyKind::JwtGeneric => {
            let provider = match (JwtProvider::from_export(h.export()), kind) {
                (Some(p), _) => p,
                (None, PolicyKind::Jwt(p)) => p,
                _ => return PolicyConfig::Other,
            };
            jwt::parse(provider, name, options, ctx, findings)
                .map(|j| PolicyConfig::Jwt(Box::new(j)))
        }
        PolicyKind::ApiKey => api_key::parse(name, options, findings).map(PolicyConfig::ApiKey),
        PolicyKind::QueryParamToHeader => {
            query_param::parse(name, options, findings).map(PolicyConfig::QueryParamToHeader)
        }
        PolicyKind::IpRestriction => {
            ip_restriction::parse(name, options, findings).map(PolicyConfig::IpRestriction)
        }
        PolicyKind::AuditLog => {
            audit_log::parse(name, options, findings).map(PolicyConfig::AuditLog)
        }
        PolicyKind::ClientCredentials => client_credentials::parse(name, options, findings)
            .map(|c| PolicyConfig::ClientCredentials(Box::new(c))),
        PolicyKind::SetHeadersOutbound => {
            basic::parse_set_headers(name, options, findings).map(PolicyConfig::SetHeadersOutbound)
        }
        PolicyKind::RemoveHeadersOutbound => basic::parse_remove_headers(name, options, findings)
            .map(PolicyConfig::RemoveHeadersOutbound),
        PolicyKind::SecretMasking => secret_masking::parse(name, options, findings)
            .map(|m| PolicyConfig::SecretMasking(Box::new(m))),
        PolicyKind::Other => return PolicyConfig::Other,
    };
    parsed.unwrap_or(PolicyConfig::Invalid)
}

/// What the policy option parsers' unit tests share: parse JSON text with one parser.
#[cfg(test)]
pub(crate) mod testing {
    use crate::config::jsonc::{self, Node};
    use crate::diag::diagnostic::{Diagnostic, Findings};
    use crate::diag::source::FileId;

    /// `parse` run on `text` (which must be valid JSON): its result and its findings.
    pub fn parsed<T>(
        text: &str,
        parse: impl FnOnce(&Node, &mut Findings) -> Option<T>,
    ) -> (Option<T>, Vec<Diagnostic>) {
        let node = jsonc::parse(FileId(0), text)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("test options do not parse: {text}"));
        let mut findings = Findings::default();
        let out = parse(&node, &mut findings);
        (out, findings.items)
    }

    /// `(rule code, message)` of each finding.
    pub fn codes(findings: &[Diagnostic]) -> Vec<(String, String)> {
        findings
            .iter()
            .map(|d| (d.rule.code.to_string(), d.message.clone()))
            .collect()
    }

    /// `CODE severity message` of each finding.
    pub fn lines(findings: &[Diagnostic]) -> Vec<String> {
        findings
            .iter()
            .map(|d| format!("{} {} {}", d.rule.code, d.severity.as_str(), d.message))
            .collect()
    }
}

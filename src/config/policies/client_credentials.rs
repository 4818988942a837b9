//! Options of `upstream-oauth-client-credentials-inbound` (SPEC §16.8, rule 98, D21).
//!
//! Owns: the typed options with the documented defaults. The runtime checks them strictly, so
//! unknown keys, wrong types, an empty `tokenUrl` / `clientId` / `clientSecret` and extra
//! parameters that would replace one the grant sets itself are errors (rule 98). The secret is
//! kept as a redacted [`Secret`].

use super::reader::ObjReader;
use crate::config::jsonc::{Node, Value};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsIn {
    /// `client_id` and `client_secret` in the form.
    Body,
    /// HTTP Basic with the URL-encoded `id:secret`.
    Header,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientCredentials {
    pub token_url: url::Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub credentials_in: CredentialsIn,
    /// Sent after the grant's own parameters, in the order written.
    pub additional_parameters: Vec<(String, String)>,
    pub header_name: String,
    pub header_scheme: String,
    /// Further attempts after a failed token request.
    pub token_retries: u32,
    /// Subtracted from the token's lifetime to get how long it is cached.
    pub expiration_offset_seconds: i64,
}

const KNOWN: &[&str] = &[
    "tokenUrl",
    "clientId",
    "clientSecret",
    "scope",
    "audience",
    "credentialsIn",
    "additionalParameters",
    "headerName",
    "headerScheme",
    "tokenRetries",
    "expirationOffsetSeconds",
];

/// Parameters the grant sets itself (§16.8).
pub const RESERVED: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "audience",
];

pub const DEFAULT_TOKEN_RETRIES: u32 = 3;
pub const DEFAULT_EXPIRATION_OFFSET_SECONDS: i64 = 300;

pub fn parse(name: &str, options: &Node, findings: &mut Findings) -> Option<ClientCredentials> {
    let rule = &rules::CLIENT_CREDENTIALS_OPTIONS;
    let mut r = ObjReader::policy(name, options, rule, findings)?;
    r.strict(KNOWN, rule);
    let mut ok = r.members().iter().all(|m| KNOWN.contains(&m.key.as_str()));
    let token_url = r.req_nonempty("tokenUrl");
    let token_url = match token_url {
        Some(u) => match super::reader::parse_url(u.value.trim()) {
            Some(url) if matches!(url.scheme(), "http" | "https") => Some(url),
            _ => {
                r.err(
                    rule,
                    u.span,
                    format!(
                        "{}: `tokenUrl` {:?} is not an absolute http(s) URL",
                        r.ctx, u.value
                    ),
                );
                None
            }
        },
        None => None,
    };
    let client_id = r.req_nonempty("clientId");
    let client_secret = r.req_nonempty("clientSecret");
    let scope = r.opt_str("scope").map(|s| s.value);
    let audience = r.opt_str("audience").map(|s| s.value);
    let credentials_in = match r.get("credentialsIn") {
        None => Some(CredentialsIn::Body),
        Some(_) => r
            .opt_enum_with("credentialsIn", &["body", "header"], rule)
            .map(|s| {
                if s.value == "header" {
                    CredentialsIn::Header
                } else {
                    CredentialsIn::Body
                }
            }),
    };
    let additional_parameters = additional(&mut r, &mut ok);
    let header_name = match r.get("headerName") {
        None => Some("Authorization".to_string()),
        Some(_) => match r.opt_nonempty("headerName") {
            Some(h) if super::basic::header_name_ok(&h.value) => Some(h.value),
            Some(h) => {
                r.err(
                    rule,
                    h.span,
                    format!("{}: {:?} is not a valid header name", r.ctx, h.value),
                );
                None
            }
            None => None,
        },
    };
    let header_scheme = match r.get("headerScheme") {
        None => Some("Bearer".to_string()),
        Some(_) => r.opt_str("headerScheme").map(|s| s.value),
    };
    let token_retries = match r.get("tokenRetries") {
        None => Some(DEFAULT_TOKEN_RETRIES),
        Some(node) => match node.as_f64() {
            Some(v) if v.fract() == 0.0 && (0.0..=10.0).contains(&v) => Some(v as u32),
            _ => {
                let shown = shown(node);
                r.err(
                    rule,
                    node.span,
                    format!(
                        "{}: `tokenRetries` must be a whole number from 0 to 10, found {shown}",
                        r.ctx
                    ),
                );
                None
            }
        },
    };
    let expiration_offset_seconds = match r.get("expirationOffsetSeconds") {
        None => Some(DEFAULT_EXPIRATION_OFFSET_SECONDS),
        Some(node) => match node.as_f64() {
            Some(v) if v.is_finite() && v.abs() < 1e12 => Some(v.round() as i64),
            _ => {
                let shown = shown(node);
                r.err(
                    rule,
                    node.span,
                    format!(
                        "{}: `expirationOffsetSeconds` must be a number of seconds, found {shown}",
                        r.ctx
                    ),
                );
                None
            }
        },
    };
    if !ok {
        return None;
    }
    Some(ClientCredentials {
        token_url: token_url?,
        client_id: client_id?.value,
        client_secret: Secret::new(client_secret?.value),
        scope,
        audience,
        credentials_in: credentials_in?,
        additional_parameters: additional_parameters?,
        header_name: header_name?,
        header_scheme: header_scheme?,
        token_retries: token_retries?,
        expiration_offset_seconds: expiration_offset_seconds?,
    })
}

fn shown(node: &Node) -> String {
    match &node.value {
        Value::Number(n) => n.raw.clone(),
        Value::String(s) => format!("{s:?}"),
        _ => node.kind_name().to_string(),
    }
}

/// `additionalParameters`: a string map whose keys may not be reserved ones.
fn additional(r: &mut ObjReader<'_, '_>, ok: &mut bool) -> Option<Vec<(String, String)>> {
    let rule = &rules::CLIENT_CREDENTIALS_OPTIONS;
    if !r.has("additionalParameters") {
        return Some(Vec::new());
    }
    let Some(child) = r.child("additionalParameters", rule) else {
        *ok = false;
        return None;
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for m in child.members() {
        if RESERVED.contains(&m.key.as_str()) {
            problems.push((
                m.key_span,
                format!(
                    "{}.additionalParameters: `{}` would override a parameter the grant sets itself ({})",
                    r.ctx,
                    m.key,
                    RESERVED.join(", ")
                ),
            ));
            continue;
        }
        match &m.node.value {
            Value::String(s) => out.push((m.key.clone(), s.clone())),
            Value::Unset => {} // undefined: not sent
            _ => problems.push((
                m.node.span,
                format!(
                    "{}.additionalParameters: `{}` must be a string, found {}",
                    r.ctx,
                    m.key,
                    m.node.kind_name()
                ),
            )),
        }
    }
    if problems.is_empty() {
        return Some(out);
    }
    for (span, message) in problems {
        r.err(rule, span, message);
    }
    *ok = false;
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policies::testing;

    fn run(text: &str) -> (Option<ClientCredentials>, Vec<(String, String)>) {
        let (out, findings) = testing::parsed(text, |n, f| parse("cc", n, f));
        (out, testing::codes(&findings))
    }

    const BASE: &str =
        r#""tokenUrl":"https://as.test/token","clientId":"id","clientSecret":"s3cret""#;

    #[test]
    fn defaults_and_secret_redaction() {
        let (c, f) = run(&format!("{{{BASE}}}"));
        assert!(f.is_empty(), "{f:?}");
        let c = c.unwrap();
        assert_eq!(c.credentials_in, CredentialsIn::Body);
        assert_eq!(c.header_name, "Authorization");
        assert_eq!(c.header_scheme, "Bearer");
        assert_eq!(c.token_retries, 3);
        assert_eq!(c.expiration_offset_seconds, 300);
        assert_eq!(c.client_secret.expose(), "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn reads_every_option() {
        let (c, f) = run(&format!(
            r#"{{{BASE},"scope":"a b","audience":"api","credentialsIn":"header","additionalParameters":{{"resource":"r"}},"headerName":"x-token","headerScheme":"Token","tokenRetries":0,"expirationOffsetSeconds":-5}}"#
        ));
        assert!(f.is_empty(), "{f:?}");
        let c = c.unwrap();
        assert_eq!(c.credentials_in, CredentialsIn::Header);
        assert_eq!(c.additional_parameters, [("resource".into(), "r".into())]);
        assert_eq!((c.token_retries, c.expiration_offset_seconds), (0, -5));
        assert_eq!(c.scope.as_deref(), Some("a b"));
    }

    #[test]
    fn rule_98() {
        let (c, f) = run(r#"{"tokenUrl":"","clientId":"id","clientSecret":"s","cache":true}"#);
        assert!(c.is_none());
        assert!(f.iter().all(|(code, _)| code == "MCP098"), "{f:?}");
        assert!(f.iter().any(|(_, m)| m.contains("unknown option `cache`")));
        assert!(
            f.iter()
                .any(|(_, m)| m.contains("`tokenUrl` must not be empty"))
        );
        let (c, f) = run(&format!(
            r#"{{{BASE},"additionalParameters":{{"scope":"x","grant_type":"y","ok":"z"}}}}"#
        ));
        assert!(c.is_none());
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].1.contains("`scope` would override"));
        let (c, f) = run(r#"{"tokenUrl":"https://as.test/token","clientId":"id"}"#);
        assert!(c.is_none() && f[0].1.contains("`clientSecret` is required"));
        let (c, _) = run(&format!(r#"{{{BASE},"credentialsIn":"query"}}"#));
        assert!(c.is_none());
    }
}

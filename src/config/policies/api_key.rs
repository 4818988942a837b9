//! `api-key-inbound` options (`ApiKeyInboundPolicy`, SPEC §16.1, D21).
//!
//! Owns: the typed options with 7.6.4's defaults and rule 89 (`cacheTtlSeconds` below 60 is a
//! configuration error, as the runtime raises it). `bucketId` / `bucketName` are accepted and
//! unused: mcpgw checks keys against the local consumer store, not Zuplo's key service.
//! Unknown keys are warnings (§16.0).

use super::reader::ObjReader;
use crate::config::jsonc::{Node, Value};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;

/// Zuplo refuses a shorter key cache (rule 89).
pub const MIN_CACHE_TTL_SECONDS: u64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyPolicy {
    /// The header that holds the key, lower-cased as 7.6.4 does (`authorization`).
    pub auth_header: String,
    /// `Bearer` by default; empty: the header value is the bare key.
    pub auth_scheme: String,
    /// Read and checked (rule 89); mcpgw reads the local store on every request instead of
    /// caching answers, so a revoked key stops working at once.
    pub cache_ttl_seconds: u64,
    pub allow_unauthenticated: bool,
}

const OPTIONS: &[&str] = &[
    "authHeader",
    "authScheme",
    "bucketId",
    "bucketName",
    "cacheTtlSeconds",
    "allowUnauthenticatedRequests",
    "disableAutomaticallyAddingKeyHeaderToOpenApi",
];

pub fn parse(name: &str, options: &Node, findings: &mut Findings) -> Option<ApiKeyPolicy> {
    let mut r = ObjReader::policy(name, options, &rules::POLICY_OPTIONS, findings)?;
    r.lenient(OPTIONS);
    let auth_header = match r.opt_nonempty("authHeader") {
        Some(h) => h.value.to_ascii_lowercase(),
        None if r.has("authHeader") => return None,
        None => "authorization".to_string(),
    };
    let auth_scheme = match r.opt_str("authScheme") {
        Some(s) => s.value,
        None if r.has("authScheme") => return None,
        None => "Bearer".to_string(),
    };
    // bucket options are read only for their type: nothing uses them locally
    let _ = r.opt_str("bucketId");
    let _ = r.opt_str("bucketName");
    let _ = r.opt_bool("disableAutomaticallyAddingKeyHeaderToOpenApi");
    let allow_unauthenticated = r
        .opt_bool("allowUnauthenticatedRequests")
        .is_some_and(|b| b.value);
    let cache_ttl_seconds = cache_ttl(&mut r)?;
    Some(ApiKeyPolicy {
        auth_header,
        auth_scheme,
        cache_ttl_seconds,
        allow_unauthenticated,
    })
}

/// `cacheTtlSeconds`: a number of at least 60 (rule 89), default 60.
fn cache_ttl(r: &mut ObjReader<'_, '_>) -> Option<u64> {
    let Some(node) = r.get("cacheTtlSeconds") else {
        return Some(MIN_CACHE_TTL_SECONDS);
    };
    let Value::Number(n) = &node.value else {
        let found = node.kind_name();
        r.err(
            &rules::POLICY_OPTIONS,
            node.span,
            format!(
                "{}: `cacheTtlSeconds` must be a number, found {found}",
                r.ctx
            ),
        );
        return None;
    };
    // NaN cannot come out of JSON; `n.value < 60` is the whole rule
    if n.value.is_nan() || n.value < MIN_CACHE_TTL_SECONDS as f64 {
        r.err(
            &rules::API_KEY_CACHE_TTL,
            node.span,
            format!(
                "{}: `cacheTtlSeconds` is {}, below the minimum of {MIN_CACHE_TTL_SECONDS}; Zuplo answers every request of the route with a 500 configuration error",
                r.ctx, n.raw
            ),
        );
        return None;
    }
    Some(n.value.min(u64::MAX as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jsonc;
    use crate::diag::source::FileId;

    fn read(text: &str) -> (Option<ApiKeyPolicy>, Vec<(String, String)>) {
        let node = jsonc::parse(FileId(0), text).unwrap().unwrap();
        let mut findings = Findings::default();
        let parsed = parse("api-key", &node, &mut findings);
        let found = findings
            .items
            .into_iter()
            .map(|d| (d.rule.code.to_string(), d.message))
            .collect();
        (parsed, found)
    }

    #[test]
    fn defaults_are_7_6_4s() {
        let (p, f) = read("{}");
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(
            p.unwrap(),
            ApiKeyPolicy {
                auth_header: "authorization".into(),
                auth_scheme: "Bearer".into(),
                cache_ttl_seconds: 60,
                allow_unauthenticated: false,
            }
        );
    }

    #[test]
    fn custom_header_bare_scheme_and_accepted_bucket_options() {
        let (p, f) = read(
            r#"{"authHeader": "X-Api-Key", "authScheme": "", "bucketId": "b", "bucketName": "n",
                "cacheTtlSeconds": 300, "allowUnauthenticatedRequests": true,
                "disableAutomaticallyAddingKeyHeaderToOpenApi": true}"#,
        );
        assert!(f.is_empty(), "{f:?}");
        let p = p.unwrap();
        assert_eq!(p.auth_header, "x-api-key");
        assert_eq!(p.auth_scheme, "");
        assert_eq!(p.cache_ttl_seconds, 300);
        assert!(p.allow_unauthenticated);
    }

    #[test]
    fn rule_89_and_other_findings() {
        let (p, f) = read(r#"{"cacheTtlSeconds": 30}"#);
        assert!(p.is_none());
        assert_eq!(f[0].0, "MCP089");
        assert!(f[0].1.contains("below the minimum of 60"), "{f:?}");
        let (_, f) = read(r#"{"cacheTtlSeconds": "90"}"#);
        assert_eq!(f[0].0, "MCP110");
        let (p, f) = read(r#"{"headerName": "x", "authScheme": 3}"#);
        assert!(p.is_none());
        let codes: Vec<&str> = f.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(codes, ["MCP110", "MCP110"], "{f:?}");
        assert!(f[0].1.contains("unknown option `headerName` is ignored"));
    }
}

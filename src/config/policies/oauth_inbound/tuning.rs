//! Browser-login tuning and `gateway` options (rules 61, 62).
//!
//! Owns: pkce and the three timings of `browserLogin` (generic) and `browserLoginOverrides`
//! (wrappers), the `gateway` object, and the one difference between the two families: the
//! generic policy coerces numeric strings, the wrappers want real JSON numbers.

use super::idp::Idp;
use super::{GatewayOptions, Pkce, shown};
use crate::config::jsonc::Node;
use crate::config::policies::reader::ObjReader;
use crate::diag::diagnostic::Findings;
use crate::diag::rules::{self, Rule};

/// Browser-login tuning shared by `browserLogin` and `browserLoginOverrides` (rule 61).
pub(super) struct Tuning {
    pub pkce: Pkce,
    pub remote_timeout_ms: u64,
    pub state_ttl_seconds: u64,
    pub session_ttl_seconds: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            pkce: Pkce::None,
            remote_timeout_ms: 10_000,
            state_ttl_seconds: 900,
            session_ttl_seconds: 28_800,
        }
    }
}

/// Reads pkce and the three timings from `r`; numeric strings only with `coerce` (generic).
pub(super) fn read_tuning(r: &mut ObjReader<'_, '_>, coerce: bool, with_pkce: bool) -> Tuning {
    let rule = &rules::OAUTH_BROWSER_LOGIN_OPTIONS;
    let mut t = Tuning::default();
    if with_pkce && let Some(p) = r.opt_enum_with("pkce", &["S256", "none"], rule) {
        t.pkce = if p.value == "S256" {
            Pkce::S256
        } else {
            Pkce::None
        };
    }
    if let Some(v) = pos_int(r, "remoteTimeoutMs", rule, coerce) {
        t.remote_timeout_ms = v;
    }
    if let Some(v) = pos_int(r, "stateTtlSeconds", rule, coerce) {
        t.state_ttl_seconds = v;
    }
    if let Some(v) = pos_int(r, "sessionTtlSeconds", rule, coerce) {
        t.session_ttl_seconds = v;
    }
    t
}

/// A positive integer. Without `coerce` (the wrappers) a string is refused with a message that
/// says why, since it usually is a `$env(...)` (rule 61).
fn pos_int(r: &mut ObjReader<'_, '_>, key: &str, rule: &'static Rule, coerce: bool) -> Option<u64> {
    if !coerce
        && let Some(node) = r.get(key)
        && let Some(s) = node.as_str()
    {
        let msg = format!(
            "{}: `{key}` must be a JSON number, found the string {}; the IdP wrapper policies do not convert strings to numbers, so write the number itself",
            r.ctx,
            shown(Some(node), s)
        );
        r.err(rule, node.span, msg);
        return None;
    }
    r.opt_pos_int_with(key, rule, coerce).map(|v| v.value)
}

/// `gateway` (rule 62): strict, positive integers and a boolean.
pub(super) fn parse_gateway(
    name: &str,
    node: &Node,
    coerce: bool,
    findings: &mut Findings,
) -> GatewayOptions {
    let rule = &rules::OAUTH_GATEWAY_OPTIONS;
    let mut g = GatewayOptions::default();
    let Some(mut r) = ObjReader::new(node, format!("policy `{name}`: gateway"), rule, findings)
    else {
        return g;
    };
    r.strict(
        &[
            "accessTokenTtlSeconds",
            "refreshTokenTtlSeconds",
            "cimdEnabled",
        ],
        rule,
    );
    if let Some(v) = pos_int(&mut r, "accessTokenTtlSeconds", rule, coerce) {
        g.access_token_ttl_seconds = v;
    }
    if let Some(v) = pos_int(&mut r, "refreshTokenTtlSeconds", rule, coerce) {
        g.refresh_token_ttl_seconds = v;
    }
    if let Some(v) = r.opt_bool_with("cimdEnabled", rule) {
        g.cimd_enabled = v.value;
    }
    g
}

/// `browserLoginOverrides` of a wrapper: real JSON numbers only; no `pkce` for Clerk and OneLogin.
pub(super) fn parse_overrides(
    idp: &Idp,
    name: &str,
    node: &Node,
    findings: &mut Findings,
) -> Tuning {
    let Some(mut o) = ObjReader::new(
        node,
        format!("policy `{name}`: browserLoginOverrides"),
        &rules::OAUTH_BROWSER_LOGIN_OPTIONS,
        findings,
    ) else {
        return Tuning::default();
    };
    o.strict(
        &[
            "remoteTimeoutMs",
            "stateTtlSeconds",
            "sessionTtlSeconds",
            "pkce",
        ],
        &rules::WRAPPER_OPTIONS,
    );
    if !idp.pkce
        && let Some(m) = node.member("pkce")
    {
        o.err(
            idp.rule,
            m.key_span,
            format!(
                "policy `{name}`: browserLoginOverrides.pkce is not an option of {}",
                idp.provider.policy_type()
            ),
        );
    }
    read_tuning(&mut o, false, idp.pkce)
}

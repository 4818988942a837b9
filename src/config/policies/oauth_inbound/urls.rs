//! URL-valued options and the outbound-URL policy for federated IdPs (rule 64).
//!
//! Owns: reading an optional or required URL option, how a URL is quoted in a message (password
//! hidden), and why an IdP URL is unsafe for the gateway's own calls.

use super::shown;
use crate::config::policies::reader::{ObjReader, parse_url};
use crate::diag::diagnostic::Findings;
use crate::diag::rules::{self, Rule};
use crate::diag::source::{Span, Spanned};
use crate::net::addr::is_private_host;

/// A URL for a message, with any password hidden.
pub(super) fn shown_url(url: &url::Url) -> String {
    if url.password().is_some() {
        let mut u = url.clone();
        let _ = u.set_password(Some("***"));
        format!("{:?}", u.as_str())
    } else {
        format!("{:?}", url.as_str())
    }
}

/// An optional URL string: a finding under `rule` when it does not parse.
pub(super) fn opt_url(
    r: &mut ObjReader<'_, '_>,
    key: &str,
    rule: &'static Rule,
) -> Option<(Spanned<String>, url::Url)> {
    let s = r.opt_nonempty_with(key, rule)?;
    match parse_url(&s.value) {
        Some(u) => Some((s, u)),
        None => {
            let msg = format!(
                "{}.{key} {} is not a valid URL",
                r.ctx,
                shown(r.get(key), &s.value)
            );
            r.err(rule, s.span, msg);
            None
        }
    }
}

/// A required URL string.
pub(super) fn req_url(
    r: &mut ObjReader<'_, '_>,
    key: &str,
    rule: &'static Rule,
) -> Option<(Spanned<String>, url::Url)> {
    if !r.has(key) {
        r.missing(key, rule);
        return None;
    }
    opt_url(r, key, rule)
}

/// Rule 64: why a federated IdP URL is unsafe for the gateway's outbound calls, if it is.
fn idp_url_problems(url: &url::Url) -> Vec<String> {
    let mut out = Vec::new();
    if url.scheme() != "https" {
        out.push(format!("uses {}: instead of https:", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        out.push("carries credentials".to_string());
    }
    if url.query().is_some() {
        out.push("has a query".to_string());
    }
    if url.fragment().is_some() {
        out.push("has a fragment".to_string());
    }
    if let Some(host) = url.host_str()
        && is_private_host(host)
    {
        out.push(format!(
            "points at {host}, a private, loopback or metadata host"
        ));
    }
    out
}

pub(super) fn check_idp_url(
    name: &str,
    what: &str,
    url: &url::Url,
    span: Span,
    findings: &mut Findings,
) {
    let problems = idp_url_problems(url);
    if problems.is_empty() {
        return;
    }
    findings.push(
        &rules::OAUTH_IDP_URL_INSECURE,
        span,
        format!(
            "policy `{name}`: {what} {} {}; federated IdP URLs must be public https URLs without query, fragment or credentials",
            shown_url(url),
            problems.join(", ")
        ),
    );
}

//! Dev-login detection (rule 60).
//!
//! Owns: whether `browserLogin.url` is the loopback dev-login URL for the plugin prefix, and the
//! warnings for look-alikes and for `localhost`.

use super::urls::shown_url;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::Span;
use crate::net::addr::is_loopback_host;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LoginKind {
    DevLogin,
    /// Looks like dev-login but is not (warned): federated, without the rule 64 pile-up.
    LookAlike,
    Federated,
}

/// Rule 60: whether `url` is the loopback dev-login URL for this plugin prefix, with warnings
/// for look-alikes and for `localhost`.
pub(super) fn detect_dev_login(
    name: &str,
    url: &url::Url,
    span: Span,
    prefix: &str,
    findings: &mut Findings,
) -> LoginKind {
    let host = url.host_str().unwrap_or("");
    if !is_loopback_host(host) {
        return LoginKind::Federated;
    }
    let expected = format!("{prefix}/oauth/dev-login");
    if url.scheme() == "http" && url.path() == expected {
        if host.eq_ignore_ascii_case("localhost") {
            findings.push(
                &rules::OAUTH_DEV_LOGIN_URL,
                span,
                format!(
                    "policy `{name}`: browserLogin.url {} uses localhost; use 127.0.0.1 so that issuer, resource and callback URLs all use the same origin",
                    shown_url(url)
                ),
            );
        }
        return LoginKind::DevLogin;
    }
    if url.path().ends_with("/oauth/dev-login") {
        let why = if url.path() != expected {
            format!(
                "its path is not {expected} (the McpGatewayPlugin basePath is {})",
                if prefix.is_empty() {
                    "\"/\"".to_string()
                } else {
                    format!("{prefix:?}")
                }
            )
        } else {
            "dev-login is served over plain http".to_string()
        };
        findings.push(
            &rules::OAUTH_DEV_LOGIN_URL,
            span,
            format!(
                "policy `{name}`: browserLogin.url {} looks like the dev-login URL but {why}, so it is treated as a federated IdP URL",
                shown_url(url)
            ),
        );
        return LoginKind::LookAlike;
    }
    LoginKind::Federated
}

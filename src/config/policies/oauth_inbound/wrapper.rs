//! What every IdP wrapper shares (rules 61–64, 77).
//!
//! Owns: the strict common options (`clientId`, `clientSecret`, `scope`, `gateway`, `idJag`,
//! `browserLoginOverrides`), running the IdP's descriptor (`idp`, `providers`) on the rest, the
//! generic-schema check of the derived URLs (rule 77) and the rule 64 check of a user-hosted
//! token URL.

use super::id_jag::parse_id_jag;
use super::idp::Idp;
use super::tuning::{parse_gateway, parse_overrides};
use super::urls::check_idp_url;
use super::{DEFAULT_SCOPE, OAuthInbound};
use crate::config::jsonc::Node;
use crate::config::policies::reader::{ObjReader, parse_url};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::secret::Secret;

/// An IdP wrapper: the common options here, its own by its descriptor (rules 61–77).
pub(super) fn parse(
    idp: &Idp,
    name: &str,
    options: &Node,
    findings: &mut Findings,
) -> Option<OAuthInbound> {
    let wr = &rules::WRAPPER_OPTIONS;
    let mut r = ObjReader::new(options, format!("policy `{name}`"), wr, findings)?;
    let mut allowed = vec![
        "clientId",
        "clientSecret",
        "scope",
        "gateway",
        "idJag",
        "browserLoginOverrides",
    ];
    allowed.extend(idp.keys());
    r.strict(&allowed, wr);
    let client_id = r.req_nonempty_with("clientId", wr);
    let client_secret = r.req_nonempty_with("clientSecret", wr);
    let scope = r.opt_nonempty_with("scope", &rules::OAUTH_BROWSER_LOGIN_OPTIONS);
    let derived = idp.derive(&mut r, client_id.as_ref());
    let overrides_node = r.get("browserLoginOverrides");
    let gateway_node = r.get("gateway");
    let id_jag_node = r.get("idJag");
    let findings = r.findings;

    let tuning = overrides_node
        .map(|n| parse_overrides(idp, name, n, findings))
        .unwrap_or_default();
    let gateway = gateway_node
        .map(|n| parse_gateway(name, n, false, findings))
        .unwrap_or_default();
    let id_jag = id_jag_node
        .map(|n| parse_id_jag(name, n, findings))
        .unwrap_or_default();

    let d = derived?;
    // rule 77: the derived configuration goes through the generic schema
    for (what, url) in [
        ("issuer", &d.issuer),
        ("JWKS URL", &d.jwks_url),
        ("authorize URL", &d.authorize_url),
        ("token URL", &d.token_url),
    ] {
        if parse_url(url).is_none() {
            findings.push(
                wr,
                d.span,
                format!("policy `{name}`: the derived {what} {url:?} is not a valid URL"),
            );
        }
    }
    // rule 64: the gateway calls the token URL itself
    if d.user_host
        && let Some(u) = parse_url(&d.token_url)
    {
        check_idp_url(name, "derived token URL", &u, d.span, findings);
    }
    Some(OAuthInbound {
        provider: idp.provider,
        issuer: d.issuer,
        jwks_url: d.jwks_url,
        authorize_url: d.authorize_url,
        token_url: Some(d.token_url),
        client_id: client_id.map(|c| c.value.trim().to_string()),
        client_secret: client_secret.map(|c| Secret::new(c.value.trim())),
        scope: scope.map_or_else(|| DEFAULT_SCOPE.to_string(), |s| s.value),
        audience: d.audience,
        pkce: tuning.pkce,
        remote_timeout_ms: tuning.remote_timeout_ms,
        state_ttl_seconds: tuning.state_ttl_seconds,
        session_ttl_seconds: tuning.session_ttl_seconds,
        gateway,
        id_jag,
        dev_login: false,
        span: options.span,
    })
}

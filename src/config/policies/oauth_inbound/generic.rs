//! The generic `mcp-oauth-inbound` policy (rules 56–65).
//!
//! Owns: the strict `oidc` / `browserLogin` / `gateway` / `idJag` options, the federated fields
//! that only dev-login may leave out (rule 59), and the rule 64 checks of the URLs as given.

use super::dev_login::{LoginKind, detect_dev_login};
use super::id_jag::parse_id_jag;
use super::tuning::{parse_gateway, read_tuning};
use super::urls::{check_idp_url, opt_url, req_url};
use super::{DEFAULT_SCOPE, OAuthInbound, OAuthProvider};
use crate::config::jsonc::Node;
use crate::config::policies::PolicyContext;
use crate::config::policies::reader::ObjReader;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::Spanned;
use crate::secret::Secret;

/// The generic `mcp-oauth-inbound` (rules 56–65).
pub(super) fn parse(
    name: &str,
    options: &Node,
    ctx: &PolicyContext,
    findings: &mut Findings,
) -> Option<OAuthInbound> {
    let shape = &rules::OAUTH_OPTIONS_SHAPE;
    let mut r = ObjReader::new(options, format!("policy `{name}`"), shape, findings)?;
    r.strict(&["oidc", "browserLogin", "gateway", "idJag"], shape);
    for key in ["oidc", "browserLogin"] {
        if !r.has(key) {
            r.missing(key, shape);
        }
    }
    let oidc_node = r.get("oidc");
    let login_node = r.get("browserLogin");
    let gateway_node = r.get("gateway");
    let id_jag_node = r.get("idJag");
    let findings = r.findings;

    // rules 57, 65
    let mut issuer = None;
    let mut jwks = None;
    if let Some(node) = oidc_node {
        let rule = &rules::OAUTH_OIDC;
        if let Some(mut o) = ObjReader::new(node, format!("policy `{name}`: oidc"), rule, findings)
        {
            o.strict(&["issuer", "jwksUrl", "audience"], rule);
            issuer = req_url(&mut o, "issuer", rule);
            jwks = req_url(&mut o, "jwksUrl", rule);
            if let Some(a) = o.opt_nonempty_with("audience", rule) {
                o.err(
                    &rules::OAUTH_AUDIENCE_UNUSED,
                    a.span,
                    format!(
                        "policy `{name}`: oidc.audience {:?} is not used: ID tokens are checked against browserLogin.clientId",
                        a.value
                    ),
                );
            }
        }
    }

    // rules 58–61, 64
    let mut login = None;
    if let Some(node) = login_node
        && let Some(mut b) = ObjReader::new(
            node,
            format!("policy `{name}`: browserLogin"),
            &rules::OAUTH_BROWSER_LOGIN_OPTIONS,
            findings,
        )
    {
        b.strict(
            &[
                "url",
                "tokenUrl",
                "clientId",
                "clientSecret",
                "scope",
                "audience",
                "pkce",
                "remoteTimeoutMs",
                "stateTtlSeconds",
                "sessionTtlSeconds",
            ],
            &rules::OAUTH_BROWSER_LOGIN_OPTIONS,
        );
        let url = req_url(&mut b, "url", &rules::OAUTH_BROWSER_LOGIN_URL);
        let kind = url
            .as_ref()
            .map(|(s, u)| detect_dev_login(name, u, s.span, &ctx.prefix, &mut *b.findings));
        let dev_login = kind == Some(LoginKind::DevLogin);
        let fed = &rules::OAUTH_FEDERATED_FIELDS;
        let token_url = opt_url(&mut b, "tokenUrl", fed);
        let client_id = b.opt_str_with("clientId", fed);
        let client_secret = b.opt_str_with("clientSecret", fed);
        // an unparseable browserLogin.url says nothing about the mode: do not pile on
        if !dev_login && url.is_some() {
            for key in ["tokenUrl", "clientId", "clientSecret"] {
                // wrong types and an empty tokenUrl were reported above
                let missing = match b.get(key) {
                    None => true,
                    Some(n) => key != "tokenUrl" && n.as_str().is_some_and(|s| s.trim().is_empty()),
                };
                if missing {
                    let span = b.value_span(key);
                    let note = b.unset_note(key);
                    b.err(
                        fed,
                        span,
                        format!("policy `{name}`: browserLogin.{key} is required for federated browser login{note}"),
                    );
                }
            }
            // after a rule 60 look-alike warning, "it is http and loopback" says nothing new
            let (url_checked, token_checked, oidc_checked) = if kind == Some(LoginKind::LookAlike) {
                (None, None, [None, None])
            } else {
                (
                    url.as_ref(),
                    token_url.as_ref(),
                    [issuer.as_ref(), jwks.as_ref()],
                )
            };
            if let Some((s, u)) = url_checked {
                check_idp_url(name, "browserLogin.url", u, s.span, &mut *b.findings);
            }
            if let Some((s, u)) = token_checked {
                check_idp_url(name, "browserLogin.tokenUrl", u, s.span, &mut *b.findings);
            }
            for (what, v) in ["oidc.issuer", "oidc.jwksUrl"]
                .into_iter()
                .zip(oidc_checked)
            {
                if let Some((s, u)) = v {
                    check_idp_url(name, what, u, s.span, &mut *b.findings);
                }
            }
        }
        let rule = &rules::OAUTH_BROWSER_LOGIN_OPTIONS;
        let scope = b.opt_nonempty_with("scope", rule);
        let audience = b.opt_nonempty_with("audience", rule);
        let tuning = read_tuning(&mut b, true, true);
        login = Some((
            url,
            dev_login,
            token_url,
            client_id,
            client_secret,
            scope,
            audience,
            tuning,
        ));
    }

    let gateway = gateway_node
        .map(|n| parse_gateway(name, n, true, findings))
        .unwrap_or_default();
    let id_jag = id_jag_node
        .map(|n| parse_id_jag(name, n, findings))
        .unwrap_or_default();

    let (url, dev_login, token_url, client_id, client_secret, scope, audience, tuning) = login?;
    let trimmed = |s: Option<Spanned<String>>| {
        s.map(|s| s.value.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Some(OAuthInbound {
        provider: OAuthProvider::Generic,
        issuer: issuer?.0.value,
        jwks_url: jwks?.0.value,
        authorize_url: url?.0.value,
        token_url: token_url.map(|t| t.0.value),
        client_id: trimmed(client_id),
        client_secret: trimmed(client_secret).map(Secret::new),
        scope: scope.map_or_else(|| DEFAULT_SCOPE.to_string(), |s| s.value),
        audience: audience.map(|a| a.value),
        pkce: tuning.pkce,
        remote_timeout_ms: tuning.remote_timeout_ms,
        state_ttl_seconds: tuning.state_ttl_seconds,
        session_ttl_seconds: tuning.session_ttl_seconds,
        gateway,
        id_jag,
        dev_login,
        span: options.span,
    })
}

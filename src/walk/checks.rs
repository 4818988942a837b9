//! `--check`: after a successful walk, try what a careful authorization server and resource
//! server must refuse, and report each one. A check passes when the protection held.

use super::transcript::{Exchange, NegativeCheck, Status, StepKind, StepRecord};
use super::{Browser, Stop, Walk, mcp_json};
use crate::net::outbound::OutboundRequest;
use crate::oauth::discovery::{self, Era};
use crate::oauth::token_request::TokenRequest;
use crate::secret::PkceVerifier;
use serde_json::{Value, json};

/// What a negative check saw.
enum Seen {
    Held(String),
    Broken(String),
    Skipped(String),
}

impl Walk<'_> {
    fn record_check(
        &mut self,
        name: &str,
        expectation: &str,
        exchanges: Vec<Exchange>,
        seen: Seen,
    ) {
        let (status, detail) = match seen {
            Seen::Held(d) => (Status::Passed, d),
            Seen::Broken(d) => (Status::Failed, d),
            Seen::Skipped(d) => (Status::Skipped, d),
        };
        self.negative.push(NegativeCheck {
            name: name.into(),
            expectation: expectation.into(),
            status,
            exchanges,
            detail: Some(detail),
        });
    }

    /// A check that could not run here, and why.
    fn skip_check(&mut self, name: &str, expectation: &str, why: impl Into<String>) {
        self.record_check(name, expectation, vec![], Seen::Skipped(why.into()));
    }

    /// The checks that need a live access token and a registered client.
    pub(super) async fn live_token_checks(&mut self) -> Result<(), Stop> {
        self.check_bad_redirect_at_dcr().await;
        self.check_unknown_client().await;
        self.check_unregistered_redirect().await;
        self.check_wrong_verifier().await?;
        self.check_iss();
        self.check_other_route().await;
        self.check_query_token().await;
        self.check_hostile_origin().await;
        self.check_header_mismatch().await;
        Ok(())
    }

    /// `tools/list` written in the walk's era, to `url`, with the token unless `token` is false.
    fn tools_list_to(&self, url: url::Url, token: bool) -> OutboundRequest {
        let era = self.era();
        let mut req = discovery::mcp_post(
            &url,
            era,
            &discovery::mcp_request(era, 1, "tools/list", Value::Null),
        );
        if token && let Some(t) = &self.access_token {
            req = req.header("authorization", format!("Bearer {}", t.secret()));
        }
        req
    }

    async fn check_bad_redirect_at_dcr(&mut self) {
        const NAME: &str = "DCR refuses a bad redirect URI";
        const EXPECT: &str = "400 invalid_redirect_uri for http://attacker.example/callback (not https, not loopback)";
        let endpoint = self
            .discovered
            .as_ref()
            .and_then(|d| d.metadata.registration_endpoint.clone())
            .and_then(|e| url::Url::parse(&e).ok());
        let Some(endpoint) = endpoint else {
            self.skip_check(NAME, EXPECT, "no registration_endpoint");
            return;
        };
        const BAD: &str = "http://attacker.example/callback";
        // an otherwise complete registration (SEP-837 application_type included), so that
        // only the redirect URI can be the reason for a refusal
        let application_type = url::Url::parse(BAD)
            .map(|u| super::client::application_type(&u))
            .unwrap_or("web");
        let body = json!({
            "client_name": "mcpgw oauth walk --check",
            "redirect_uris": [BAD],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": application_type,
        });
        let (ex, result) = self
            .send_raw(OutboundRequest::post_json(endpoint, &body), None)
            .await;
        let seen = match result {
            Err(e) => Seen::Skipped(e.to_string()),
            Ok(f) if f.status.is_client_error() => Seen::Held(format!(
                "{} {}",
                f.status.as_u16(),
                f.json()
                    .and_then(|j| j.get("error").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default()
            )),
            Ok(f) => Seen::Broken(format!(
                "{}: the AS registered a client with a plain-http, non-loopback redirect URI",
                f.status.as_u16()
            )),
        };
        self.record_check(NAME, EXPECT, vec![ex], seen);
    }

    /// GETs an authorize URL and says whether the AS refused it (an error page, not a redirect).
    async fn refused_at_authorize(&mut self, url: url::Url) -> (Exchange, Seen) {
        let mut req = OutboundRequest::get(url);
        req.headers = vec![("accept".into(), "text/html".into())];
        let (ex, result) = self.send(req, None).await;
        let seen = match result {
            Err(e) => Seen::Skipped(e.to_string()),
            Ok(f) if f.status.is_client_error() => {
                Seen::Held(format!("{} error page, no redirect", f.status.as_u16()))
            }
            Ok(f) if f.status.is_redirection() => {
                let loc = f.header("location").unwrap_or_default().to_string();
                let to_client = self
                    .redirect_uri
                    .as_ref()
                    .is_some_and(|r| loc.starts_with(r.as_str()));
                Seen::Broken(if to_client {
                    format!(
                        "{}: redirected to the redirect URI ({loc})",
                        f.status.as_u16()
                    )
                } else {
                    format!("{}: the AS went on to {loc}", f.status.as_u16())
                })
            }
            Ok(f) => Seen::Broken(format!(
                "{}: the AS did not refuse the request",
                f.status.as_u16()
            )),
        };
        (ex, seen)
    }

    fn authorize_with(&mut self, client_id: &str, redirect: &str) -> Option<url::Url> {
        let saved = self.redirect_uri.clone();
        self.redirect_uri = url::Url::parse(redirect).ok();
        let p = self.new_pkce(Some(client_id));
        self.redirect_uri = saved;
        p.map(|p| p.url)
    }

    async fn check_unknown_client(&mut self) {
        const NAME: &str = "authorize refuses an unknown client";
        const EXPECT: &str = "a 4xx error page, no redirect";
        let redirect = self
            .redirect_uri
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let Some(url) = self.authorize_with("mcpgw-walk-unknown-client", &redirect) else {
            self.skip_check(NAME, EXPECT, "no authorization_endpoint");
            return;
        };
        let (ex, seen) = self.refused_at_authorize(url).await;
        self.record_check(NAME, EXPECT, vec![ex], seen);
    }

    async fn check_unregistered_redirect(&mut self) {
        const NAME: &str = "authorize refuses an unregistered redirect URI";
        const EXPECT: &str = "a 4xx error page, no redirect to the unregistered URI";
        let (Some(client), Some(mut redirect)) =
            (self.client_id.clone(), self.redirect_uri.clone())
        else {
            self.skip_check(NAME, EXPECT, "no client");
            return;
        };
        redirect.set_path("/not-registered");
        let Some(url) = self.authorize_with(&client, redirect.as_str()) else {
            self.skip_check(NAME, EXPECT, "no authorization_endpoint");
            return;
        };
        let (ex, seen) = self.refused_at_authorize(url).await;
        self.record_check(NAME, EXPECT, vec![ex], seen);
    }

    async fn check_wrong_verifier(&mut self) -> Result<(), Stop> {
        const NAME: &str = "token refuses a wrong code_verifier";
        const EXPECT: &str = "400 invalid_grant";
        if !self.local_dev && (self.opts.browser == Browser::Print || self.listener.is_none()) {
            self.skip_check(NAME, EXPECT, "needs a second browser login");
            return Ok(());
        }
        let Some(pkce) = self.new_pkce(None) else {
            self.skip_check(NAME, EXPECT, "no authorization_endpoint");
            return Ok(());
        };
        let mut scratch = StepRecord::new(0, StepKind::BrowserLeg);
        let query = self.authorization(&mut scratch, &pkce).await?;
        let mut exchanges = std::mem::take(&mut scratch.exchanges);
        let Some(code) = query.ok().and_then(|q| q.get("code").cloned()) else {
            self.record_check(
                NAME,
                EXPECT,
                exchanges,
                Seen::Skipped("the second authorization gave no code".into()),
            );
            return Ok(());
        };
        self.secret(&code);
        let wrong = PkceVerifier::new(crate::crypto::new_token().expose());
        let redirect = self
            .redirect_uri
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let Some(req) = self.token_post(TokenRequest::code_exchange(&code, &redirect, &wrong))
        else {
            self.record_check(
                NAME,
                EXPECT,
                exchanges,
                Seen::Skipped("no token_endpoint".into()),
            );
            return Ok(());
        };
        let (ex, result) = self.send_raw(req, None).await;
        exchanges.push(ex);
        let seen = match result {
            Err(e) => Seen::Skipped(e.to_string()),
            Ok(f) => {
                let doc = f.json();
                for t in ["access_token", "refresh_token"] {
                    if let Some(v) = doc.as_ref().and_then(|d| d.get(t)).and_then(Value::as_str) {
                        let v = v.to_string();
                        self.secret(&v);
                    }
                }
                let err = doc
                    .as_ref()
                    .and_then(|d| d.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if f.status.is_client_error() {
                    Seen::Held(format!("{} {err}", f.status.as_u16()))
                } else {
                    Seen::Broken(format!(
                        "{}: tokens issued without PKCE proof",
                        f.status.as_u16()
                    ))
                }
            }
        };
        self.record_check(NAME, EXPECT, exchanges, seen);
        Ok(())
    }

    async fn check_other_route(&mut self) {
        const NAME: &str = "a route's token is refused on another route";
        const EXPECT: &str = "401 invalid_token on another MCP route of the same gateway";
        let Some(other) = self.other_route().await else {
            self.skip_check(
                NAME,
                EXPECT,
                "no other MCP route found in the gateway's MCP server registry",
            );
            return;
        };
        let req = self.tools_list_to(other, true);
        let (ex, result) = self.send_raw(req, None).await;
        let seen = match result {
            Err(e) => Seen::Skipped(e.to_string()),
            Ok(f) if f.status.as_u16() == 401 => Seen::Held("401".into()),
            Ok(f) => Seen::Broken(format!(
                "{}: the token was accepted by a route it was not issued for",
                f.status.as_u16()
            )),
        };
        self.record_check(NAME, EXPECT, vec![ex], seen);
    }

    /// Another MCP route of the same gateway, from its MCP server registry (§3.16).
    async fn other_route(&mut self) -> Option<url::Url> {
        let url = self
            .opts
            .mcp_url
            .join("/__zuplo/mcp-registry/v0.1/servers")
            .ok()?;
        let f = crate::net::outbound::fetch(
            &self.http,
            OutboundRequest::get(url),
            self.limits,
            crate::net::outbound::Guard::Trusted,
        )
        .await
        .ok()?;
        let doc = f.json()?;
        let servers = doc.get("servers")?.as_array()?;
        servers
            .iter()
            .filter_map(|s| s.pointer("/server/remotes/0/url").and_then(Value::as_str))
            .filter_map(|u| url::Url::parse(u).ok())
            .find(|u| u.path() != self.opts.mcp_url.path())
            .and_then(|u| self.opts.mcp_url.join(u.path()).ok())
    }

    async fn check_query_token(&mut self) {
        const NAME: &str = "a token in the query string is refused";
        const EXPECT: &str = "401: bearer tokens are read only from the Authorization header";
        let Some(token) = &self.access_token else {
            self.skip_check(NAME, EXPECT, "no access token");
            return;
        };
        let mut url = self.opts.mcp_url.clone();
        url.query_pairs_mut()
            .append_pair("access_token", token.secret());
        let req = self.tools_list_to(url, false);
        let (ex, result) = self.send_raw(req, None).await;
        let seen = match result {
            Err(e) => Seen::Skipped(e.to_string()),
            Ok(f) if f.status.as_u16() == 401 => Seen::Held("401".into()),
            Ok(f) => Seen::Broken(format!(
                "{}: the server took the token from the query string",
                f.status.as_u16()
            )),
        };
        self.record_check(NAME, EXPECT, vec![ex], seen);
    }

    /// RFC 9207: the browser leg's authorization response carried `iss`, equal to the issuer as
    /// a string, and the AS metadata advertises it (without that a client cannot rely on it, and
    /// 2026-07-28 clients must check it). No request: it reads what the walk already got.
    fn check_iss(&mut self) {
        const NAME: &str = "the authorization response carries iss (RFC 9207)";
        const EXPECT: &str = "authorization_response_iss_parameter_supported in the AS metadata and iss equal to the issuer (compared as strings)";
        let (Some(d), Some(q)) = (
            self.discovered.as_ref(),
            self.authorization_response.as_ref(),
        ) else {
            self.skip_check(
                NAME,
                EXPECT,
                "no authorization response in this walk (--token-file)",
            );
            return;
        };
        let issuer = d.metadata.issuer.clone();
        let advertised = d.metadata.authorization_response_iss_parameter_supported;
        let seen = match (q.get("iss"), advertised) {
            (Some(iss), true) if *iss == issuer => Seen::Held(format!("iss={iss}")),
            (Some(iss), _) if *iss != issuer => {
                Seen::Broken(format!("iss={iss}, but the issuer is {issuer}"))
            }
            (Some(iss), _) => Seen::Broken(format!(
                "iss={iss}, but the AS metadata does not advertise authorization_response_iss_parameter_supported"
            )),
            (None, true) => Seen::Broken(
                "no iss, although the AS metadata advertises authorization_response_iss_parameter_supported".into(),
            ),
            (None, false) => Seen::Broken(
                "no iss, and the AS metadata does not advertise authorization_response_iss_parameter_supported: a client cannot detect a mix-up".into(),
            ),
        };
        self.record_check(NAME, EXPECT, vec![], seen);
    }

    /// Streamable HTTP: a server must refuse a request whose `Origin` is not its own with 403
    /// (DNS rebinding: a page on another origin reaching a local server). The request is the
    /// era's first one (`server/discover` or `initialize`) with the walk's valid token.
    async fn check_hostile_origin(&mut self) {
        const NAME: &str = "a request from a hostile Origin is refused";
        const EXPECT: &str = "403 for an MCP request with a valid token and Origin: http://evil.example (DNS rebinding)";
        let Some(token) = &self.access_token else {
            self.skip_check(NAME, EXPECT, "no access token");
            return;
        };
        let era = self.era();
        let req = discovery::mcp_post(&self.opts.mcp_url, era, &discovery::first_request(era))
            .header("authorization", format!("Bearer {}", token.secret()))
            .header("origin", "http://evil.example");
        let (ex, result) = self.send_raw(req, None).await;
        let seen = match result {
            Err(e) => Seen::Skipped(e.to_string()),
            Ok(f) if f.status.as_u16() == 403 => Seen::Held("403".into()),
            Ok(f) if f.status.is_success() => Seen::Broken(format!(
                "{}: the server answered a request from http://evil.example",
                f.status.as_u16()
            )),
            Ok(f) => Seen::Broken(format!("{}: refused, but not with 403", f.status.as_u16())),
        };
        self.record_check(NAME, EXPECT, vec![ex], seen);
    }

    /// 2026-07-28 (SEP-2243): a `tools/call` whose `Mcp-Name` header names another tool than
    /// `params.name` must be refused before anything reads the header (400, -32020). The tool
    /// does not exist, so a server without the check calls nothing.
    async fn check_header_mismatch(&mut self) {
        const NAME: &str = "a header that contradicts the body is refused";
        const EXPECT: &str = "400 with JSON-RPC error -32020 (HeaderMismatch) for a 2026-07-28 tools/call whose Mcp-Name differs from params.name";
        if self.era() != Era::Modern {
            self.skip_check(
                NAME,
                EXPECT,
                "the server speaks 2025-11-25, which has no Mcp-Name header",
            );
            return;
        }
        let Some(token) = &self.access_token else {
            self.skip_check(NAME, EXPECT, "no access token");
            return;
        };
        let body = discovery::mcp_request(
            Era::Modern,
            1,
            "tools/call",
            json!({"name": "mcpgw-walk-no-such-tool", "arguments": {}}),
        );
        let mut req = discovery::mcp_post(&self.opts.mcp_url, Era::Modern, &body)
            .header("authorization", format!("Bearer {}", token.secret()));
        for (k, v) in req.headers.iter_mut() {
            if k == "mcp-name" {
                *v = "mcpgw-walk-other-tool".into();
            }
        }
        let (ex, result) = self.send_raw(req, None).await;
        let seen = match result {
            Err(e) => Seen::Skipped(e.to_string()),
            Ok(f) => {
                let status = f.status.as_u16();
                let code =
                    mcp_json(&f).and_then(|a| a.pointer("/error/code").and_then(Value::as_i64));
                let code_text = code.map(|c| format!(" {c}")).unwrap_or_default();
                match (status, code) {
                    (400, Some(-32020)) => Seen::Held("400 -32020".into()),
                    (200..=299, _) => Seen::Broken(format!(
                        "{status}{code_text}: the server went on with a request whose Mcp-Name contradicts its body"
                    )),
                    _ => Seen::Broken(format!(
                        "{status}{code_text}: refused, but not as a header mismatch (400, -32020)"
                    )),
                }
            }
        };
        self.record_check(NAME, EXPECT, vec![ex], seen);
    }

    /// After the revoke step: the revoked grant's access token must be refused.
    pub(super) async fn revoked_token_check(&mut self) -> Result<(), Stop> {
        const NAME: &str = "a revoked token is refused";
        const EXPECT: &str = "401 invalid_token with the access token of the revoked grant";
        if !self.revoked {
            self.skip_check(NAME, EXPECT, "the revoke step did not run");
            return Ok(());
        }
        let era = self.era();
        let body = discovery::mcp_request(era, 1, "tools/list", Value::Null);
        let (ex, result) = self.mcp_post(era, &body, None, None).await;
        let seen = match result {
            Err(e) => Seen::Skipped(e.to_string()),
            Ok(f) if f.status.as_u16() == 401 => Seen::Held("401".into()),
            Ok(f) => Seen::Broken(format!(
                "{}: the access token still works after its grant was revoked",
                f.status.as_u16()
            )),
        };
        self.record_check(NAME, EXPECT, vec![ex], seen);
        Ok(())
    }
}

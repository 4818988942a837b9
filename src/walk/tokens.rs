//! The token endpoint and revocation (SPEC §9 steps 7, 9, 10): the code exchange, the refresh
//! grant and RFC 7009 revocation, with the client's authentication (none, basic or post) and
//! the checks on every token answer.

use super::client::Pkce;
use super::transcript::{Status, StepKind, StepRecord};
use super::{Stop, Walk, oauth_error, str_field};
use crate::net::outbound::OutboundRequest;
use serde_json::{Value, json};

impl Walk<'_> {
    /// The token endpoint request with the client's authentication (none, basic or post).
    pub(super) fn token_request(&self, mut form: Vec<(&str, String)>) -> Option<OutboundRequest> {
        let endpoint = self.discovered.as_ref()?.metadata.token_endpoint.clone()?;
        let endpoint = url::Url::parse(&endpoint).ok()?;
        let client_id = self.client_id.clone()?;
        let basic = self.client_secret.is_some()
            && self.auth_method.as_deref() != Some("client_secret_post");
        // client_id also goes in the form with Basic: it is not a credential, and some servers
        // (the Python MCP SDK's AS) look for it there
        form.push(("client_id", client_id.clone()));
        if !basic && let Some(s) = &self.client_secret {
            form.push(("client_secret", s.clone()));
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut req = OutboundRequest::post_form(endpoint, &pairs);
        if basic && let Some(s) = &self.client_secret {
            req = req.header(
                "authorization",
                crate::web::oauth::basic_authorization(&client_id, s),
            );
        }
        Some(req)
    }

    /// One grant at the token endpoint (with `resource` unless `--no-resource`), recorded in
    /// `step`. `None` when the metadata has no token endpoint (the step is then failed).
    async fn token_grant(
        &mut self,
        step: &mut StepRecord,
        mut form: Vec<(&str, String)>,
    ) -> Result<Option<crate::net::outbound::Fetched>, Stop> {
        if let Some(r) = self.resource_param() {
            form.push(("resource", r));
        }
        let Some(req) = self.token_request(form) else {
            step.fail("No token_endpoint in the metadata.");
            return Ok(None);
        };
        let (exchange, result) = self.send_raw(req, None).await;
        step.exchanges.push(exchange);
        match result {
            Ok(f) => Ok(Some(f)),
            Err(e) => {
                step.fail(format!("The token endpoint could not be reached: {e}"));
                let failed = std::mem::replace(step, StepRecord::new(0, step.kind));
                self.finish(failed);
                Err(Stop(e))
            }
        }
    }

    /// Step 7: Redeem the code.
    pub(super) async fn token(&mut self, pkce: &Pkce, code: &str) -> Result<bool, Stop> {
        let mut step = self.step(StepKind::Token);
        let form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            (
                "redirect_uri",
                self.redirect_uri
                    .as_ref()
                    .map(|u| u.to_string())
                    .unwrap_or_default(),
            ),
            ("code_verifier", pkce.verifier.clone()),
        ];
        let Some(f) = self.token_grant(&mut step, form).await? else {
            self.finish(step);
            return Ok(false);
        };
        self.read_tokens(&mut step, &f, false);
        Ok(self.finish(step))
    }

    /// Checks a token answer and keeps its tokens.
    fn read_tokens(
        &mut self,
        step: &mut StepRecord,
        f: &crate::net::outbound::Fetched,
        refresh: bool,
    ) {
        let doc = f.json();
        if let Some(d) = &doc {
            for name in ["access_token", "refresh_token"] {
                if let Some(t) = str_field(d, name) {
                    let t = t.to_string();
                    self.secret(&t);
                }
            }
        }
        let ok = step.check(
            "200 OK",
            f.status.as_u16() == 200,
            Some(f.status.as_u16().to_string()),
        );
        if !ok {
            let (e, d) = oauth_error(doc.as_ref());
            let cause = match e.as_deref() {
                Some("invalid_grant") if refresh => {
                    "the refresh token is expired, revoked or was already used (rotated tokens: a replay revokes the grant, D1)"
                }
                Some("invalid_grant") => {
                    "the code expired or was already used, the verifier does not match the challenge, or the redirect_uri differs"
                }
                Some("invalid_request") => {
                    "a parameter is missing (code_verifier; the docs also require resource)"
                }
                Some("invalid_target") => {
                    "resource does not match the one of the authorization (or the route's canonical URL)"
                }
                Some("invalid_client") => {
                    "the client authentication is wrong (secret, or basic vs post)"
                }
                Some("unsupported_grant_type") => "the server does not offer this grant",
                _ => "see the answer above",
            };
            step.explanation = Some(format!(
                "{}{}: {cause}.",
                e.unwrap_or_else(|| format!("HTTP {}", f.status.as_u16())),
                d.map(|d| format!(" ({d})")).unwrap_or_default()
            ));
            return;
        }
        let doc = doc.unwrap_or(Value::Null);
        let at = str_field(&doc, "access_token").map(str::to_string);
        step.check("access_token", at.is_some(), None);
        let tt = str_field(&doc, "token_type").unwrap_or_default();
        step.check(
            "token_type Bearer",
            tt.eq_ignore_ascii_case("bearer"),
            Some(tt.to_string()),
        );
        let expires = doc.get("expires_in").and_then(Value::as_u64);
        step.advise(
            "expires_in ≤ 900",
            expires.is_some_and(|e| e <= 900),
            Some(
                expires
                    .map(|e| format!("{e} s"))
                    .unwrap_or_else(|| "missing".into()),
            ),
        );
        let rt = str_field(&doc, "refresh_token").map(str::to_string);
        if refresh {
            if let Some(old) = &self.access_token {
                step.check("a new access_token", at.as_ref() != Some(old), None);
            }
            step.advise(
                "refresh_token rotated",
                rt.as_ref()
                    .is_some_and(|r| Some(r) != self.refresh_token.as_ref()),
                None,
            );
        } else {
            step.advise("refresh_token", rt.is_some(), None);
        }
        if let Some(s) = str_field(&doc, "scope") {
            step.notes.push(format!("scope: {s}"));
            if let Some(asked) = &self.scope {
                step.advise(
                    "scope granted as asked",
                    asked.split(' ').all(|a| s.split(' ').any(|g| g == a)),
                    None,
                );
            }
        }
        if let Some(r) = str_field(&doc, "resource") {
            step.notes.push(format!("resource: {r}"));
        }
        if at.is_some() {
            self.access_token = at;
        }
        if rt.is_some() {
            self.refresh_token = rt;
        }
    }

    /// Step 9: refresh_token grant.
    pub(super) async fn refresh(&mut self) -> Result<bool, Stop> {
        let Some(rt) = self.refresh_token.clone() else {
            self.skip(
                StepKind::Refresh,
                "skipped: the token answer had no refresh_token",
            );
            return Ok(true);
        };
        let mut step = self.step(StepKind::Refresh);
        let form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", rt),
        ];
        let Some(f) = self.token_grant(&mut step, form).await? else {
            self.finish(step);
            return Ok(false);
        };
        self.read_tokens(&mut step, &f, true);
        if !step.failed() {
            // the new access token must work where the old one did
            let ping = json!({"jsonrpc": "2.0", "id": 3, "method": "ping"});
            let session = self.session.clone();
            let (exchange, result) = self
                .mcp_post(
                    &ping,
                    session.as_deref(),
                    Some("ping with the refreshed token"),
                )
                .await;
            step.exchanges.push(exchange);
            let status = result.as_ref().map(|f| f.status.as_u16()).unwrap_or(0);
            step.advise(
                "the refreshed token is accepted by the MCP URL",
                status != 401 && status != 403,
                Some(format!("HTTP {status}")),
            );
        }
        Ok(self.finish(step))
    }

    /// Step 10: Revoke the refresh token (or the access token when there is none).
    pub(super) async fn revoke(&mut self) -> Result<bool, Stop> {
        let endpoint = self
            .discovered
            .as_ref()
            .and_then(|d| d.metadata.revocation_endpoint.clone());
        let Some(endpoint) = endpoint.and_then(|e| url::Url::parse(&e).ok()) else {
            self.skip(
                StepKind::Revoke,
                "skipped: the metadata has no revocation_endpoint",
            );
            return Ok(true);
        };
        let mut step = self.step(StepKind::Revoke);
        let (token, hint) = match (&self.refresh_token, &self.access_token) {
            (Some(rt), _) => (rt.clone(), "refresh_token"),
            (None, Some(at)) => (at.clone(), "access_token"),
            (None, None) => {
                step.status = Status::Skipped;
                self.finish(step);
                return Ok(true);
            }
        };
        let mut req = self
            .token_request(vec![
                ("token", token),
                ("token_type_hint", hint.to_string()),
            ])
            .unwrap_or_else(|| OutboundRequest::post_form(endpoint.clone(), &[]));
        req.url = endpoint;
        let (exchange, result) = self.send_raw(req, None).await;
        step.exchanges.push(exchange);
        match result {
            Ok(f) => {
                let status = f.status.as_u16();
                if step.check("200 OK", status == 200, Some(status.to_string())) {
                    self.revoked = true;
                } else {
                    let (e, d) = oauth_error(f.json().as_ref());
                    step.explanation = Some(format!(
                        "Revocation answers 200 even for unknown tokens (RFC 7009), so {}{} points at the client \
                         authentication or a parameter the server insists on.",
                        e.unwrap_or_else(|| status.to_string()),
                        d.map(|d| format!(" ({d})")).unwrap_or_default()
                    ));
                }
            }
            Err(e) => {
                step.fail(format!("The revocation endpoint could not be reached: {e}"));
                self.finish(step);
                return Err(Stop(e));
            }
        }
        Ok(self.finish(step))
    }
}

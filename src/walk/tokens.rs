//! The token endpoint and revocation (SPEC §9 steps 7, 9, 10): the code exchange, the refresh
//! grant and RFC 7009 revocation, with the client's authentication (none, basic or post) and
//! the checks on every token answer. The requests come from [`crate::oauth::token_request`],
//! the builder the gateway's upstream client uses too.

use super::client::Pkce;
use super::transcript::{Status, StepKind, StepRecord};
use super::{Stop, Walk, oauth_error, str_field};
use crate::net::outbound::OutboundRequest;
use crate::oauth::discovery::{self, Era};
use crate::oauth::token_request::{Client, ClientAuth, Revocable, TokenRequest};
use crate::secret::{AccessToken, RefreshToken};
use serde_json::{Value, json};

impl Walk<'_> {
    /// The walk's client as the token and revocation endpoints see it: with a secret, HTTP Basic
    /// (and `client_id` in the form too) unless the method is `client_secret_post`.
    pub(super) fn client(&self) -> Option<Client<'_>> {
        let id = self.client_id.as_deref()?;
        let auth = match &self.client_secret {
            Some(secret) if self.auth_method.as_deref() == Some("client_secret_post") => {
                ClientAuth::Post(secret)
            }
            Some(secret) => ClientAuth::Basic {
                secret,
                client_id_in_form: true,
            },
            None => ClientAuth::None,
        };
        Some(Client { id, auth })
    }

    /// `grant` at the token endpoint, with `resource` unless `--no-resource`, as the walk's
    /// client. `None` without a token endpoint (or a client).
    pub(super) fn token_post(&self, grant: TokenRequest<'_>) -> Option<OutboundRequest> {
        let endpoint = self
            .discovered
            .as_ref()?
            .metadata
            .token_endpoint
            .as_deref()?;
        let endpoint = url::Url::parse(endpoint).ok()?;
        let resource = self.resource_param();
        Some(
            grant
                .param("resource", resource.as_deref())
                .build(endpoint, &self.client()?),
        )
    }

    /// One request at the token endpoint, recorded in `step`. `None` when there was no request
    /// to send: the metadata has no token endpoint (the step is then failed).
    async fn token_grant(
        &mut self,
        step: &mut StepRecord,
        req: Option<OutboundRequest>,
    ) -> Result<Option<crate::net::outbound::Fetched>, Stop> {
        let Some(req) = req else {
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
                Err(Stop(e.to_string()))
            }
        }
    }

    /// Step 7: Redeem the code.
    pub(super) async fn token(&mut self, pkce: &Pkce, code: &str) -> Result<bool, Stop> {
        let mut step = self.step(StepKind::Token);
        let redirect = self
            .redirect_uri
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let req = self.token_post(TokenRequest::code_exchange(code, &redirect, &pkce.verifier));
        let Some(f) = self.token_grant(&mut step, req).await? else {
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
        let at = str_field(&doc, "access_token").map(AccessToken::new);
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
        let rt = str_field(&doc, "refresh_token").map(RefreshToken::new);
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
        let Some(rt) = &self.refresh_token else {
            self.skip(
                StepKind::Refresh,
                "skipped: the token answer had no refresh_token",
            );
            return Ok(true);
        };
        let req = self.token_post(TokenRequest::refresh(rt));
        let mut step = self.step(StepKind::Refresh);
        let Some(f) = self.token_grant(&mut step, req).await? else {
            self.finish(step);
            return Ok(false);
        };
        self.read_tokens(&mut step, &f, true);
        if !step.failed() {
            // the new access token must work where the old one did: `ping` in the session
            // (2025-11-25), `server/discover` on 2026-07-28 (which has no ping)
            let era = self.era();
            let (ping, note) = match era {
                Era::Session => (
                    json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
                    "ping with the refreshed token",
                ),
                Era::Modern => (
                    discovery::mcp_request(era, 3, "server/discover", Value::Null),
                    "server/discover with the refreshed token",
                ),
            };
            let session = self.session.clone();
            let (exchange, result) = self
                .mcp_post(era, &ping, session.as_deref(), Some(note))
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
        let token = match (&self.refresh_token, &self.access_token) {
            (Some(rt), _) => Revocable::Refresh(rt),
            (None, Some(at)) => Revocable::Access(at),
            (None, None) => {
                step.status = Status::Skipped;
                self.finish(step);
                return Ok(true);
            }
        };
        let req = match self.client() {
            Some(client) => TokenRequest::revocation(token).build(endpoint, &client),
            None => OutboundRequest::post_form(endpoint, &[]),
        };
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
                return Err(Stop(e.to_string()));
            }
        }
        Ok(self.finish(step))
    }
}

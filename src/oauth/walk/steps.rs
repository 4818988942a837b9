//! The steps of SPEC §9 other than the browser leg: each sends its requests, checks the
//! answers and, when something is wrong, says the likely cause (§9 "common failure
//! explanations", §12).

use super::transcript::{Exchange, Request, Response, Status, StepKind, StepRecord};
use super::{ClientChoice, Stop, Walk, mcp_json};
use crate::oauth::discovery::{self, BearerChallenge, DiscoveryError, DiscoveryInput, Step};
use crate::oauth::outbound::{Guard, OutboundRequest};
use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;

/// PKCE values and the authorize URL of one authorization.
pub(super) struct Pkce {
    pub verifier: String,
    pub state: String,
    pub url: url::Url,
}

/// base64url(SHA-256(verifier)), unpadded (RFC 7636 S256).
pub(super) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

fn str_field<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v.get(name).and_then(Value::as_str)
}

/// `error` (and description) of an OAuth error answer.
fn oauth_error(body: Option<&Value>) -> (Option<String>, Option<String>) {
    let e = body.and_then(|b| str_field(b, "error")).map(str::to_string);
    let d = body
        .and_then(|b| str_field(b, "error_description"))
        .map(str::to_string);
    (e, d)
}

impl Walk<'_> {
    /// Step 1, the unauthenticated first contact (D19). `Some(challenge)` when the server asks
    /// for OAuth and the walk can go on.
    pub(super) async fn probe(&mut self) -> Result<Option<Option<BearerChallenge>>, Stop> {
        let mut step = self.step(StepKind::Probe);
        let req =
            OutboundRequest::post_json(self.opts.mcp_url.clone(), &discovery::initialize_request())
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", discovery::PROTOCOL_VERSION);
        let request = super::record_request(&req);
        let result =
            discovery::probe(&self.http, &self.opts.mcp_url, Guard::Trusted, self.limits).await;
        let p = match result {
            Ok(p) => p,
            Err(e) => {
                step.exchanges.push(Exchange {
                    request,
                    response: None,
                    error: Some(e.to_string()),
                    note: None,
                });
                step.fail(format!(
                    "The MCP URL could not be reached: {e}. Is the gateway running (mcpgw dev) and is the URL right?"
                ));
                self.finish(step);
                return Err(Stop(e.to_string()));
            }
        };
        let mut headers: Vec<(String, String)> = p
            .www_authenticate
            .iter()
            .map(|v| ("www-authenticate".to_string(), v.clone()))
            .collect();
        if let Some(ct) = &p.content_type {
            headers.push(("content-type".into(), ct.clone()));
        }
        step.exchanges.push(Exchange {
            request,
            response: Some(Response {
                status: p.status,
                headers,
                body: p.response.clone(),
            }),
            error: None,
            note: None,
        });
        step.notes.push(p.attempt.outcome.clone());
        match (p.status, &p.challenge) {
            (401, Some(c)) => {
                step.check("401 with a Bearer challenge", true, None);
                step.advise(
                    "challenge names resource_metadata",
                    c.resource_metadata.is_some(),
                    c.resource_metadata.clone(),
                );
                if let Some(s) = &c.scope {
                    step.notes.push(format!("challenge scope: {s}"));
                }
            }
            (200..=299, _) => {
                step.check(
                    "401 with a Bearer challenge",
                    false,
                    Some(format!("got {}", p.status)),
                );
                step.fail(
                    "The MCP endpoint answered without a token: the route is not protected. \
                     Attach an MCP OAuth policy (mcp-oauth-inbound or a provider wrapper) to the \
                     route's inbound policies (§12: 200 on unauthenticated POST).",
                );
            }
            (401, None) => {
                step.check(
                    "401 with a Bearer challenge",
                    false,
                    Some("no Bearer challenge".into()),
                );
                step.fail(
                    "401 without `WWW-Authenticate: Bearer`: the route lacks an MCP OAuth policy, \
                     or something in front of it answers (§12, validate rule 20).",
                );
            }
            (403, Some(c)) if c.error.as_deref() == Some("insufficient_scope") => {
                step.check(
                    "401 with a Bearer challenge",
                    false,
                    Some("403 insufficient_scope".into()),
                );
                step.fail("403 insufficient_scope without any token: the server's challenge is misconfigured.");
            }
            (s, _) => {
                step.check(
                    "401 with a Bearer challenge",
                    false,
                    Some(format!("got {s}")),
                );
                step.fail(format!(
                    "{s} instead of 401: the OAuth policy is not attached, the McpGatewayPlugin is \
                     missing, the route does not exist, or the project has a configuration error \
                     (§12; run `mcpgw validate`)."
                ));
            }
        }
        let challenge = p.challenge.clone();
        Ok(self.finish(step).then_some(challenge))
    }

    /// Step 2: PRM and 3. AS metadata, through the shared discovery (D15, §6.3).
    pub(super) async fn discover(
        &mut self,
        challenge: Option<BearerChallenge>,
    ) -> Result<bool, Stop> {
        let input = DiscoveryInput {
            mcp_url: self.opts.mcp_url.clone(),
            prm_url: None,
            challenge,
        };
        let result = discovery::discover(&self.http, input, Guard::Trusted, self.limits).await;
        let mut prm_step = self.step(StepKind::ProtectedResourceMetadata);
        let mut as_step =
            StepRecord::new(prm_step.number + 1, StepKind::AuthorizationServerMetadata);
        let attempts = match &result {
            Ok(d) => d.attempts.clone(),
            Err(e) => e.attempts().to_vec(),
        };
        for a in &attempts {
            let found = a.outcome == "found";
            let body = match (&result, a.step, found) {
                (Ok(d), Step::ProtectedResourceMetadata, true) => {
                    d.prm.as_ref().map(|p| p.raw.clone())
                }
                (Ok(d), Step::AuthorizationServerMetadata, true) => Some(d.metadata.raw.clone()),
                _ => None,
            };
            let exchange = Exchange {
                request: Request {
                    method: a.method.clone(),
                    url: a.url.clone(),
                    headers: vec![
                        ("accept".into(), "application/json".into()),
                        (
                            "mcp-protocol-version".into(),
                            discovery::PROTOCOL_VERSION.into(),
                        ),
                    ],
                    body: None,
                },
                response: a.status.map(|status| Response {
                    status,
                    headers: Vec::new(),
                    body,
                }),
                error: a.status.is_none().then(|| a.outcome.clone()),
                note: Some(a.outcome.clone()),
            };
            match a.step {
                Step::AuthorizationServerMetadata => as_step.exchanges.push(exchange),
                _ => prm_step.exchanges.push(exchange),
            }
        }
        let d = match result {
            Ok(d) => d,
            Err(e) => {
                let network = matches!(e, DiscoveryError::Network { .. });
                let in_prm = attempts
                    .last()
                    .is_none_or(|a| a.step != Step::AuthorizationServerMetadata);
                let why = match &e {
                    DiscoveryError::IssuerMismatch {
                        expected, found, ..
                    } => format!(
                        "The metadata's issuer {found} is not the authorization server {expected}. A proxy \
                         rewrote Host, the gateway's public URL differs from the URL used, or localhost \
                         and 127.0.0.1 are mixed (§12, §8)."
                    ),
                    DiscoveryError::NoAuthorizationServerMetadata {
                        authorization_server,
                        ..
                    } => format!(
                        "No authorization server metadata at any well-known URL of {authorization_server} \
                         (RFC 8414 and OpenID Connect paths tried). Check the PRM's authorization_servers."
                    ),
                    other => other.to_string(),
                };
                let step = if in_prm {
                    prm_step.fail(why);
                    prm_step
                } else {
                    self.finish(prm_step);
                    as_step.number = self.steps.len() + 1;
                    as_step.fail(why);
                    as_step
                };
                self.finish(step);
                return if network {
                    Err(Stop(e.to_string()))
                } else {
                    Ok(false)
                };
            }
        };

        // 2. PRM
        match &d.prm {
            Some(prm) => {
                prm_step.check(
                    "PRM document found",
                    true,
                    d.prm_url.as_ref().map(|u| u.to_string()),
                );
                let resource = prm.resource.clone().unwrap_or_default();
                prm_step.check(
                    "resource matches the MCP URL",
                    d.resource_matches_url,
                    Some(format!("resource {resource}")),
                );
                prm_step.check(
                    "authorization_servers is not empty",
                    !prm.authorization_servers.is_empty(),
                    prm.authorization_servers.first().cloned(),
                );
                prm_step.advise(
                    "bearer_methods_supported has header",
                    prm.bearer_methods_supported.is_empty()
                        || prm.bearer_methods_supported.iter().any(|m| m == "header"),
                    None,
                );
                prm_step.advise(
                    "scopes_supported is listed",
                    !prm.scopes_supported.is_empty(),
                    (!prm.scopes_supported.is_empty()).then(|| prm.scopes_supported.join(" ")),
                );
                if d.prm_needs_explicit_url {
                    prm_step.notes.push(
                        "found away from the path-suffixed well-known URL: a gateway policy needs protectedResourceMetadataUrl".into(),
                    );
                }
                if !d.resource_matches_url {
                    prm_step.fail(format!(
                        "The PRM's resource {resource} does not name {}. Clients refuse this, and tokens \
                         bound to it fail the audience check (invalid_audience): usually localhost vs \
                         127.0.0.1, a proxy or custom domain, or a --public-url that differs from the \
                         URL used (§8, §12).",
                        self.opts.mcp_url
                    ));
                }
            }
            None => {
                prm_step.advise("PRM document found", false, None);
                prm_step.explanation = Some(
                    "No RFC 9728 document: clients fall back to the authorization server at the MCP \
                     URL's origin (2025-03-26 style). MCP 2025-11-25 servers must serve one."
                        .into(),
                );
            }
        }
        if !self.finish(prm_step) {
            return Ok(false);
        }

        // 3. AS metadata
        as_step.number = self.steps.len() + 1;
        let m = &d.metadata;
        as_step.check(
            "issuer matches the authorization server",
            true,
            Some(m.issuer.clone()),
        );
        as_step.check(
            "S256 in code_challenge_methods_supported",
            d.supports_s256(),
            Some(m.code_challenge_methods_supported.join(" ")),
        );
        as_step.check(
            "authorization_endpoint and token_endpoint",
            m.authorization_endpoint.is_some() && m.token_endpoint.is_some(),
            None,
        );
        match &self.opts.client {
            ClientChoice::Dcr => {
                as_step.check(
                    "registration_endpoint (for DCR)",
                    m.registration_endpoint.is_some(),
                    m.registration_endpoint.clone(),
                );
            }
            ClientChoice::Cimd(_) => {
                as_step.check(
                    "client_id_metadata_document_supported (for --cimd)",
                    d.supports_cimd(),
                    None,
                );
            }
            ClientChoice::Preregistered { .. } => {}
        }
        as_step.advise(
            "revocation_endpoint",
            m.revocation_endpoint.is_some(),
            m.revocation_endpoint.clone(),
        );
        let kind = str_field(&m.raw, "x-zuplo-browser-login-kind").map(str::to_string);
        let loopback = m
            .authorization_endpoint
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .is_some_and(|u| {
                u.host()
                    .is_some_and(|h| crate::oauth::outbound::host_is_loopback(&h))
            });
        self.local_dev = kind.as_deref() == Some("local_dev") && loopback;
        if let Some(kind) = kind {
            as_step.notes.push(format!("browser login: {kind}"));
        }
        let failed = |label: &str| {
            as_step
                .checks
                .iter()
                .any(|c| !c.ok && c.label.starts_with(label))
        };
        let why = if failed("S256") {
            Some(
                "Without S256 PKCE an MCP client must refuse the authorization server (MCP authorization spec).",
            )
        } else if failed("authorization_endpoint") {
            Some(
                "The metadata lacks authorization_endpoint or token_endpoint: no client can get a token.",
            )
        } else if failed("registration_endpoint") {
            Some(
                "The AS offers no dynamic client registration: pass a pre-registered --client-id (and --client-secret), or --cimd URL if it accepts Client ID Metadata Documents.",
            )
        } else if failed("client_id_metadata_document_supported") {
            Some(
                "The AS does not say it accepts Client ID Metadata Documents (client_id_metadata_document_supported): use DCR (leave out --cimd) or --client-id.",
            )
        } else {
            None
        };
        if let Some(why) = why {
            as_step.explanation = Some(why.to_string());
        }
        self.scope = d.default_scope();
        self.discovered = Some(d);
        Ok(self.finish(as_step))
    }

    /// Step 4: DCR, a pre-registered client, or a CIMD URL.
    pub(super) async fn register(&mut self) -> Result<bool, Stop> {
        let mut step = self.step(StepKind::Registration);
        let redirect = self.redirect_uri_for_registration().await?;
        match self.opts.client.clone() {
            ClientChoice::Preregistered {
                client_id,
                client_secret,
            } => {
                step.notes
                    .push(format!("pre-registered client {client_id}"));
                if let Some(s) = &client_secret {
                    let s = s.expose().to_string();
                    self.secret(&s);
                    self.client_secret = Some(s);
                    self.auth_method = Some(self.pick_secret_method());
                }
                self.client_id = Some(client_id);
            }
            ClientChoice::Cimd(url) => {
                let (exchange, result) = self
                    .send_raw(
                        OutboundRequest::get(url.clone()),
                        Some("the client metadata document"),
                    )
                    .await;
                step.exchanges.push(exchange);
                match result {
                    Err(e) => step.fail(format!("The CIMD URL could not be fetched: {e}")),
                    Ok(f) => {
                        let doc = f.json().unwrap_or(Value::Null);
                        step.check(
                            "200 JSON document",
                            f.status.is_success() && doc.is_object(),
                            Some(f.status.as_u16().to_string()),
                        );
                        step.check(
                            "client_id is the document's URL",
                            str_field(&doc, "client_id") == Some(url.as_str()),
                            str_field(&doc, "client_id").map(str::to_string),
                        );
                        let uris: Vec<&str> = doc
                            .get("redirect_uris")
                            .and_then(Value::as_array)
                            .map(|a| a.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        step.check(
                            "redirect_uris has the walk's redirect URI",
                            uris.iter()
                                .any(|u| crate::store::redirect_uri_matches(u, redirect.as_str())),
                            Some(redirect.to_string()),
                        );
                        if step.failed() {
                            step.explanation = Some(
                                "The authorization server fetches this document and refuses a client_id or redirect_uri that does not match it (§3.6).".into(),
                            );
                        }
                    }
                }
                self.client_id = Some(url.to_string());
            }
            ClientChoice::Dcr => {
                let Some(endpoint) = self
                    .discovered
                    .as_ref()
                    .and_then(|d| d.metadata.registration_endpoint.clone())
                else {
                    step.fail("No registration_endpoint: use --client-id or --cimd.");
                    self.finish(step);
                    return Ok(false);
                };
                let Ok(endpoint) = url::Url::parse(&endpoint) else {
                    step.fail(format!("registration_endpoint is not a URL: {endpoint}"));
                    self.finish(step);
                    return Ok(false);
                };
                let mut body = json!({
                    "client_name": self.opts.client_name,
                    "redirect_uris": [redirect.as_str()],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "none",
                });
                if let (Some(scope), Some(o)) = (&self.scope, body.as_object_mut()) {
                    o.insert("scope".into(), json!(scope));
                }
                let (exchange, result) = self
                    .send_raw(OutboundRequest::post_json(endpoint, &body), None)
                    .await;
                step.exchanges.push(exchange);
                let f = match result {
                    Ok(f) => f,
                    Err(e) => {
                        step.fail(format!(
                            "The registration endpoint could not be reached: {e}"
                        ));
                        self.finish(step);
                        return Err(Stop(e));
                    }
                };
                let doc = f.json();
                let status = f.status.as_u16();
                step.check(
                    "201 Created",
                    status == 201 || status == 200,
                    Some(status.to_string()),
                );
                if status == 200 {
                    step.advise("201, not 200 (RFC 7591)", false, None);
                }
                let client_id = doc
                    .as_ref()
                    .and_then(|d| str_field(d, "client_id"))
                    .map(str::to_string);
                step.check("client_id returned", client_id.is_some(), client_id.clone());
                if step.failed() {
                    let (e, d) = oauth_error(doc.as_ref());
                    step.explanation = Some(format!(
                        "Registration refused{}{}. The AS rejects redirect URIs that are not https or loopback http, and scopes it does not grant (§3.5).",
                        e.map(|e| format!(": {e}")).unwrap_or_default(),
                        d.map(|d| format!(" ({d})")).unwrap_or_default()
                    ));
                }
                // D17: use what the server returned
                if let Some(secret) = doc.as_ref().and_then(|d| str_field(d, "client_secret")) {
                    let secret = secret.to_string();
                    self.secret(&secret);
                    self.client_secret = Some(secret);
                    self.auth_method = doc
                        .as_ref()
                        .and_then(|d| str_field(d, "token_endpoint_auth_method"))
                        .map(str::to_string)
                        .or_else(|| Some("client_secret_basic".into()));
                }
                self.client_id = client_id;
            }
        }
        Ok(self.finish(step))
    }

    /// client_secret_basic unless the AS lists only client_secret_post.
    fn pick_secret_method(&self) -> String {
        let methods = self
            .discovered
            .as_ref()
            .map(|d| d.metadata.token_endpoint_auth_methods_supported.clone())
            .unwrap_or_default();
        if !methods.is_empty()
            && !methods.iter().any(|m| m == "client_secret_basic")
            && methods.iter().any(|m| m == "client_secret_post")
        {
            "client_secret_post".into()
        } else {
            "client_secret_basic".into()
        }
    }

    /// Step 5: PKCE (RFC 7636 S256), state, and the authorize URL.
    pub(super) fn authorize_url(&mut self) -> Result<Option<Pkce>, Stop> {
        let mut step = self.step(StepKind::AuthorizeUrl);
        let pkce = self.new_pkce(None);
        match pkce {
            Some(p) => {
                step.check(
                    "code_verifier is 43–128 characters of [A-Za-z0-9-._~]",
                    (43..=128).contains(&p.verifier.len()),
                    Some(format!("{} characters", p.verifier.len())),
                );
                step.check(
                    "code_challenge_method S256",
                    true,
                    Some(format!("code_challenge {}", s256(&p.verifier))),
                );
                if !self.opts.resource {
                    step.notes.push("resource left out (--no-resource)".into());
                }
                step.notes.push(format!("authorize URL: {}", p.url));
                Ok(self.finish(step).then_some(p))
            }
            None => {
                step.fail("The authorization_endpoint is not a URL.");
                self.finish(step);
                Ok(None)
            }
        }
    }

    /// A fresh verifier and state, and the authorize URL for them (for `client_id`, or the
    /// walk's client).
    pub(super) fn new_pkce(&mut self, client_id: Option<&str>) -> Option<Pkce> {
        let endpoint = self
            .discovered
            .as_ref()?
            .metadata
            .authorization_endpoint
            .clone()?;
        let mut url = url::Url::parse(&endpoint).ok()?;
        let verifier = crate::store::new_token().expose().to_string();
        let mut state_bytes = [0u8; 16];
        rand::fill(&mut state_bytes[..]);
        let state: String = state_bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.secret(&verifier);
        let client_id = client_id
            .map(str::to_string)
            .or_else(|| self.client_id.clone())?;
        let redirect = self.redirect_uri.clone()?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client_id)
                .append_pair("redirect_uri", redirect.as_str())
                .append_pair("code_challenge", &s256(&verifier))
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &state);
            if let Some(scope) = &self.scope {
                q.append_pair("scope", scope);
            }
            if let Some(r) = self.resource_param() {
                q.append_pair("resource", &r);
            }
        }
        Some(Pkce {
            verifier,
            state,
            url,
        })
    }

    /// The token endpoint request with the client's authentication (none, basic or post).
    pub(super) fn token_request(&self, mut form: Vec<(&str, String)>) -> Option<OutboundRequest> {
        let endpoint = self.discovered.as_ref()?.metadata.token_endpoint.clone()?;
        let endpoint = url::Url::parse(&endpoint).ok()?;
        let client_id = self.client_id.clone()?;
        let basic = self.client_secret.is_some()
            && self.auth_method.as_deref() != Some("client_secret_post");
        if !basic {
            form.push(("client_id", client_id.clone()));
            if let Some(s) = &self.client_secret {
                form.push(("client_secret", s.clone()));
            }
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut req = OutboundRequest::post_form(endpoint, &pairs);
        if basic && let Some(s) = &self.client_secret {
            let enc = |v: &str| -> String {
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
            };
            let cred = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                enc(&client_id),
                enc(s)
            ));
            req = req.header("authorization", format!("Basic {cred}"));
        }
        Some(req)
    }

    /// Step 7: Redeem the code.
    pub(super) async fn token(&mut self, pkce: &Pkce, code: &str) -> Result<bool, Stop> {
        let mut step = self.step(StepKind::Token);
        let mut form = vec![
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
        if let Some(r) = self.resource_param() {
            form.push(("resource", r));
        }
        let Some(req) = self.token_request(form) else {
            step.fail("No token_endpoint in the metadata.");
            self.finish(step);
            return Ok(false);
        };
        let (exchange, result) = self.send_raw(req, None).await;
        step.exchanges.push(exchange);
        let f = match result {
            Ok(f) => f,
            Err(e) => {
                step.fail(format!("The token endpoint could not be reached: {e}"));
                self.finish(step);
                return Err(Stop(e));
            }
        };
        self.read_tokens(&mut step, &f, false);
        Ok(self.finish(step))
    }

    /// Checks a token answer and keeps its tokens.
    fn read_tokens(
        &mut self,
        step: &mut StepRecord,
        f: &crate::oauth::outbound::Fetched,
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

    /// Step 8: initialize and tools/list with the token.
    pub(super) async fn mcp(&mut self) -> Result<bool, Stop> {
        let mut step = self.step(StepKind::Mcp);
        let mut connect_tries = 0;
        let (init, session) = loop {
            let (exchange, result) = self
                .mcp_post(&discovery::initialize_request(), None, Some("initialize"))
                .await;
            step.exchanges.push(exchange);
            let f = match result {
                Ok(f) => f,
                Err(e) => {
                    step.fail(format!("The MCP URL could not be reached: {e}"));
                    self.finish(step);
                    return Err(Stop(e));
                }
            };
            let status = f.status.as_u16();
            let session = f.header("mcp-session-id").map(str::to_string);
            let answer = mcp_json(&f);
            if status == 401 || status == 403 {
                let c = discovery::bearer_challenge(&f.headers);
                let error = c.as_ref().and_then(|c| c.error.clone());
                step.check(
                    "200 with a JSON-RPC answer",
                    false,
                    Some(format!("{status} {}", error.clone().unwrap_or_default())),
                );
                step.fail(match (status, error.as_deref()) {
                    (403, _) => "403 insufficient_scope: the token lacks the scope the resource needs (an old token, or DCR/authorize with another scope) (§12).".to_string(),
                    _ => "401 with the new token: it is bound to another route or origin (localhost vs 127.0.0.1, a proxy, --public-url), expired, or revoked (§9: 401 on every call after exchange; §12 invalid_audience).".to_string(),
                });
                self.finish(step);
                return Ok(false);
            }
            let error_code = answer
                .as_ref()
                .and_then(|a| a.pointer("/error/code"))
                .and_then(Value::as_i64);
            if status == 200 && error_code == Some(-32042) && connect_tries < 1 {
                let data = answer
                    .as_ref()
                    .and_then(|a| a.pointer("/error/data"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let url = data
                    .pointer("/elicitations/0/url")
                    .or_else(|| data.pointer("/connectRequired/authUrl"))
                    .or_else(|| data.get("authUrl"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let state = data
                    .pointer("/connectRequired/state")
                    .or_else(|| data.get("state"))
                    .and_then(Value::as_str)
                    .unwrap_or("authenticating")
                    .to_string();
                step.notes.push(format!(
                    "-32042: an upstream connection is needed ({state})"
                ));
                let Some(url) = url else {
                    step.fail("-32042 without a connect URL (data.elicitations[0].url / data.connectRequired.authUrl).");
                    self.finish(step);
                    return Ok(false);
                };
                // the URL carries a one-time browser ticket: shorten long query values
                if let Ok(u) = url::Url::parse(&url) {
                    for (_, v) in u.query_pairs() {
                        if v.len() >= 16 {
                            let v = v.into_owned();
                            self.secret(&v);
                        }
                    }
                }
                step.notes.push(format!("connect URL: {url}"));
                connect_tries += 1;
                match self.connect_upstream(&mut step, &url).await? {
                    true => continue,
                    false => {
                        step.fail(format!(
                            "The upstream's OAuth is pending (-32042, {state}): open the connect URL in a browser, \
                             finish the upstream's login, then run the walk again{}.",
                            if self.local_dev { " (or pass --auto-connect)" } else { "" }
                        ));
                        self.finish(step);
                        return Ok(false);
                    }
                }
            }
            if status == 200
                && error_code == Some(-32600)
                && answer
                    .as_ref()
                    .and_then(|a| a.pointer("/error/data/connectRequired"))
                    .is_some()
            {
                step.check(
                    "initialize result",
                    false,
                    Some("-32600 admin_connect_required".into()),
                );
                step.fail("A shared upstream has no connection yet (admin_connect_required): an administrator must connect it (§6.6).");
                self.finish(step);
                return Ok(false);
            }
            self.session = session.clone();
            break (answer, session);
        };
        let result = init.as_ref().and_then(|a| a.get("result"));
        let ok = step.check(
            "initialize result",
            result.is_some(),
            init.as_ref()
                .and_then(|a| a.get("error"))
                .map(|e| e.to_string()),
        );
        if !ok {
            step.explanation = Some("The MCP server answered initialize with an error or no JSON-RPC answer (see the answer above).".into());
            self.finish(step);
            return Ok(false);
        }
        if let Some(info) = result.and_then(|r| r.get("serverInfo")) {
            step.notes.push(format!(
                "server: {} {}",
                str_field(info, "name").unwrap_or("?"),
                str_field(info, "version").unwrap_or("")
            ));
        }
        if let Some(v) = result.and_then(|r| str_field(r, "protocolVersion")) {
            step.notes.push(format!("protocol version: {v}"));
        }
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let (exchange, _) = self
            .mcp_post(
                &initialized,
                session.as_deref(),
                Some("notifications/initialized"),
            )
            .await;
        step.exchanges.push(exchange);
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
        let (exchange, result) = self
            .mcp_post(&list, session.as_deref(), Some("tools/list"))
            .await;
        step.exchanges.push(exchange);
        match result {
            Err(e) => {
                step.fail(format!("tools/list could not be sent: {e}"));
                self.finish(step);
                return Err(Stop(e));
            }
            Ok(f) => {
                let answer = mcp_json(&f);
                let tools: Option<Vec<String>> = answer
                    .as_ref()
                    .and_then(|a| a.pointer("/result/tools"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| str_field(t, "name"))
                            .map(str::to_string)
                            .collect()
                    });
                step.check(
                    "tools/list result",
                    tools.is_some(),
                    Some(format!("HTTP {}", f.status.as_u16())),
                );
                if let Some(t) = tools {
                    step.notes.push(format!(
                        "tools: {}",
                        if t.is_empty() {
                            "(none)".into()
                        } else {
                            t.join(", ")
                        }
                    ));
                }
            }
        }
        Ok(self.finish(step))
    }

    /// One JSON-RPC POST to the MCP URL with the current token.
    pub(super) async fn mcp_post(
        &mut self,
        body: &Value,
        session: Option<&str>,
        note: Option<&str>,
    ) -> (Exchange, Result<crate::oauth::outbound::Fetched, String>) {
        let mut req = OutboundRequest::post_json(self.opts.mcp_url.clone(), body)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", discovery::PROTOCOL_VERSION);
        if let Some(t) = &self.access_token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        self.send_raw(req, note).await
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
        let mut form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", rt),
        ];
        if let Some(r) = self.resource_param() {
            form.push(("resource", r));
        }
        let Some(req) = self.token_request(form) else {
            step.fail("No token_endpoint in the metadata.");
            self.finish(step);
            return Ok(false);
        };
        let (exchange, result) = self.send_raw(req, None).await;
        step.exchanges.push(exchange);
        match result {
            Ok(f) => self.read_tokens(&mut step, &f, true),
            Err(e) => {
                step.fail(format!("The token endpoint could not be reached: {e}"));
                self.finish(step);
                return Err(Stop(e));
            }
        }
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

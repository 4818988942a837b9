//! Steps 4–5 of SPEC §9: the client (DCR, a pre-registered client, or a Client ID Metadata
//! Document URL) and PKCE S256 with the authorize URL (built by
//! [`crate::oauth::token_request`]).

use super::transcript::StepKind;
use super::{ClientChoice, Stop, Walk, oauth_error, str_field};
use crate::client_metadata::ClientAuthMethod;
use crate::net::outbound::OutboundRequest;
use crate::oauth::token_request::AuthorizationRequest;
use crate::secret::{ClientSecret, PkceVerifier};
use serde_json::{Value, json};

/// SEP-837 `application_type` for a redirect URI, as the TypeScript SDK v2 client derives it:
/// `native` for a loopback host or a non-http(s) scheme (RFC 8252: a CLI on the user's
/// machine), else `web`.
pub(super) fn application_type(redirect_uri: &url::Url) -> &'static str {
    let loopback = redirect_uri
        .host()
        .is_some_and(|h| crate::net::addr::host_is_loopback(&h));
    if !matches!(redirect_uri.scheme(), "http" | "https") || loopback {
        "native"
    } else {
        "web"
    }
}

/// PKCE values and the authorize URL of one authorization.
pub(super) struct Pkce {
    pub verifier: PkceVerifier,
    pub state: String,
    pub url: url::Url,
}

impl Walk<'_> {
    /// Step 4: DCR, a pre-registered client, or a CIMD URL.
    pub(super) async fn register(&mut self) -> Result<bool, Stop> {
        let mut step = self.step(StepKind::Registration);
        let redirect = self.redirect_uri_for_registration().await?;
        match self.opts.client.clone() {
            ClientChoice::Preregistered {
                client_id,
                client_secret,
                auth_method,
            } => {
                step.notes
                    .push(format!("pre-registered client {client_id}"));
                if let Some(s) = &client_secret {
                    self.secret(s.expose());
                    self.client_secret = Some(ClientSecret::new(s.expose()));
                    self.auth_method = auth_method.or_else(|| Some(self.pick_secret_method()));
                    step.notes.push(format!(
                        "client authentication: {}",
                        self.auth_method.as_deref().unwrap_or_default()
                    ));
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
                            uris.iter().any(|u| {
                                crate::client_metadata::redirect_uri_matches(u, redirect.as_str())
                            }),
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
                    "application_type": application_type(&redirect),
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
                        return Err(Stop(e.to_string()));
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
                    self.secret(secret);
                    self.client_secret = Some(ClientSecret::new(secret));
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
        self.discovered
            .as_ref()
            .map(|d| crate::oauth::registration::secret_method(&d.metadata))
            .unwrap_or(ClientAuthMethod::ClientSecretBasic)
            .as_str()
            .to_string()
    }

    /// Step 5: PKCE (RFC 7636 S256), state, and the authorize URL.
    pub(super) fn authorize_url(&mut self) -> Result<Option<Pkce>, Stop> {
        let mut step = self.step(StepKind::AuthorizeUrl);
        let pkce = self.new_pkce(None);
        match pkce {
            Some(p) => {
                let verifier = p.verifier.secret();
                step.check(
                    "code_verifier is 43–128 characters of [A-Za-z0-9-._~]",
                    (43..=128).contains(&verifier.len()),
                    Some(format!("{} characters", verifier.len())),
                );
                step.check(
                    "code_challenge_method S256",
                    true,
                    Some(format!(
                        "code_challenge {}",
                        crate::crypto::pkce_s256(verifier)
                    )),
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
        let endpoint = url::Url::parse(&endpoint).ok()?;
        let verifier = crate::crypto::new_pkce_verifier();
        let mut state_bytes = [0u8; 16];
        rand::fill(&mut state_bytes[..]);
        let state: String = state_bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.secret(verifier.secret());
        let client_id = client_id.or(self.client_id.as_deref())?;
        let redirect = self.redirect_uri.as_ref()?;
        let resource = self.resource_param();
        let url = AuthorizationRequest {
            client_id,
            redirect_uri: redirect.as_str(),
            verifier: &verifier,
            state: &state,
            scope: self.scope.as_deref(),
            resource: resource.as_deref(),
            prompt: None,
        }
        .url(endpoint);
        Some(Pkce {
            verifier,
            state,
            url,
        })
    }
}

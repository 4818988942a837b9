//! Steps 1–3 of SPEC §9: the unauthenticated probe and the discovery of the protected resource
//! and authorization server metadata (through the shared [`crate::oauth::discovery`], D15),
//! each answer checked and, when wrong, explained (§12).

use super::transcript::{Exchange, Request, Response, StepKind, StepRecord};
use super::{ClientChoice, Stop, Walk, str_field};
use crate::net::outbound::Guard;
use crate::oauth::discovery::{
    self, BearerChallenge, DiscoveryError, DiscoveryInput, Era, ProbeResult, Protocol, Step,
};

impl Walk<'_> {
    /// Step 1, the unauthenticated first contact (D19), in the era of `--protocol` (`auto`:
    /// `server/discover`, then `initialize` when the server does not speak 2026-07-28).
    /// `Some(challenge)` when the server asks for OAuth and the walk can go on.
    pub(super) async fn probe(&mut self) -> Result<Option<Option<BearerChallenge>>, Stop> {
        let mut step = self.step(StepKind::Probe);
        let result = discovery::probe_as(
            &self.http,
            &self.opts.mcp_url,
            Guard::Trusted,
            self.limits,
            self.opts.protocol,
        )
        .await;
        let p = match result {
            Ok(p) => p,
            Err(e) => {
                // the eras of the requests made: auto falls back from server/discover
                let eras = match self.opts.protocol {
                    Protocol::Session => vec![Era::Session],
                    Protocol::Modern => vec![Era::Modern],
                    Protocol::Auto => vec![Era::Modern, Era::Session],
                };
                for (a, era) in e.attempts().iter().zip(eras) {
                    step.exchanges.push(Exchange {
                        request: super::record_request(&discovery::first_contact(
                            &self.opts.mcp_url,
                            era,
                        )),
                        response: a.status.map(|status| Response {
                            status,
                            headers: Vec::new(),
                            body: None,
                        }),
                        error: a.status.is_none().then(|| e.to_string()),
                        note: None,
                    });
                }
                step.fail(
                    "Nothing answered at the MCP URL. Is the gateway running (mcpgw dev), and are the \
                     host, port and route right?",
                );
                self.finish(step);
                return Err(Stop(e.to_string()));
            }
        };
        if let Some(first) = &p.fell_back_from {
            step.exchanges.push(self.probe_exchange(first));
            step.notes.push(first.attempt.outcome.clone());
        }
        step.exchanges.push(self.probe_exchange(&p));
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
            (s, _) if unsupported_era(&p).is_some() => {
                step.check(
                    "401 with a Bearer challenge",
                    false,
                    Some(format!("got {s}")),
                );
                step.fail(format!(
                    "{s}: the server does not speak {} ({}). Run the walk with --protocol auto.",
                    p.era,
                    unsupported_era(&p).unwrap_or_default()
                ));
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

    /// A probe request and its answer, as a recorded exchange.
    fn probe_exchange(&self, p: &ProbeResult) -> Exchange {
        let mut headers: Vec<(String, String)> = p
            .www_authenticate
            .iter()
            .map(|v| ("www-authenticate".to_string(), v.clone()))
            .collect();
        if let Some(ct) = &p.content_type {
            headers.push(("content-type".into(), ct.clone()));
        }
        Exchange {
            request: super::record_request(&discovery::first_contact(&self.opts.mcp_url, p.era)),
            response: Some(Response {
                status: p.status,
                headers,
                body: p.response.clone(),
            }),
            error: None,
            note: (p.fell_back_from.is_some() || p.attempt.outcome.contains("falling back"))
                .then(|| p.era.first_method().to_string()),
        }
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
                    .is_some_and(|h| crate::net::addr::host_is_loopback(&h))
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
}

/// Why a first contact says the server does not speak the probe's era: a JSON-RPC
/// unsupported-version error (-32022, with the versions it supports) or, for `initialize`, a
/// method-not-found. `None` for any other answer.
fn unsupported_era(p: &ProbeResult) -> Option<String> {
    let e = p.response.as_ref()?.get("error")?;
    let code = e.get("code").and_then(serde_json::Value::as_i64)?;
    match code {
        -32022 => Some(
            match e.pointer("/data/supported").and_then(|s| s.as_array()) {
                Some(s) => format!(
                    "-32022, it supports {}",
                    s.iter()
                        .filter_map(serde_json::Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "-32022 unsupported protocol version".into(),
            },
        ),
        -32601 => Some(format!(
            "-32601: {} is not a method there",
            p.era.first_method()
        )),
        _ => None,
    }
}

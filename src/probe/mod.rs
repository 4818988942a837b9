//! `mcpgw upstream probe` as a library: the unauthenticated first contact and the discovery
//! (both from [`super::discovery`]), then a verdict on whether the upstream can work behind the
//! gateway and a ready-to-paste `mcp-token-exchange-inbound` policy and McpProxyHandler route
//! (SPEC §1.5, §2.5, §6.3–§6.5, §12). Rendering is the CLI's job (`src/cli/probe.rs`).

use crate::net::outbound::{self, Guard, Limits, OutboundRequest};
use crate::oauth::discovery::{
    self, Attempt, Discovered, DiscoveryError, DiscoveryInput, Era, ProbeResult, Protocol,
};
use crate::oauth::registration::{self, Registration as Chosen};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub url: Url,
    /// `--scope`: explicit scopes for the policy (space-separated).
    pub scope: Option<String>,
    /// Per request.
    pub timeout: Duration,
    /// Upstream id for the policy name and route (default: from the host name).
    pub id: Option<String>,
    /// The project's MCP OAuth policy, first in the route's inbound list.
    pub oauth_policy: String,
    /// `--protocol`: the revision of the first contact (`auto`: `server/discover`, then
    /// `initialize` when the upstream does not speak 2026-07-28).
    pub protocol: Protocol,
}

/// How the probe ended; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// OAuth upstream with a working configuration (exit 0).
    Works,
    /// Open upstream: a plain route is enough (exit 0).
    NoAuthNeeded,
    /// The upstream cannot work behind the gateway as it is (exit 1).
    CannotWork,
    /// The upstream or its authorization server could not be reached (exit 2).
    Unreachable,
}

impl ProbeOutcome {
    pub fn exit_code(self) -> u8 {
        match self {
            ProbeOutcome::Works | ProbeOutcome::NoAuthNeeded => 0,
            ProbeOutcome::CannotWork => 1,
            ProbeOutcome::Unreachable => 2,
        }
    }
}

/// How the gateway would register itself as a client at the upstream's AS (§6.4): what
/// [`crate::oauth::registration::choose`] picks on an https and on an http gateway origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Client ID Metadata Document, and DCR as the fallback on http origins.
    CimdAndDcr,
    /// CIMD only: works only when the gateway's public origin is https.
    Cimd,
    /// RFC 7591 dynamic client registration.
    Dcr,
    /// Neither: a client registered by hand (`clientRegistration.mode: manual`).
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeSource {
    /// `--scope`.
    Option,
    /// The `scope` of the upstream's `WWW-Authenticate` challenge.
    Challenge,
    /// PRM `scopes_supported`.
    ProtectedResourceMetadata,
}

/// The findings, field by field (every field is `None` where the probe did not get that far).
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub outcome: ProbeOutcome,
    /// One sentence.
    pub summary: String,
    pub auth_required: Option<bool>,
    /// The protocol era the upstream answered in without a token (`None` when it asked for a
    /// token first: the era then shows only with one).
    pub protocol: Option<Era>,
    pub prm_url: Option<String>,
    pub prm_needs_explicit_url: Option<bool>,
    pub authorization_server: Option<String>,
    pub metadata_url: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
    pub pkce_s256: Option<bool>,
    pub cimd_supported: Option<bool>,
    pub dcr_supported: Option<bool>,
    pub registration: Option<Registration>,
    pub scopes: Option<String>,
    pub scope_source: Option<ScopeSource>,
    pub refresh_tokens: Option<bool>,
    pub resource: Option<String>,
    pub resource_matches_url: Option<bool>,
    /// Why it cannot work (non-empty exactly when the outcome is not a success).
    pub problems: Vec<String>,
    /// What works but needs attention.
    pub warnings: Vec<String>,
}

/// The configuration to paste.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub upstream_id: String,
    /// Entry of `config/policies.json` `policies` (absent for an open upstream).
    pub policy: Option<Value>,
    /// Key and value of `config/routes.oas.json` `paths`.
    pub route_path: String,
    pub route: Value,
    /// Environment variables the policy reads (`$env(...)`), for manual registration.
    pub env: Vec<String>,
    /// The redirect URI to register at the upstream's AS for `mcpgw dev` on its defaults.
    pub redirect_uri: Option<String>,
}

/// Everything the probe did and concluded; `--json` prints it as is.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub url: String,
    pub steps: Vec<Attempt>,
    pub probe: Option<ProbeResult>,
    pub discovery: Option<Discovered>,
    pub verdict: Verdict,
    pub suggestion: Option<Suggestion>,
    pub exit_code: u8,
}

/// Which phase is running, for a spinner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Probe,
    Discovery,
}

/// Runs the probe. Never fails: what went wrong is in the verdict.
pub async fn run(opts: &ProbeOptions, mut progress: impl FnMut(Phase)) -> Report {
    let http = outbound::client();
    let limits = Limits::UPSTREAM_OAUTH.with_timeout(opts.timeout);
    let guard = Guard::Trusted;
    let mut v = Verdict::new();
    progress(Phase::Probe);
    let probed = discovery::probe_as(&http, &opts.url, guard, limits, opts.protocol).await;
    let probe = match probed {
        Ok(p) => p,
        Err(e) => {
            v.outcome = ProbeOutcome::Unreachable;
            v.summary = e.to_string();
            v.problems.push(v.summary.clone());
            return finish(opts, e.attempts().to_vec(), None, None, v, None);
        }
    };
    let mut steps = probe.attempts();
    end_session(&http, &opts.url, &probe, limits).await;
    v.protocol = probe.server_era();
    let method = probe.era.first_method();

    let rpc_error = probe
        .response
        .as_ref()
        .and_then(|r| r.get("error"))
        .filter(|e| e.is_object());
    // -32022: the upstream does not speak the era asked for (`--protocol`), which says
    // nothing about its auth: nothing to conclude until the probe speaks its revision
    if let Some(supported) = rpc_error
        .filter(|e| e.get("code").and_then(Value::as_i64) == Some(-32022))
        .map(|e| {
            e.pointer("/data/supported")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|| "another revision".into())
        })
    {
        v.outcome = ProbeOutcome::CannotWork;
        v.summary = format!(
            "the upstream does not speak {} (it supports {supported}), so the probe cannot tell what it needs: run it with --protocol auto",
            probe.era
        );
        v.problems.push(v.summary.clone());
        return finish(opts, steps, Some(probe), None, v, None);
    }
    match probe.status {
        // a JSON-RPC error at 400 means the request was read without a token (a server that
        // only speaks another protocol era, for instance)
        s @ (200..=299 | 400) if s != 400 || rpc_error.is_some() => {
            v.outcome = ProbeOutcome::NoAuthNeeded;
            v.auth_required = Some(false);
            v.summary = format!("no auth needed: the upstream answered {method} without a token");
            if let Some(e) = rpc_error {
                v.warnings.push(format!(
                    "the upstream answered {method} with JSON-RPC error {} ({}); the gateway passes MCP messages through whatever their protocol version",
                    e.get("code").map(Value::to_string).unwrap_or_default(),
                    e.get("message").and_then(Value::as_str).unwrap_or("no message"),
                ));
            } else if probe.response.is_none() {
                v.warnings.push(
                    "the answer was not a JSON-RPC message (is this an MCP endpoint?)".into(),
                );
            }
            let suggestion = Some(suggest(opts, &probe, None, &v));
            return finish(opts, steps, Some(probe), None, v, suggestion);
        }
        401 | 403 => {
            v.auth_required = Some(true);
            if probe.challenge.is_none() {
                v.warnings.push(format!(
                    "the {} carries no `WWW-Authenticate: Bearer` challenge (RFC 6750); discovery falls back to the well-known URLs",
                    probe.status
                ));
            }
        }
        status => {
            v.outcome = ProbeOutcome::CannotWork;
            v.summary = match status {
                300..=399 => format!(
                    "the upstream answered {status} (a redirect{}); use the final URL: the gateway does not follow redirects for MCP requests",
                    location(&probe)
                ),
                404 => "the upstream answered 404: there is no MCP endpoint at this URL (check the path)".into(),
                405 => "the upstream answered 405 to POST: it is not a Streamable HTTP MCP endpoint (an SSE-only server, or the wrong path)".into(),
                s if s >= 500 => format!("the upstream answered {s}: a server error, try again or ask its operator"),
                s => format!("the upstream answered {s} to an unauthenticated {method}, neither success nor 401"),
            };
            v.problems.push(v.summary.clone());
            return finish(opts, steps, Some(probe), None, v, None);
        }
    }

    progress(Phase::Discovery);
    let input = DiscoveryInput {
        mcp_url: opts.url.clone(),
        prm_url: None,
        challenge: probe.challenge.clone(),
    };
    let discovered = match discovery::discover(&http, input, guard, limits).await {
        Ok(d) => d,
        Err(e) => {
            steps.extend(e.attempts().iter().cloned());
            v.outcome = match e {
                DiscoveryError::Network { .. } => ProbeOutcome::Unreachable,
                _ => ProbeOutcome::CannotWork,
            };
            v.summary = match &e {
                DiscoveryError::NoAuthorizationServerMetadata { .. } => format!(
                    "{e}: the gateway cannot find where to send users (upstream_oauth_discovery_unavailable)"
                ),
                DiscoveryError::IssuerMismatch { .. } => format!(
                    "{e}: the gateway refuses metadata whose issuer differs (a proxy rewriting Host?)"
                ),
                _ => e.to_string(),
            };
            v.problems.push(v.summary.clone());
            return finish(opts, steps, Some(probe), None, v, None);
        }
    };
    steps.extend(discovered.attempts.iter().cloned());
    judge(opts, &discovered, &mut v);
    let suggestion =
        (v.outcome == ProbeOutcome::Works).then(|| suggest(opts, &probe, Some(&discovered), &v));
    finish(opts, steps, Some(probe), Some(discovered), v, suggestion)
}

impl Verdict {
    fn new() -> Self {
        Verdict {
            outcome: ProbeOutcome::Works,
            summary: String::new(),
            auth_required: None,
            protocol: None,
            prm_url: None,
            prm_needs_explicit_url: None,
            authorization_server: None,
            metadata_url: None,
            authorization_endpoint: None,
            token_endpoint: None,
            registration_endpoint: None,
            pkce_s256: None,
            cimd_supported: None,
            dcr_supported: None,
            registration: None,
            scopes: None,
            scope_source: None,
            refresh_tokens: None,
            resource: None,
            resource_matches_url: None,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

fn finish(
    opts: &ProbeOptions,
    steps: Vec<Attempt>,
    probe: Option<ProbeResult>,
    discovery: Option<Discovered>,
    verdict: Verdict,
    suggestion: Option<Suggestion>,
) -> Report {
    Report {
        url: opts.url.to_string(),
        steps,
        probe,
        discovery,
        exit_code: verdict.outcome.exit_code(),
        verdict,
        suggestion,
    }
}

fn location(probe: &ProbeResult) -> String {
    probe
        .location
        .as_deref()
        .map(|l| format!(" to {l}"))
        .unwrap_or_default()
}

/// An open server gave the probe a session (2025-11-25): end it, as a well-behaved client does.
async fn end_session(http: &reqwest::Client, url: &Url, probe: &ProbeResult, limits: Limits) {
    let Some(id) = probe
        .session_id
        .as_ref()
        .filter(|_| probe.era == Era::Session)
    else {
        return;
    };
    // built from a constructor so that fields added to OutboundRequest keep their defaults
    let mut req = OutboundRequest::get(url.clone())
        .header("mcp-session-id", id.clone())
        .header("mcp-protocol-version", discovery::PROTOCOL_VERSION);
    req.method = reqwest::Method::DELETE;
    let _ = outbound::fetch(http, req, limits, Guard::Trusted).await;
}

/// The verdict on a completed discovery.
fn judge(opts: &ProbeOptions, d: &Discovered, v: &mut Verdict) {
    let m = &d.metadata;
    v.prm_url = d.prm_url.as_ref().map(Url::to_string);
    v.prm_needs_explicit_url = Some(d.prm_needs_explicit_url);
    v.authorization_server = Some(m.issuer.clone());
    v.metadata_url = Some(d.metadata_url.to_string());
    v.authorization_endpoint = m.authorization_endpoint.clone();
    v.token_endpoint = m.token_endpoint.clone();
    v.registration_endpoint = m.registration_endpoint.clone();
    v.pkce_s256 = Some(d.supports_s256());
    v.cimd_supported = Some(d.supports_cimd());
    v.dcr_supported = Some(d.supports_dcr());
    v.resource = d.resource.clone();
    v.resource_matches_url = d.resource.as_ref().map(|_| d.resource_matches_url);

    if d.prm.is_none() {
        v.warnings.push(
            "no protected resource metadata (RFC 9728) was found: the authorization server is assumed at the upstream's origin and no `resource` is sent (2025-03-26 style)"
                .into(),
        );
    }
    if m.authorization_endpoint.is_none() {
        v.problems
            .push("the authorization server metadata has no authorization_endpoint".into());
    }
    if m.token_endpoint.is_none() {
        v.problems
            .push("the authorization server metadata has no token_endpoint".into());
    }
    if !m.grant_types_supported.is_empty()
        && !m
            .grant_types_supported
            .iter()
            .any(|g| g == "authorization_code")
    {
        v.problems.push(format!(
            "the authorization server does not offer the authorization_code grant (grant_types_supported: {})",
            m.grant_types_supported.join(", ")
        ));
    }
    if m.code_challenge_methods_supported.is_empty() {
        v.warnings.push(
            "the authorization server does not advertise code_challenge_methods_supported; the gateway sends PKCE S256 anyway, but strict MCP clients refuse such a server"
                .into(),
        );
    } else if !d.supports_s256() {
        v.problems.push(format!(
            "the authorization server does not support PKCE S256 (only {}), which the gateway always uses",
            m.code_challenge_methods_supported.join(", ")
        ));
    }

    // the gateway's origin is not known here: the choice on an https and on an http origin
    let auto = |https| registration::choose(d, registration::Mode::Auto, https).registration;
    v.registration = Some(match (auto(true), auto(false)) {
        (Chosen::Cimd, Chosen::Dcr(_)) => Registration::CimdAndDcr,
        (Chosen::Cimd, _) => {
            v.warnings.push(
                "the authorization server takes Client ID Metadata Documents but has no DCR: this works only when the gateway's public origin is https (mcpgw dev on http gets upstream_client_registration_required; use manual registration there)"
                    .into(),
            );
            Registration::Cimd
        }
        (Chosen::Dcr(_), _) => Registration::Dcr,
        _ => Registration::Manual,
    });

    v.refresh_tokens = if m.grant_types_supported.is_empty() {
        None
    } else {
        Some(m.grant_types_supported.iter().any(|g| g == "refresh_token"))
    };
    if v.refresh_tokens == Some(false) {
        v.warnings.push(
            "no refresh_token grant: users must connect again each time the upstream token expires"
                .into(),
        );
    }

    if let Some(s) = opts
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        v.scopes = Some(s.to_string());
        v.scope_source = Some(ScopeSource::Option);
    } else if let Some(s) = d.default_scope() {
        let from_challenge = d
            .challenge_scope
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty());
        v.scopes = Some(s);
        v.scope_source = Some(if from_challenge {
            ScopeSource::Challenge
        } else {
            ScopeSource::ProtectedResourceMetadata
        });
    } else {
        let hint = if m.scopes_supported.is_empty() {
            String::new()
        } else {
            format!(
                " (the authorization server knows: {})",
                m.scopes_supported.join(" ")
            )
        };
        v.warnings.push(format!(
            "neither the challenge nor the PRM names a scope, so the gateway asks for none; pass --scope if the upstream needs one{hint}"
        ));
    }

    // RFC 9728 §3.3: the gateway's upstream client stops on a PRM for another resource, as
    // the MCP SDK clients do
    if let Some(r) = &d.resource
        && !d.resource_matches_url
    {
        v.problems.push(format!(
            "the PRM resource {r} does not name {} (RFC 9728 §3.3; allowed differences: {}), so the gateway refuses to authorize (upstream_resource_mismatch); localhost vs 127.0.0.1? configure the route with the URL the PRM names",
            opts.url,
            crate::oauth::discovery::RESOURCE_NORMALISATION
        ));
    }

    if v.problems.is_empty() {
        v.outcome = ProbeOutcome::Works;
        v.summary = match v.registration {
            Some(Registration::Manual) => "works behind the gateway with a client registered by hand (the authorization server has neither CIMD nor DCR)".into(),
            _ => "works behind the gateway with the configuration below".into(),
        };
    } else {
        v.outcome = ProbeOutcome::CannotWork;
        v.summary = format!("cannot work behind the gateway: {}", v.problems.join("; "));
    }
}

/// The upstream id: `--id`, else the distinctive label of the host name (`mcp.linear.app` →
/// `linear`), else `upstream` (IP addresses, localhost).
pub fn upstream_id(url: &Url, explicit: Option<&str>) -> String {
    if let Some(id) = explicit {
        return sanitize(id);
    }
    let label = match url.host() {
        Some(url::Host::Domain(d)) if !d.eq_ignore_ascii_case("localhost") => {
            let labels: Vec<&str> = d.split('.').collect();
            let without_tld = &labels[..labels.len().saturating_sub(1).max(1)];
            without_tld
                .iter()
                .rev()
                .find(|l| {
                    !matches!(
                        l.to_ascii_lowercase().as_str(),
                        "mcp" | "www" | "api" | "app" | "co"
                    )
                })
                .or(without_tld.first())
                .map(|l| l.to_string())
        }
        _ => None,
    };
    sanitize(label.as_deref().unwrap_or("upstream"))
}

fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "upstream".into()
    } else {
        out
    }
}

fn display_name(id: &str, probe: &ProbeResult, d: Option<&Discovered>) -> String {
    let from_prm = d
        .and_then(|d| d.prm.as_ref())
        .and_then(|p| p.resource_name.clone());
    let from_server = probe
        .server_info()
        .and_then(|i| i.get("title").or_else(|| i.get("name")))
        .and_then(Value::as_str)
        .map(str::to_string);
    from_prm
        .or(from_server)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| {
            let mut c = id.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        })
}

/// The policy and route to paste (§1.5 conventions: `/mcp/<id>-v1`, `<id>-mcp-server`,
/// `mcp-token-exchange-<id>`).
fn suggest(
    opts: &ProbeOptions,
    probe: &ProbeResult,
    d: Option<&Discovered>,
    v: &Verdict,
) -> Suggestion {
    let id = upstream_id(&opts.url, opts.id.as_deref());
    let policy_name = format!("mcp-token-exchange-{id}");
    let display = display_name(&id, probe, d);
    let mut inbound = vec![opts.oauth_policy.clone()];
    let mut env = Vec::new();
    let mut redirect_uri = None;
    let policy = d.map(|d| {
        let mut options = serde_json::Map::new();
        options.insert("displayName".into(), json!(display));
        options.insert("authMode".into(), json!("user-oauth"));
        if d.prm_needs_explicit_url
            && let Some(u) = &d.prm_url
        {
            options.insert("protectedResourceMetadataUrl".into(), json!(u.as_str()));
        }
        if v.scope_source == Some(ScopeSource::Option)
            && let Some(s) = &v.scopes
        {
            options.insert(
                "scopes".into(),
                json!(s.split_whitespace().collect::<Vec<_>>()),
            );
        }
        if v.registration == Some(Registration::Manual) {
            let prefix = id.to_ascii_uppercase().replace('-', "_");
            let (cid, secret) = (
                format!("{prefix}_CLIENT_ID"),
                format!("{prefix}_CLIENT_SECRET"),
            );
            options.insert(
                "clientRegistration".into(),
                json!({
                    "mode": "manual",
                    "clientId": format!("$env({cid})"),
                    "clientSecret": format!("$env({secret})"),
                    "tokenEndpointAuthMethod": manual_auth_method(d),
                }),
            );
            env = vec![cid, secret];
            redirect_uri = Some(format!(
                "http://localhost:9000/__zuplo/auth/connections/{id}/callback"
            ));
        }
        inbound.push(policy_name.clone());
        json!({
            "name": policy_name,
            "policyType": "mcp-token-exchange-inbound",
            "handler": {
                "export": "McpTokenExchangeInboundPolicy",
                "module": "$import(@zuplo/runtime/mcp-gateway)",
                "options": Value::Object(options),
            }
        })
    });
    let route = json!({
        "get,post": {
            "operationId": format!("{id}-mcp-server"),
            "summary": display,
            "x-zuplo-route": {
                "corsPolicy": "none",
                "handler": {
                    "export": "McpProxyHandler",
                    "module": "$import(@zuplo/runtime/mcp-gateway)",
                    "options": { "rewritePattern": opts.url.as_str() },
                },
                "policies": { "inbound": inbound },
            }
        }
    });
    Suggestion {
        upstream_id: id.clone(),
        policy,
        route_path: format!("/mcp/{id}-v1"),
        route,
        env,
        redirect_uri,
    }
}

/// For a hand-registered client: `client_secret_basic` (the policy's default) unless the AS
/// only takes `client_secret_post`.
fn manual_auth_method(d: &Discovered) -> &'static str {
    registration::secret_method(&d.metadata).as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use discovery::{DiscoverVerdict, classify_discover};

    /// The `auto` negotiation the probe and the walk share, case by case (the TypeScript SDK
    /// v2 client's probe classifier).
    #[test]
    fn which_server_discover_answers_fall_back_to_initialize() {
        let modern = |s, b: Value| classify_discover(s, Some(&b));
        let rpc = |code: i64, data: Value| json!({"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": "m", "data": data}});
        assert_eq!(
            modern(
                200,
                json!({"jsonrpc": "2.0", "id": 1, "result": {"supportedVersions": ["2026-07-28"], "capabilities": {}}})
            ),
            DiscoverVerdict::Modern
        );
        for (status, body) in [
            // a result that is not a discover result, or lacks the revision
            (200, json!({"jsonrpc": "2.0", "id": 1, "result": {}})),
            (
                200,
                json!({"jsonrpc": "2.0", "id": 1, "result": {"supportedVersions": ["2026-07-28"]}}),
            ),
            (
                200,
                json!({"jsonrpc": "2.0", "id": 1, "result": {"supportedVersions": ["2025-11-25"], "capabilities": {}}}),
            ),
            // method not found, a session-era server's "not initialized", at 200 or 4xx
            (200, rpc(-32601, Value::Null)),
            (400, rpc(-32000, Value::Null)),
            (404, rpc(-32601, Value::Null)),
            // unsupported version naming only session-era revisions, or none
            (
                400,
                rpc(-32022, json!({"supported": ["2025-11-25", "2025-06-18"]})),
            ),
            (400, rpc(-32022, Value::Null)),
            // header mismatch is no era evidence: the conservative default
            (400, rpc(-32020, Value::Null)),
        ] {
            assert!(
                matches!(modern(status, body.clone()), DiscoverVerdict::FallBack(_)),
                "{status} {body}"
            );
        }
        // a 4xx without a JSON-RPC body falls back too
        assert!(matches!(
            classify_discover(404, None),
            DiscoverVerdict::FallBack(_)
        ));
        // no era evidence: authorize first, server errors, redirects, bodies that are not JSON-RPC,
        // and a server that speaks only other 2026-era revisions
        for (status, body) in [
            (401, None),
            (403, None),
            (500, Some(rpc(-32603, Value::Null))),
            (302, None),
            (200, None),
            (400, Some(rpc(-32022, json!({"supported": ["2027-01-01"]})))),
        ] {
            assert_eq!(
                classify_discover(status, body.as_ref()),
                DiscoverVerdict::Stands,
                "{status} {body:?}"
            );
        }
    }

    /// The 2026-07-28 request the probe and the walk write: the `_meta` envelope and the
    /// headers that mirror the body; nothing of it in 2025-11-25.
    #[test]
    fn modern_requests_carry_the_envelope_and_the_mirrored_headers() {
        let url = Url::parse("http://127.0.0.1:1/mcp").unwrap();
        let header = |r: &OutboundRequest, k: &str| {
            r.headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let call = discovery::mcp_request(
            Era::Modern,
            7,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "x"}}),
        );
        assert_eq!(
            call["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        assert!(call["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"].is_object());
        assert_eq!(call["params"]["name"], "echo");
        let req = discovery::mcp_post(&url, Era::Modern, &call);
        assert_eq!(
            header(&req, "mcp-protocol-version").as_deref(),
            Some("2026-07-28")
        );
        assert_eq!(header(&req, "mcp-method").as_deref(), Some("tools/call"));
        assert_eq!(header(&req, "mcp-name").as_deref(), Some("echo"));
        // a name a header cannot carry as is
        let read = discovery::mcp_request(
            Era::Modern,
            8,
            "resources/read",
            json!({"uri": "file:///tmp/é"}),
        );
        let name = header(&discovery::mcp_post(&url, Era::Modern, &read), "mcp-name").unwrap();
        assert!(
            name.starts_with("=?base64?") && name.ends_with("?="),
            "{name}"
        );
        // lists name nothing
        let list = discovery::mcp_request(Era::Modern, 9, "tools/list", Value::Null);
        assert_eq!(
            header(&discovery::mcp_post(&url, Era::Modern, &list), "mcp-name"),
            None
        );
        // 2025-11-25: no envelope, no Mcp-Method, the old version header
        let old = discovery::mcp_request(Era::Session, 2, "tools/list", Value::Null);
        assert_eq!(
            old,
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        );
        let req = discovery::mcp_post(&url, Era::Session, &old);
        assert_eq!(header(&req, "mcp-method"), None);
        assert_eq!(
            header(&req, "mcp-protocol-version").as_deref(),
            Some("2025-11-25")
        );
    }

    #[test]
    fn upstream_ids_from_host_names() {
        let id = |u: &str| upstream_id(&Url::parse(u).unwrap(), None);
        assert_eq!(id("https://mcp.linear.app/mcp"), "linear");
        assert_eq!(id("https://api.githubcopilot.com/mcp/"), "githubcopilot");
        assert_eq!(id("https://mcp.notion.com/mcp"), "notion");
        assert_eq!(id("https://example.com/mcp"), "example");
        assert_eq!(id("http://127.0.0.1:9001/mcp"), "upstream");
        assert_eq!(id("http://localhost:9001/mcp"), "upstream");
        assert_eq!(id("http://myhost:9001/mcp"), "myhost");
        assert_eq!(
            upstream_id(&Url::parse("http://x/").unwrap(), Some("My Server_2")),
            "my-server-2"
        );
    }
}

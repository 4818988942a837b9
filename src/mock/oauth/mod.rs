//! `mcpgw upstream mock --oauth`: the mock MCP server behind its own OAuth 2.1 authorization
//! server, in the same process and on the same port, with switches for the variants that
//! `upstream probe` and the gateway's upstream OAuth client must handle.
//!
//! - `state`: clients, codes and tokens in memory, and the stats the hooks report.
//! - `authz`: the authorization server (RFC 8414 metadata, RFC 7591 DCR, authorize, token,
//!   revoke).
//! - `guard`: the resource server side: PRM (RFC 9728), the bearer check in front of `/mcp`,
//!   per-tool scopes (403 `insufficient_scope`).
//! - `hooks`: loopback-only test hooks under `/__mock/`.

mod authz;
mod guard;
mod hooks;
mod state;

use crate::secret::Secret;
use axum::Router;
use std::sync::{Arc, Mutex, MutexGuard};

/// The path of the MCP endpoint the authorization server protects.
const MCP_PATH: &str = "/mcp";
/// RFC 9728 PRM at the root of the origin.
pub const PRM_ROOT: &str = "/.well-known/oauth-protected-resource";
/// RFC 9728 PRM with the resource's path appended (the default location).
pub const PRM_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// Where the Protected Resource Metadata is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrmAt {
    /// `/.well-known/oauth-protected-resource/mcp`.
    #[default]
    Path,
    /// `/.well-known/oauth-protected-resource`.
    Root,
    /// Both locations.
    Both,
    /// Nowhere: clients fall back to the origin's AS metadata (2025-03-26 style).
    None,
}

impl PrmAt {
    pub fn as_str(self) -> &'static str {
        match self {
            PrmAt::Path => "path",
            PrmAt::Root => "root",
            PrmAt::Both => "both",
            PrmAt::None => "none",
        }
    }

    /// The paths PRM is served at, the preferred one first.
    pub fn paths(self) -> &'static [&'static str] {
        match self {
            PrmAt::Path => &[PRM_PATH],
            PrmAt::Root => &[PRM_ROOT],
            PrmAt::Both => &[PRM_PATH, PRM_ROOT],
            PrmAt::None => &[],
        }
    }
}

/// What the authorization server puts in `iss` (RFC 9207) on its redirects (`--iss`): the
/// hostile variants are for testing the clients that must check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssMode {
    /// The issuer, exactly as the metadata names it.
    #[default]
    Exact,
    /// No `iss`, although the metadata advertises `authorization_response_iss_parameter_supported`.
    Omit,
    /// The issuer with a `/` appended.
    TrailingSlash,
}

impl IssMode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssMode::Exact => "exact",
            IssMode::Omit => "omit",
            IssMode::TrailingSlash => "trailing-slash",
        }
    }
}

/// A client known before any registration (`--client-id`, `--client-secret`).
#[derive(Debug, Clone)]
pub struct PreRegisteredClient {
    pub id: String,
    /// With a secret the client is confidential (basic or post); without, public (`none`).
    pub secret: Option<Secret>,
}

/// The switches of `mcpgw upstream mock --oauth`.
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    pub prm_at: PrmAt,
    /// Put `resource_metadata="…"` in the 401 challenge (when PRM is served somewhere).
    pub resource_metadata_in_challenge: bool,
    /// Put `scope="…"` in the 401 challenge.
    pub challenge_scope: bool,
    /// Offer RFC 7591 dynamic client registration at `/register`.
    pub dcr: bool,
    /// Advertise and accept https Client ID Metadata Documents as client ids.
    pub cimd: bool,
    /// Issue refresh tokens (rotated on every use).
    pub refresh_tokens: bool,
    /// Access-token lifetime in seconds.
    pub token_ttl_secs: u64,
    /// The scope every MCP request needs (space-separated list).
    pub scope: String,
    /// Tools that need one more scope: `(tool, scope)`.
    pub tool_scopes: Vec<(String, String)>,
    pub client: Option<PreRegisteredClient>,
    /// DCR answers with this client authentication method whatever was asked for (a
    /// confidential client gets a secret), as some authorization servers do (SPEC D17).
    pub dcr_auth_method: Option<crate::client_metadata::ClientAuthMethod>,
    /// PRM names this `resource` instead of the mock's MCP URL (a PRM for another resource,
    /// which RFC 9728 §3.3 tells clients to refuse).
    pub prm_resource: Option<String>,
    /// `iss` on the authorization responses.
    pub iss: IssMode,
    /// The AS lists `offline_access` in its metadata's `scopes_supported` (the PRM does not) and
    /// grants it when asked.
    pub offline_access: bool,
    /// Scopes the AS never grants, even when asked (a user who declines a permission).
    pub withheld_scopes: Vec<String>,
    /// A 403 `insufficient_scope` names only the missing scope, not the token's own too (servers
    /// need not repeat granted scopes: the client keeps them).
    pub challenge_missing_scope_only: bool,
}

impl Default for OAuthOptions {
    fn default() -> Self {
        OAuthOptions {
            prm_at: PrmAt::Path,
            resource_metadata_in_challenge: true,
            challenge_scope: false,
            dcr: true,
            cimd: false,
            refresh_tokens: true,
            token_ttl_secs: 3600,
            scope: "mcp:tools".into(),
            tool_scopes: Vec::new(),
            client: None,
            dcr_auth_method: None,
            prm_resource: None,
            iss: IssMode::Exact,
            offline_access: false,
            withheld_scopes: Vec::new(),
            challenge_missing_scope_only: false,
        }
    }
}

impl OAuthOptions {
    /// The scopes every MCP request needs.
    pub fn required_scopes(&self) -> Vec<String> {
        split_scope(&self.scope)
    }

    /// The AS metadata's `scopes_supported`: [`Self::scopes_supported`], and `offline_access`
    /// with `--offline-access`.
    pub fn as_scopes_supported(&self) -> Vec<String> {
        let mut all = self.scopes_supported();
        if self.offline_access {
            all.push("offline_access".into());
        }
        all
    }

    /// Every scope the resource knows (PRM `scopes_supported`): the required ones, then the
    /// per-tool ones.
    pub fn scopes_supported(&self) -> Vec<String> {
        let mut all = self.required_scopes();
        for (_, s) in &self.tool_scopes {
            for s in split_scope(s) {
                if !all.contains(&s) {
                    all.push(s);
                }
            }
        }
        all
    }

    /// The switches in effect, one `--flag value` item each, for the startup print.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![
            format!("--prm-at {}", self.prm_at.as_str()),
            format!("--scope {}", self.scope),
            format!("--token-ttl {}", self.token_ttl_secs),
        ];
        let flags = [
            (
                !self.resource_metadata_in_challenge,
                "--no-resource-metadata",
            ),
            (self.challenge_scope, "--challenge-scope"),
            (!self.dcr, "--no-dcr"),
            (self.cimd, "--cimd"),
            (!self.refresh_tokens, "--no-refresh"),
            (self.offline_access, "--offline-access"),
            (
                self.challenge_missing_scope_only,
                "--challenge-missing-scope-only",
            ),
        ];
        out.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, f)| f.to_string()),
        );
        out.extend(
            self.tool_scopes
                .iter()
                .map(|(t, s)| format!("--tool-scope {t}={s}")),
        );
        out.extend(
            self.withheld_scopes
                .iter()
                .map(|s| format!("--withhold-scope {s}")),
        );
        if let Some(r) = &self.prm_resource {
            out.push(format!("--prm-resource {r}"));
        }
        if self.iss != IssMode::Exact {
            out.push(format!("--iss {}", self.iss.as_str()));
        }
        if let Some(c) = &self.client {
            out.push(format!(
                "--client-id {}{}",
                c.id,
                if c.secret.is_some() {
                    " --client-secret [redacted]"
                } else {
                    ""
                }
            ));
        }
        out
    }
}

/// A space-separated scope string as a list (empty items dropped).
pub fn split_scope(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// The URLs a protected mock answers at, derived from its origin (`http://127.0.0.1:PORT`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OAuthUrls {
    pub issuer: String,
    pub resource: String,
    pub authorization_server_metadata: String,
    /// The PRM URL named in challenges, when PRM is served.
    pub prm: Option<String>,
    pub registration_endpoint: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
}

impl OAuthUrls {
    pub fn new(origin: &str, opts: &OAuthOptions) -> Self {
        let origin = origin.trim_end_matches('/');
        OAuthUrls {
            issuer: origin.to_string(),
            resource: format!("{origin}{MCP_PATH}"),
            authorization_server_metadata: format!(
                "{origin}/.well-known/oauth-authorization-server"
            ),
            prm: opts.prm_at.paths().first().map(|p| format!("{origin}{p}")),
            registration_endpoint: opts.dcr.then(|| format!("{origin}/register")),
            authorization_endpoint: format!("{origin}/authorize"),
            token_endpoint: format!("{origin}/token"),
            revocation_endpoint: format!("{origin}/revoke"),
        }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub opts: OAuthOptions,
    pub urls: OAuthUrls,
    state: Mutex<state::State>,
    /// For CIMD fetches (never follows redirects by itself; see `net::outbound`).
    pub http: reqwest::Client,
}

impl Shared {
    /// The state; a poisoned lock still holds usable maps (no invariant spans a panic).
    pub fn state(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) type Mock = Arc<Shared>;

/// The protected mock: the MCP app behind the bearer check, plus the authorization server,
/// PRM and the test hooks. `origin` is how clients reach it, e.g. `http://127.0.0.1:9001`.
pub fn app(mcp: Router, origin: &str, opts: OAuthOptions) -> Router {
    let mut clients = std::collections::HashMap::new();
    if let Some(pre) = &opts.client {
        let known = authz::preregistered(pre);
        clients.insert(known.client.id.clone(), known);
    }
    let shared: Mock = Arc::new(Shared {
        urls: OAuthUrls::new(origin, &opts),
        opts,
        state: Mutex::new(state::State {
            clients,
            ..Default::default()
        }),
        http: crate::net::outbound::client(),
    });
    let protected = mcp.route_layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        guard::require_token,
    ));
    protected
        .merge(authz::routes(shared.clone()))
        .merge(guard::prm_routes(shared.clone()))
        .merge(hooks::routes(shared))
}

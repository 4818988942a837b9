//! The state of a running gateway, built by the composition root and shared by every request.
//!
//! Owns: [`Served`] (one validated project with its route table and per-policy state, swapped
//! whole on reload), [`AppState`] (the served snapshot, store, gateway secret, clock, token
//! cache, HTTP clients, upstream OAuth state) and the narrow contexts it hands to `authz` and
//! `upstream` ([`AppState::authz_env`], [`AppState::upstream_env`]), loading a project off the
//! runtime ([`load`]) and opening local state ([`open_state`]).

use super::ratelimit::RateLimiter;
use super::registry;
use super::router::RouteTable;
use crate::authz::DevLogin;
use crate::config::policies::PolicyConfig;
use crate::config::policies::capability_filter::CapabilityFilter;
use crate::diag::diagnostic::Severity;
use crate::store::keyfile::{self, GatewaySecret, KeySource};
use crate::store::sqlite::SqliteStore;
use crate::store::{AsyncStore, StoreError};
use crate::validate::{self, Report};
use crate::web::origin::OriginPolicy;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// One validated project, ready to serve. Replaced whole on reload.
pub struct Served {
    pub report: Report,
    pub table: RouteTable,
    /// Rate-limit state per policy index.
    pub limiters: HashMap<usize, RateLimiter>,
    /// Capability filters per policy index, shared with the response side.
    pub filters: HashMap<usize, Arc<CapabilityFilter>>,
    /// The project's errors (D10): while there are any nothing is served.
    pub errors: Vec<String>,
    /// Where the MCP server registry is mounted, when it is enabled.
    pub registry_mount: Option<String>,
    /// Rate-limit state of `rateLimitBy: "function"` policies, per (policy, requests allowed,
    /// window in ms): the function may return its own limits (§17.1).
    pub custom_limiters: std::sync::Mutex<HashMap<(usize, u64, u64), Arc<RateLimiter>>>,
    /// Whether this project needs the custom-code worker at all (routes, runtimeInit hooks):
    /// known per snapshot, so a request need not ask, and need not race the worker's start.
    pub needs_worker: bool,
}

impl Served {
    pub fn new(report: Report) -> Self {
        let errors: Vec<String> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                let (file, line, col) = report.project.sources.locate(d.span);
                format!("{file}:{line}:{col}: {} {}", d.rule.code, d.message)
            })
            .collect();
        let mut limiters = HashMap::new();
        let mut filters = HashMap::new();
        for (i, p) in report.model.policies.iter().enumerate() {
            match p {
                PolicyConfig::RateLimit(l) => {
                    // a fraction of a minute is allowed (issue #15); the bound keeps the
                    // limiter's window arithmetic far from overflow
                    let secs = (l.time_window_minutes * 60.0).clamp(0.0, 1e10);
                    let window = Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO);
                    limiters.insert(i, RateLimiter::new(l.requests_allowed, window));
                }
                PolicyConfig::CapabilityFilter(c) => {
                    filters.insert(i, Arc::new((**c).clone()));
                }
                _ => {}
            }
        }
        let registry_mount = registry::mount_path(&report.project);
        let needs_worker = super::custom::project_needs_worker(&report);
        Served {
            needs_worker,
            table: RouteTable::new(&report.project.routes),
            report,
            limiters,
            filters,
            registry_mount,
            errors,
            custom_limiters: Default::default(),
        }
    }
}

/// Shared by every request.
pub struct AppState {
    pub served: ArcSwap<Served>,
    /// Clients, grants, sessions and upstream connections (SQLite, off the runtime).
    pub store: AsyncStore,
    /// The gateway's own secret (`secret.key`): the root of signing and encryption keys.
    pub secret: Arc<GatewaySecret>,
    pub dev: DevLogin,
    /// Validated access tokens (cleared whenever a token may have been revoked).
    pub tokens: crate::authz::bearer::TokenCache,
    /// Expiry decisions of the authorization server use this clock (tests move it).
    pub clock: crate::clock::Clock,
    pub client: reqwest::Client,
    pub client_following: reqwest::Client,
    pub origin: OriginPolicy,
    /// Upstream OAuth: vault, signing key, discovery/registration cache, refresh locks.
    pub upstreams: crate::upstream::Upstreams,
    /// How long an upstream may take to answer (response headers) when the route sets no
    /// `requestTimeoutSeconds` (issue #13: no wait without a limit).
    pub upstream_timeout_secs: u64,
    /// How long a streamed upstream body (JSON or SSE) may send nothing before it is ended.
    pub upstream_idle_timeout_secs: u64,
    /// The JWT policies' key sets (per URL, kept across reloads) and, under `--local-idp`,
    /// mcpgw's local issuer (§16.2, §16.13).
    pub jwt: crate::policies::jwt::JwtRuntime,
    /// `upstream-oauth-client-credentials-inbound` tokens per policy (kept across reloads).
    pub client_credentials: crate::policies::client_credentials::TokenCache,
    /// Where `audit-log-inbound` records go: the dev log, and `--audit-log FILE`.
    pub audit: crate::policies::audit_log::AuditSink,
    /// Custom code (`modules/*.ts`) in the Node.js worker (§17.4).
    pub custom: super::custom::CustomState,
}

/// The default of [`AppState::upstream_idle_timeout_secs`] (`--upstream-idle-timeout`).
pub const DEFAULT_UPSTREAM_IDLE_TIMEOUT_SECS: u64 = 300;

/// The default of [`AppState::upstream_timeout_secs`] (`mcpgw dev --upstream-timeout`).
pub const DEFAULT_UPSTREAM_TIMEOUT_SECS: u64 = 60;

/// The default upstream connect timeout (`mcpgw dev --upstream-connect-timeout`).
pub const DEFAULT_UPSTREAM_CONNECT_TIMEOUT_SECS: u64 = 10;

/// The proxy's HTTP client: `follow` redirects or not, `connect` the connect timeout.
pub(crate) fn http_client(follow: bool, connect: Duration) -> reqwest::Client {
    let redirects = if follow {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .redirect(redirects)
        .connect_timeout(connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

impl AppState {
    pub fn new(
        served: Served,
        origin: OriginPolicy,
        store: AsyncStore,
        secret: GatewaySecret,
    ) -> Self {
        let upstreams = crate::upstream::Upstreams::new(&secret);
        AppState {
            served: ArcSwap::from_pointee(served),
            store,
            secret: Arc::new(secret),
            dev: DevLogin::default(),
            tokens: Default::default(),
            clock: Default::default(),
            client: http_client(
                false,
                Duration::from_secs(DEFAULT_UPSTREAM_CONNECT_TIMEOUT_SECS),
            ),
            client_following: http_client(
                true,
                Duration::from_secs(DEFAULT_UPSTREAM_CONNECT_TIMEOUT_SECS),
            ),
            upstream_timeout_secs: DEFAULT_UPSTREAM_TIMEOUT_SECS,
            upstream_idle_timeout_secs: DEFAULT_UPSTREAM_IDLE_TIMEOUT_SECS,
            upstreams,
            origin,
            jwt: Default::default(),
            client_credentials: Default::default(),
            audit: Default::default(),
            custom: Default::default(),
        }
    }
}

impl AppState {
    /// What the upstream side may use for a request served from `served`.
    pub fn upstream_env<'a>(&'a self, served: &'a Served) -> crate::upstream::Env<'a> {
        crate::upstream::Env {
            report: &served.report,
            store: &self.store,
            clock: &self.clock,
            origin: &self.origin,
            upstreams: &self.upstreams,
        }
    }

    /// What the authorization server may use for a request served from `served`.
    pub fn authz_env<'a>(&'a self, served: &'a Served) -> crate::authz::Env<'a> {
        crate::authz::Env {
            report: &served.report,
            store: &self.store,
            clock: &self.clock,
            secret: &self.secret,
            tokens: &self.tokens,
            dev: &self.dev,
            origin: &self.origin,
            http: &self.client,
            upstream: self.upstream_env(served),
        }
    }
}

/// Validates the project at `dir` off the async runtime.
pub async fn load(dir: PathBuf) -> Result<Report, crate::config::project::LoadError> {
    load_for(dir, false).await
}

/// [`load`], for `mcpgw dev --local-idp` when `local_idp` (D25 b).
pub async fn load_for(
    dir: PathBuf,
    local_idp: bool,
) -> Result<Report, crate::config::project::LoadError> {
    let options = validate::Options {
        process_env: true,
        baseline: None,
        local_idp,
        ..validate::Options::default()
    };
    match tokio::task::spawn_blocking(move || validate::validate_path(&dir, &options)).await {
        Ok(r) => r,
        Err(e) => Err(crate::config::project::LoadError::Io {
            path: PathBuf::from("."),
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

/// Local state opened for a run.
pub struct OpenedState {
    pub dir: PathBuf,
    pub store: AsyncStore,
    pub secret: GatewaySecret,
    pub key_source: KeySource,
    /// `state.db` was created by this run: empty state.
    pub db_created: bool,
    /// Upstream connections deleted because `--reset-secret-key` started over on purpose.
    pub dropped_connections: u64,
}

/// Opens (creating on first run) `state.db` and `secret.key` in the state folder `dir`, off
/// the runtime. A damaged database is refused with its path; a missing key next to upstream
/// connections sealed with it is refused (they would be lost without a word) unless
/// `reset_secret_key` says to start over, which deletes them.
pub async fn open_state(dir: PathBuf, reset_secret_key: bool) -> Result<OpenedState, StoreError> {
    let task_dir = dir.clone();
    let opened = tokio::task::spawn_blocking(move || {
        keyfile::ensure_state_dir(&task_dir)?;
        let db = keyfile::db_path(&task_dir);
        let store = SqliteStore::open(&db)?;
        let mut dropped = 0;
        if keyfile::secret_is_missing(&task_dir) && !store.created() {
            let sealed = store.sealed_connection_count()?;
            if sealed > 0 && !reset_secret_key {
                return Err(StoreError::KeyLostWithSealedConnections {
                    key: keyfile::key_path(&task_dir),
                    db,
                    connections: sealed,
                });
            }
            if sealed > 0 {
                dropped = store.drop_sealed_state()?;
            }
        }
        let (secret, source) = keyfile::load_gateway_secret(&task_dir)?;
        Ok::<_, StoreError>((secret, source, store, dropped))
    })
    .await
    .map_err(|e| StoreError::Worker(e.to_string()))??;
    let (secret, key_source, store, dropped_connections) = opened;
    Ok(OpenedState {
        dir,
        db_created: store.created(),
        store: AsyncStore::new(Arc::new(store)),
        secret,
        key_source,
        dropped_connections,
    })
}

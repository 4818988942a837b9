//! `mcpgw oauth walk`: the MCP OAuth flow of SPEC §9, step by step, as a careful curl session
//! would do it: probe → PRM → AS metadata → registration → PKCE/authorize URL → browser leg →
//! token → MCP (`server/discover` or `initialize`, then tools/list) → refresh → revoke, then the
//! `--check` negative checks. It speaks either MCP era (`--protocol`): 2026-07-28 (the `_meta`
//! envelope, `Mcp-Method` / `Mcp-Name`, no session) or 2025-11-25 (`initialize`, a session);
//! `auto` asks `server/discover` first and falls back the way the TypeScript SDK v2 client does
//! ([`crate::oauth::discovery::classify_discover`]).
//! Every request goes through [`crate::net::outbound`] and is recorded with its answer, the
//! checks made on it and, on failure, the likely cause. The walk never prints: it reports to an
//! [`Observer`] as it goes and returns a [`Transcript`]; the CLI decides how it looks.
//!
//! - `transcript`: the record (steps, exchanges, checks), secret shortening, curl rendering.
//! - `discover`: probe, PRM, AS metadata (steps 1–3).
//! - `client`: registration and PKCE / the authorize URL (steps 4–5).
//! - `mcp`: the era, then `server/discover` or `initialize`, and tools/list with the token
//!   (step 8).
//! - `tokens`: token, refresh, revoke (steps 7, 9, 10).
//! - `browser`: the browser leg (drive a local dev login, or a loopback redirect listener).
//! - `checks`: the `--check` negative checks.
//! - `html`: reading a consent form.

mod browser;
mod checks;
mod client;
mod discover;
mod html;
mod mcp;
mod tokens;
pub mod transcript;

use crate::net::outbound::{
    self, CookieJar, Fetched, Guard, Limits, OutboundError, OutboundRequest,
};
pub use crate::oauth::discovery::{Era, Protocol};
use crate::secret::{AccessToken, ClientSecret, RefreshToken, Secret};
pub use browser::OpenError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use transcript::{Exchange, NegativeCheck, Request, Response};
use url::Url;

pub use browser::Browser;
pub use transcript::{Status, StepKind, StepRecord, Transcript, WalkOutcome};

/// How the walk gets a client id.
#[derive(Debug, Clone)]
pub enum ClientChoice {
    /// Dynamic client registration (RFC 7591) at the AS's `registration_endpoint`.
    Dcr,
    /// A client registered beforehand.
    Preregistered {
        client_id: String,
        client_secret: Option<Secret>,
        /// `client_secret_basic` or `client_secret_post`; by default basic unless the AS lists
        /// only post.
        auth_method: Option<String>,
    },
    /// A Client ID Metadata Document URL used as the client id.
    Cimd(Url),
}

/// Tokens kept by `--save` for `--token-file`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedTokens {
    pub mcp_url: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<ClientSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    pub access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug)]
pub struct WalkOptions {
    pub mcp_url: Url,
    pub client: ClientChoice,
    /// The redirect URI; by default a loopback listener's (or, when walk drives a local dev
    /// login itself, `http://127.0.0.1:8765/callback`, where nothing needs to listen).
    pub redirect_uri: Option<Url>,
    pub browser: Browser,
    pub refresh: bool,
    pub revoke: bool,
    /// Send the RFC 8707 `resource` parameter.
    pub resource: bool,
    pub check: bool,
    pub auto_connect: bool,
    pub show_secrets: bool,
    /// How long to wait for the user in a browser.
    pub browser_timeout: Duration,
    /// How long each request may take.
    pub request_timeout: Duration,
    /// Tokens from `--token-file`: registration, browser leg and token are skipped.
    pub saved: Option<SavedTokens>,
    /// Keep the tokens alive (for `--save`): the revoke step is skipped.
    pub keep_tokens: bool,
    pub client_name: String,
    /// `--protocol`: the MCP revision to speak.
    pub protocol: Protocol,
}

impl WalkOptions {
    pub fn new(mcp_url: Url) -> Self {
        WalkOptions {
            mcp_url,
            client: ClientChoice::Dcr,
            redirect_uri: None,
            browser: Browser::System,
            refresh: true,
            revoke: true,
            resource: true,
            check: false,
            auto_connect: false,
            show_secrets: false,
            browser_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            saved: None,
            keep_tokens: false,
            client_name: "mcpgw oauth walk".into(),
            protocol: Protocol::Auto,
        }
    }
}

/// What the walk tells its caller while it runs (the CLI prints steps as they finish and shows
/// a spinner while a browser is out).
pub trait Observer: Send + Sync {
    /// A step finished (secrets already shortened unless `show_secrets`).
    fn step(&self, _step: &StepRecord) {}
    /// A URL for the user: `purpose` says what it is for; `opened` whether a browser got it.
    fn open_url(&self, _url: &str, _purpose: &str, _opened: Result<(), &OpenError>) {}
    /// Waiting for the user (a redirect to the listener, a connect) starts or ends.
    fn waiting(&self, _what: Option<&str>) {}
}

/// An observer that ignores everything (`--json`, tests).
pub struct Quiet;
impl Observer for Quiet {}

/// The result of the walk: the transcript plus the tokens it ended with (for `--save`).
pub struct WalkResult {
    pub transcript: Transcript,
    pub tokens: Option<SavedTokens>,
}

/// Runs the walk to its end or its first failed step.
pub async fn walk(options: WalkOptions, observer: &dyn Observer) -> WalkResult {
    let mut w = Walk::new(options, observer);
    let outcome = w.run().await;
    let checks = std::mem::take(&mut w.negative);
    let transcript = Transcript {
        mcp_url: w.opts.mcp_url.to_string(),
        era: w.era,
        steps: std::mem::take(&mut w.steps),
        checks,
        outcome,
    };
    let transcript = if w.opts.show_secrets {
        transcript
    } else {
        transcript::redact(&transcript, &w.secrets)
    };
    let tokens = w.tokens_to_save();
    WalkResult { transcript, tokens }
}

/// A failure that ends the walk with exit 2 (the network, not the server's answer).
struct Stop(String);

/// The state a walk carries from step to step.
struct Walk<'a> {
    opts: WalkOptions,
    observer: &'a dyn Observer,
    http: reqwest::Client,
    limits: Limits,
    secrets: Vec<String>,
    steps: Vec<StepRecord>,
    negative: Vec<NegativeCheck>,
    jar: CookieJar,
    // learned along the way
    discovered: Option<crate::oauth::discovery::Discovered>,
    local_dev: bool,
    redirect_uri: Option<Url>,
    client_id: Option<String>,
    client_secret: Option<ClientSecret>,
    auth_method: Option<String>,
    scope: Option<String>,
    access_token: Option<AccessToken>,
    refresh_token: Option<RefreshToken>,
    revoked: bool,
    /// The MCP era the server speaks (step 8).
    era: Option<Era>,
    /// The MCP session of the initialize step (2025-11-25), for later calls.
    session: Option<String>,
    /// The query of the browser leg's authorization response (for the `iss` check).
    authorization_response: Option<std::collections::HashMap<String, String>>,
    listener: Option<browser::Listener>,
}

impl<'a> Walk<'a> {
    fn new(opts: WalkOptions, observer: &'a dyn Observer) -> Self {
        let limits = Limits {
            timeout: opts.request_timeout,
            max_bytes: 1024 * 1024,
            // discovery follows redirects; the walk's own requests show each hop instead
            max_redirects: 2,
        };
        Walk {
            opts,
            observer,
            http: outbound::client(),
            limits,
            secrets: Vec::new(),
            steps: Vec::new(),
            negative: Vec::new(),
            jar: CookieJar::default(),
            discovered: None,
            local_dev: false,
            redirect_uri: None,
            client_id: None,
            client_secret: None,
            auth_method: None,
            scope: None,
            access_token: None,
            refresh_token: None,
            revoked: false,
            era: None,
            session: None,
            authorization_response: None,
            listener: None,
        }
    }

    /// Remembers a value to shorten in the output.
    fn secret(&mut self, value: &str) {
        if !value.is_empty() && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_string());
        }
    }

    fn step(&self, kind: StepKind) -> StepRecord {
        StepRecord::new(self.steps.len() + 1, kind)
    }

    /// Files a finished step and tells the observer.
    fn finish(&mut self, step: StepRecord) -> bool {
        let failed = step.failed();
        let shown = if self.opts.show_secrets {
            step.clone()
        } else {
            transcript::redact(&step, &self.secrets)
        };
        self.observer.step(&shown);
        self.steps.push(step);
        !failed
    }

    fn skip(&mut self, kind: StepKind, why: &str) {
        let mut s = self.step(kind);
        s.status = Status::Skipped;
        s.notes.push(why.to_string());
        self.finish(s);
    }

    async fn run(&mut self) -> WalkOutcome {
        match self.run_steps().await {
            Ok(()) => match self.steps.iter().find(|s| s.failed()) {
                Some(s) => WalkOutcome::Failed {
                    step: s.kind,
                    number: s.number,
                },
                None => WalkOutcome::Passed,
            },
            Err(Stop(message)) => WalkOutcome::Error {
                step: self.steps.last().map(|s| s.kind).unwrap_or(StepKind::Probe),
                message,
            },
        }
    }

    async fn run_steps(&mut self) -> Result<(), Stop> {
        let Some(challenge) = self.probe().await? else {
            return Ok(());
        };
        if !self.discover(challenge).await? {
            return Ok(());
        }
        if let Some(saved) = self.opts.saved.take() {
            self.use_saved(saved);
        } else {
            if !self.register().await? {
                return Ok(());
            }
            let Some(pkce) = self.authorize_url()? else {
                return Ok(());
            };
            let Some(code) = self.browser_leg(&pkce).await? else {
                return Ok(());
            };
            if !self.token(&pkce, &code).await? {
                return Ok(());
            }
        }
        if !self.mcp().await? {
            return Ok(());
        }
        if self.opts.refresh {
            if !self.refresh().await? {
                return Ok(());
            }
        } else {
            self.skip(StepKind::Refresh, "skipped (--no-refresh)");
        }
        if self.opts.check {
            self.live_token_checks().await?;
        }
        if self.opts.keep_tokens {
            self.skip(StepKind::Revoke, "skipped: the tokens are kept for --save");
        } else if self.opts.revoke {
            if !self.revoke().await? {
                return Ok(());
            }
        } else {
            self.skip(StepKind::Revoke, "skipped (--no-revoke)");
        }
        if self.opts.check {
            self.revoked_token_check().await?;
        }
        Ok(())
    }

    fn use_saved(&mut self, saved: SavedTokens) {
        self.secret(saved.access_token.secret());
        if let Some(t) = &saved.refresh_token {
            self.secret(t.secret());
        }
        if let Some(s) = &saved.client_secret {
            self.secret(s.secret());
        }
        self.client_id = Some(saved.client_id);
        self.client_secret = saved.client_secret;
        self.auth_method = saved.token_endpoint_auth_method;
        self.access_token = Some(saved.access_token);
        self.refresh_token = saved.refresh_token;
        self.scope = saved.scope;
        for kind in [
            StepKind::Registration,
            StepKind::AuthorizeUrl,
            StepKind::BrowserLeg,
            StepKind::Token,
        ] {
            self.skip(kind, "skipped: using the tokens of --token-file");
        }
    }

    /// The tokens the walk ended with (it hands them over: the walk is done).
    fn tokens_to_save(&mut self) -> Option<SavedTokens> {
        if self.revoked {
            return None;
        }
        Some(SavedTokens {
            mcp_url: self.opts.mcp_url.to_string(),
            client_id: self.client_id.take()?,
            client_secret: self.client_secret.take(),
            token_endpoint_auth_method: self.auth_method.take(),
            access_token: self.access_token.take()?,
            refresh_token: self.refresh_token.take(),
            resource: self.resource(),
            scope: self.scope.take(),
        })
    }

    /// The RFC 8707 `resource` to send: the PRM's `resource`, else the MCP URL.
    fn resource(&self) -> Option<String> {
        self.discovered
            .as_ref()
            .and_then(|d| d.resource.clone())
            .or_else(|| Some(self.opts.mcp_url.to_string()))
    }

    fn resource_param(&self) -> Option<String> {
        self.resource().filter(|_| self.opts.resource)
    }

    /// Sends one request and records it; a network error is recorded too and returned as `None`.
    async fn send(
        &mut self,
        req: OutboundRequest,
        note: Option<&str>,
    ) -> (Exchange, Result<Fetched, OutboundError>) {
        if let Some(c) = self.jar.header_for(&req.url) {
            // the walk's own cookie jar stands in for a browser's
            let mut r = req.clone();
            r.headers.push(("cookie".into(), c));
            return self.send_raw(r, note).await;
        }
        self.send_raw(req, note).await
    }

    async fn send_raw(
        &mut self,
        req: OutboundRequest,
        note: Option<&str>,
    ) -> (Exchange, Result<Fetched, OutboundError>) {
        let req = req.no_redirects();
        // credentials in headers (Basic carries the client secret, base64-encoded)
        for (k, v) in &req.headers {
            if k == "authorization"
                && let Some((_, cred)) = v.split_once(' ')
            {
                let cred = cred.to_string();
                self.secret(&cred);
            }
        }
        let request = record_request(&req);
        let result = outbound::fetch(&self.http, req, self.limits, Guard::Trusted).await;
        match result {
            Ok(f) => {
                self.jar.store(&f.url, &f.headers);
                for v in f.headers.get_all(reqwest::header::SET_COOKIE) {
                    if let Some(val) = v
                        .to_str()
                        .ok()
                        .and_then(|v| v.split(';').next())
                        .and_then(|p| p.split_once('='))
                    {
                        let val = val.1.to_string();
                        self.secret(&val);
                    }
                }
                let exchange = Exchange {
                    request,
                    response: Some(record_response(&f)),
                    error: None,
                    note: note.map(str::to_string),
                };
                (exchange, Ok(f))
            }
            Err(e) => {
                let exchange = Exchange {
                    request,
                    response: None,
                    error: Some(e.to_string()),
                    note: note.map(str::to_string),
                };
                (exchange, Err(e))
            }
        }
    }
}

/// Headers of an answer worth showing.
const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    "location",
    "www-authenticate",
    "mcp-session-id",
    "cache-control",
    "set-cookie",
];

fn record_request(req: &OutboundRequest) -> Request {
    Request {
        method: req.method.to_string(),
        url: req.url.to_string(),
        headers: req.headers.clone(),
        body: req
            .body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
    }
}

fn record_response(f: &Fetched) -> Response {
    let headers = SHOWN_HEADERS
        .iter()
        .flat_map(|name| {
            f.headers
                .get_all(*name)
                .iter()
                .map(|v| {
                    (
                        name.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Response {
        status: f.status.as_u16(),
        headers,
        body: body_summary(f),
    }
}

/// The body as JSON when it is JSON (or an event stream of JSON), else a short text: the title
/// of an HTML page, or the first 300 characters.
fn body_summary(f: &Fetched) -> Option<Value> {
    if f.body.is_empty() {
        return None;
    }
    if let Some(v) = mcp_json(f) {
        return Some(v);
    }
    let text = String::from_utf8_lossy(&f.body);
    let ct = f.header("content-type").unwrap_or_default();
    if ct.starts_with("text/html") {
        let title = html::title(&text).unwrap_or_else(|| "untitled".into());
        return Some(Value::String(format!("<HTML page: {title}>")));
    }
    let short: String = text.chars().take(300).collect();
    Some(Value::String(short))
}

/// A JSON answer, or the first JSON `data:` event of an event stream (MCP Streamable HTTP).
fn mcp_json(f: &Fetched) -> Option<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(&f.body) {
        return Some(v);
    }
    let text = String::from_utf8_lossy(&f.body).replace("\r\n", "\n");
    text.split("\n\n").find_map(|event| {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        serde_json::from_str::<Value>(&data.join("\n")).ok()
    })
}

pub(super) fn str_field<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v.get(name).and_then(Value::as_str)
}

/// `error` (and description) of an OAuth error answer.
pub(super) fn oauth_error(body: Option<&Value>) -> (Option<String>, Option<String>) {
    let e = body.and_then(|b| str_field(b, "error")).map(str::to_string);
    let d = body
        .and_then(|b| str_field(b, "error_description"))
        .map(str::to_string);
    (e, d)
}

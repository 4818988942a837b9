//! Upstream OAuth discovery, the one implementation used by the gateway's token exchange,
//! `upstream probe` and `oauth walk` (SPEC D15, D19, §6.3): the unauthenticated first contact
//! with the MCP URL, `WWW-Authenticate` parsing (RFC 7235 / 6750 / 9728), the protected
//! resource metadata (RFC 9728) with its fallbacks, and the authorization server metadata
//! (RFC 8414 and OpenID variants) with the issuer check. Every request is recorded as an
//! [`Attempt`] so that callers can show what was tried, also when discovery fails.
//!
//! All HTTP goes through [`crate::net::outbound`]; the client must not follow redirects.

use crate::net::outbound::{
    self, Guard, Limits, OutboundError, OutboundRequest, read_capped, read_error,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// The MCP protocol version sent on every discovery request.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

const PRM_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
const OAUTH_AS_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
const OIDC_WELL_KNOWN: &str = "/.well-known/openid-configuration";

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate
// ---------------------------------------------------------------------------------------------

/// One challenge of a WWW-Authenticate header (RFC 7235 / 6750 / 9728): scheme + params (quoted
/// strings unescaped, names lower-cased), several challenges per header and several headers
/// supported. A token68 (`Basic dXNlcg==`) is kept as a param with an empty name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The first param called `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses every challenge of every given `WWW-Authenticate` value. Lenient: what does not fit
/// the grammar is skipped, never a panic.
pub fn parse_www_authenticate<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for v in values {
        Parser {
            b: v.as_bytes(),
            i: 0,
        }
        .challenges(&mut out);
    }
    out
}

/// RFC 7230 `tchar`.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// RFC 7235 `token68` characters (without the trailing `=` padding).
fn is_token68_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }
    /// A run of tchars; ASCII only, so the slice is always on character boundaries.
    fn token(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.b[start..self.i]).into_owned()
    }
    /// A quoted-string starting at the opening quote; an unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut bytes = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        bytes.push(n);
                        self.i += 1;
                    }
                }
                _ => bytes.push(c),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
    /// If a token68 starts here (its run, `=` padding, then the end or a comma), consumes it.
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        let mut j = start;
        while self.b.get(j).copied().is_some_and(is_token68_char) {
            j += 1;
        }
        if j == start {
            return None;
        }
        while self.b.get(j) == Some(&b'=') {
            j += 1;
        }
        let end = j;
        while matches!(self.b.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if j < self.b.len() && self.b[j] != b',' {
            return None;
        }
        self.i = j;
        Some(String::from_utf8_lossy(&self.b[start..end]).into_owned())
    }

    fn challenges(&mut self, out: &mut Vec<Challenge>) {
        let mut current: Option<Challenge> = None;
        loop {
            self.skip_ws_and_commas();
            let Some(c) = self.peek() else { break };
            if !is_tchar(c) {
                // not part of the grammar: skip one byte (never sliced, so no boundary issue)
                self.i += 1;
                continue;
            }
            let name = self.token();
            let after_name = self.i;
            self.skip_ws();
            if self.peek() == Some(b'=')
                && let Some(ch) = current.as_mut()
            {
                self.i += 1;
                self.skip_ws();
                let value = match self.peek() {
                    Some(b'"') => self.quoted(),
                    _ => self.token(),
                };
                ch.params.push((name.to_ascii_lowercase(), value));
                continue;
            }
            // a new challenge
            self.i = after_name;
            if let Some(done) = current.take() {
                out.push(done);
            }
            let mut ch = Challenge {
                scheme: name,
                params: Vec::new(),
            };
            self.skip_ws();
            if let Some(t) = self.token68() {
                ch.params.push((String::new(), t));
            }
            current = Some(ch);
        }
        if let Some(done) = current {
            out.push(done);
        }
    }
}

/// The Bearer challenge's fields that matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BearerChallenge {
    pub realm: Option<String>,
    pub resource_metadata: Option<String>,
    pub scope: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The first `Bearer` challenge among all `WWW-Authenticate` headers, if any.
pub fn bearer_challenge(headers: &reqwest::header::HeaderMap) -> Option<BearerChallenge> {
    let values: Vec<String> = headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let challenges = parse_www_authenticate(values.iter().map(String::as_str));
    let ch = challenges
        .iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))?;
    let get = |n: &str| ch.param(n).map(str::to_string);
    Some(BearerChallenge {
        realm: get("realm"),
        resource_metadata: get("resource_metadata"),
        scope: get("scope"),
        error: get("error"),
        error_description: get("error_description"),
    })
}

// ---------------------------------------------------------------------------------------------
// Attempts and documents
// ---------------------------------------------------------------------------------------------

/// Which part of the discovery a request belonged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Probe,
    ProtectedResourceMetadata,
    AuthorizationServerMetadata,
}

/// What one request of the discovery did (for probe/walk output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub step: Step,
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    /// "found", "404: not found", "timed out", …
    pub outcome: String,
}

/// RFC 9728 document (known fields + the raw JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    pub resource: Option<String>,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub bearer_methods_supported: Vec<String>,
    pub resource_name: Option<String>,
    pub raw: Value,
}

impl ProtectedResourceMetadata {
    /// Reads the known fields of a JSON object; fields of the wrong type are ignored.
    pub fn from_json(raw: Value) -> Option<Self> {
        let obj = raw.as_object()?;
        Some(ProtectedResourceMetadata {
            resource: str_field(obj, "resource"),
            authorization_servers: str_list(obj, "authorization_servers"),
            scopes_supported: str_list(obj, "scopes_supported"),
            bearer_methods_supported: str_list(obj, "bearer_methods_supported"),
            resource_name: str_field(obj, "resource_name"),
            raw,
        })
    }
}

/// RFC 8414 / OIDC document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207 §3: every authorization response carries `iss` (then a missing one is refused).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    pub raw: Value,
}

impl AuthorizationServerMetadata {
    /// Reads the known fields of a JSON object; `None` without a string `issuer`.
    pub fn from_json(raw: Value) -> Option<Self> {
        let obj = raw.as_object()?;
        Some(AuthorizationServerMetadata {
            issuer: str_field(obj, "issuer")?,
            authorization_endpoint: str_field(obj, "authorization_endpoint"),
            token_endpoint: str_field(obj, "token_endpoint"),
            registration_endpoint: str_field(obj, "registration_endpoint"),
            revocation_endpoint: str_field(obj, "revocation_endpoint"),
            code_challenge_methods_supported: str_list(obj, "code_challenge_methods_supported"),
            scopes_supported: str_list(obj, "scopes_supported"),
            grant_types_supported: str_list(obj, "grant_types_supported"),
            token_endpoint_auth_methods_supported: str_list(
                obj,
                "token_endpoint_auth_methods_supported",
            ),
            client_id_metadata_document_supported: obj
                .get("client_id_metadata_document_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            authorization_response_iss_parameter_supported: obj
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            raw,
        })
    }
}

fn str_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

fn str_list(obj: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    obj.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoveryError {
    #[error("{error}")]
    Network {
        error: OutboundError,
        attempts: Vec<Attempt>,
    },
    #[error("no authorization server metadata found for {authorization_server}")]
    NoAuthorizationServerMetadata {
        authorization_server: String,
        attempts: Vec<Attempt>,
    },
    #[error(
        "the authorization server metadata names issuer {found}, but the authorization server is {expected}"
    )]
    IssuerMismatch {
        expected: String,
        found: String,
        attempts: Vec<Attempt>,
    },
    #[error("{url}: {why}")]
    InvalidDocument {
        url: String,
        why: String,
        attempts: Vec<Attempt>,
    },
}

impl DiscoveryError {
    /// Every request made before the failure.
    pub fn attempts(&self) -> &[Attempt] {
        match self {
            DiscoveryError::Network { attempts, .. }
            | DiscoveryError::NoAuthorizationServerMetadata { attempts, .. }
            | DiscoveryError::IssuerMismatch { attempts, .. }
            | DiscoveryError::InvalidDocument { attempts, .. } => attempts,
        }
    }
}

/// How an outbound error reads in an attempt's outcome.
fn outcome_of(e: &OutboundError) -> String {
    match e {
        OutboundError::Timeout { secs, .. } => format!("timed out after {secs} s"),
        OutboundError::Blocked { why, .. } => format!("not fetched: {why}"),
        OutboundError::Network { why, .. } => format!("network error: {why}"),
        OutboundError::TooLarge { limit, .. } => format!("answer larger than {limit} bytes"),
        OutboundError::TooManyRedirects { limit, .. } => {
            format!("more than {limit} redirects")
        }
    }
}

fn status_outcome(status: reqwest::StatusCode) -> String {
    format!(
        "{}: {}",
        status.as_u16(),
        status
            .canonical_reason()
            .unwrap_or("unexpected status")
            .to_ascii_lowercase()
    )
}

// ---------------------------------------------------------------------------------------------
// The first contact (D19) in either protocol era
// ---------------------------------------------------------------------------------------------

/// The 2026-07-28 revision: no session, `server/discover`, and a `_meta` envelope on every
/// request. The wire words below are those of `mcp::era` (a layer-3 sibling that `oauth` may not
/// import); the gateway reads them there, the first contact writes them here.
pub const MODERN_PROTOCOL_VERSION: &str = "2026-07-28";
const PROTOCOL_VERSION_META_KEY: &str = "io.modelcontextprotocol/protocolVersion";
const CLIENT_CAPABILITIES_META_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
const CLIENT_INFO_META_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// Where a 2026-07-28 result (`server/discover`) names the server.
const SERVER_INFO_META_KEY: &str = "io.modelcontextprotocol/serverInfo";
/// 2026-07-28: the request's protocol version is not supported (`data.supported`).
const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// Which revision a client speaks first (`--protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// `server/discover` (2026-07-28) first, then `initialize` (2025-11-25) when the answer
    /// says the server does not speak 2026-07-28 ([`classify_discover`]).
    #[default]
    Auto,
    /// 2026-07-28 only.
    Modern,
    /// 2025-11-25 only: `initialize` and a session.
    Session,
}

/// The era an MCP request is written in (serialised as the revision's date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Era {
    /// 2025-11-25 and earlier: `initialize`, `Mcp-Session-Id`.
    #[serde(rename = "2025-11-25")]
    Session,
    /// 2026-07-28: `server/discover`, the `_meta` envelope, `Mcp-Method` / `Mcp-Name`.
    #[serde(rename = "2026-07-28")]
    Modern,
}

impl Era {
    /// The `MCP-Protocol-Version` this client writes in the era.
    pub fn version(self) -> &'static str {
        match self {
            Era::Session => PROTOCOL_VERSION,
            Era::Modern => MODERN_PROTOCOL_VERSION,
        }
    }

    /// The request that opens a conversation in the era.
    pub fn first_method(self) -> &'static str {
        match self {
            Era::Session => "initialize",
            Era::Modern => "server/discover",
        }
    }
}

impl std::fmt::Display for Era {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.version())
    }
}

/// The unauthenticated first contact (D19): one POST to the MCP URL, and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub status: u16,
    pub challenge: Option<BearerChallenge>,
    pub attempt: Attempt,
    /// Every `WWW-Authenticate` value as sent (a 401 without a Bearer challenge is worth showing).
    #[serde(default)]
    pub www_authenticate: Vec<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    /// The JSON-RPC answer, when the server answered (JSON or the first SSE event).
    #[serde(default)]
    pub response: Option<Value>,
    #[serde(default)]
    pub session_id: Option<String>,
    /// `Location` of a redirect (the probe's POST does not follow it).
    #[serde(default)]
    pub location: Option<String>,
    /// The era of the request sent ([`first_contact`] rebuilds it).
    #[serde(default = "session_era")]
    pub era: Era,
    /// `--protocol auto`: the `server/discover` answer that made the probe fall back to
    /// `initialize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fell_back_from: Option<Box<ProbeResult>>,
}

fn session_era() -> Era {
    Era::Session
}

impl ProbeResult {
    /// `serverInfo` of an `initialize` or `server/discover` result.
    pub fn server_info(&self) -> Option<&Value> {
        server_info(self.response.as_ref()?.get("result")?)
    }

    /// The era the server answered in without a token: `server/discover` answered with
    /// 2026-07-28 among its versions, or `initialize` answered with a result. `None` when the
    /// answer says nothing about it (a 401, an error).
    pub fn server_era(&self) -> Option<Era> {
        let result = self.response.as_ref()?.get("result")?;
        match self.era {
            Era::Modern => (classify_discover(self.status, self.response.as_ref())
                == DiscoverVerdict::Modern)
                .then_some(Era::Modern),
            Era::Session => result.is_object().then_some(Era::Session),
        }
    }

    /// Every request of the first contact, in the order sent.
    pub fn attempts(&self) -> Vec<Attempt> {
        let mut out = self
            .fell_back_from
            .as_ref()
            .map(|p| p.attempts())
            .unwrap_or_default();
        out.push(self.attempt.clone());
        out
    }
}

/// The server's name and version in an `initialize` result (`serverInfo`) or a 2026-07-28 one
/// (`_meta["io.modelcontextprotocol/serverInfo"]`).
pub fn server_info(result: &Value) -> Option<&Value> {
    result
        .get("serverInfo")
        .or_else(|| result.get("_meta")?.get(SERVER_INFO_META_KEY))
        .filter(|i| i.is_object())
}

/// The `initialize` request a 2025-11-25 probe sends.
pub fn initialize_request() -> Value {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": client_info()
        }
    })
}

fn client_info() -> Value {
    serde_json::json!({"name": "mcpgw", "version": env!("CARGO_PKG_VERSION")})
}

/// `params._meta` of every 2026-07-28 request: the revision, the client's capabilities (none)
/// and its name.
pub fn modern_meta() -> Value {
    serde_json::json!({
        PROTOCOL_VERSION_META_KEY: MODERN_PROTOCOL_VERSION,
        CLIENT_CAPABILITIES_META_KEY: {},
        CLIENT_INFO_META_KEY: client_info(),
    })
}

/// A JSON-RPC request written in `era`: `params` (an object, or `Value::Null` for none) gets the
/// `_meta` envelope on 2026-07-28.
pub fn mcp_request(era: Era, id: i64, method: &str, params: Value) -> Value {
    let mut params = match params {
        Value::Object(o) => o,
        _ => serde_json::Map::new(),
    };
    if era == Era::Modern {
        params.insert("_meta".into(), modern_meta());
    }
    let mut req = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method});
    if !params.is_empty()
        && let Some(o) = req.as_object_mut()
    {
        o.insert("params".into(), Value::Object(params));
    }
    req
}

/// The `server/discover` request a 2026-07-28 probe sends.
pub fn server_discover_request() -> Value {
    mcp_request(Era::Modern, 1, "server/discover", Value::Null)
}

/// The request that opens a conversation in `era`.
pub fn first_request(era: Era) -> Value {
    match era {
        Era::Session => initialize_request(),
        Era::Modern => server_discover_request(),
    }
}

/// The body field that `Mcp-Name` mirrors, for the methods that carry one.
fn mcp_name_field(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

/// A header value as 2026-07-28 carries a name: as is when it is plain visible ASCII, else
/// `=?base64?…?=` (empty, surrounding whitespace, control or non-ASCII characters).
pub fn mcp_header_value(value: &str) -> String {
    use base64::Engine;
    let plain = !value.is_empty()
        && value.trim() == value
        && !(value.starts_with("=?base64?") && value.ends_with("?="))
        && value.chars().all(|c| c == '\t' || (' '..='~').contains(&c));
    if plain {
        value.to_string()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// A POST of the JSON-RPC `body` to an MCP URL with the headers of `era`: `Accept` and
/// `MCP-Protocol-Version`; on 2026-07-28 also `Mcp-Method` and, for a tool call, prompt or
/// resource read, `Mcp-Name` with the name the body carries.
pub fn mcp_post(url: &Url, era: Era, body: &Value) -> OutboundRequest {
    let mut req = OutboundRequest::post_json(url.clone(), body)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", era.version());
    if era == Era::Modern
        && let Some(method) = body.get("method").and_then(Value::as_str)
    {
        req = req.header("mcp-method", method);
        if let Some(name) = mcp_name_field(method)
            .and_then(|f| body.pointer(&format!("/params/{f}")))
            .and_then(Value::as_str)
        {
            req = req.header("mcp-name", mcp_header_value(name));
        }
    }
    req
}

/// The first contact's request in `era`, as [`probe_as`] sends it.
pub fn first_contact(url: &Url, era: Era) -> OutboundRequest {
    mcp_post(url, era, &first_request(era))
}

/// What the answer to a `server/discover` says about the server's era.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoverVerdict {
    /// A `server/discover` result whose `supportedVersions` has 2026-07-28.
    Modern,
    /// The server does not speak 2026-07-28: speak 2025-11-25 (`initialize`). Says why.
    FallBack(String),
    /// No era evidence: the answer stands as it is (401 / 403, a 5xx, a redirect, a 2xx that
    /// is not JSON-RPC, a version list with only other 2026-era revisions).
    Stands,
}

/// The `auto` negotiation of the TypeScript SDK v2 client (`probeClassifier.ts`), for one
/// `server/discover` answer: a valid result with 2026-07-28 is modern; a result without it,
/// any JSON-RPC error (HTTP 200 or 4xx) other than an unsupported-version one that lists only
/// other 2026-era revisions, and a 4xx without a JSON-RPC body mean "fall back to
/// `initialize`"; 401/403 (authorize first), 5xx, redirects and bodies that are not JSON-RPC
/// are no evidence either way.
pub fn classify_discover(status: u16, body: Option<&Value>) -> DiscoverVerdict {
    let rpc_error = body.and_then(|b| b.get("error")).filter(|e| e.is_object());
    match status {
        401 | 403 => DiscoverVerdict::Stands,
        s if s >= 500 || (300..400).contains(&s) => DiscoverVerdict::Stands,
        200..=299 => {
            if let Some(result) = body.and_then(|b| b.get("result")) {
                // the shape of a discover result: the versions and the capabilities
                let versions: Option<Vec<&str>> = result
                    .get("supportedVersions")
                    .and_then(Value::as_array)
                    .filter(|_| result.get("capabilities").is_some_and(Value::is_object))
                    .map(|a| a.iter().filter_map(Value::as_str).collect());
                match versions {
                    Some(v) if v.contains(&MODERN_PROTOCOL_VERSION) => DiscoverVerdict::Modern,
                    Some(v) => DiscoverVerdict::FallBack(format!(
                        "server/discover lists {} without {MODERN_PROTOCOL_VERSION}",
                        v.join(", ")
                    )),
                    None => DiscoverVerdict::FallBack(
                        "the server/discover answer is not a server/discover result".into(),
                    ),
                }
            } else if let Some(e) = rpc_error {
                classify_rpc_error(status, e)
            } else {
                DiscoverVerdict::Stands
            }
        }
        s => match rpc_error {
            Some(e) => classify_rpc_error(s, e),
            None => DiscoverVerdict::FallBack(format!("server/discover answered {s}")),
        },
    }
}

fn classify_rpc_error(status: u16, e: &Value) -> DiscoverVerdict {
    let code = e.get("code").and_then(Value::as_i64).unwrap_or_default();
    let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
    if code == UNSUPPORTED_PROTOCOL_VERSION
        && let Some(supported) = e
            .pointer("/data/supported")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
            .filter(|a| !a.is_empty())
        && supported.iter().any(|v| *v >= MODERN_PROTOCOL_VERSION)
    {
        // it speaks a 2026 revision, not this one: no fallback to the old era
        return DiscoverVerdict::Stands;
    }
    DiscoverVerdict::FallBack(format!(
        "server/discover answered {status} with JSON-RPC error {code}{}",
        if message.is_empty() {
            String::new()
        } else {
            format!(" ({message})")
        }
    ))
}

/// How long a probe waits for an open server's body once the headers are in: a stream that
/// stays open must not hold the probe up to the full timeout.
const PROBE_BODY_WAIT: Duration = Duration::from_secs(5);

/// The gateway's upstream client's first contact (D19) in either era: `server/discover`, then
/// `initialize` when the answer says the upstream does not speak 2026-07-28 (issue #12: a
/// 2026-07-28-only upstream that checks the protocol before the token refuses `initialize`
/// with 400, and its challenge, with its `scope`, would never be read).
pub async fn probe(
    http: &reqwest::Client,
    mcp_url: &Url,
    guard: Guard,
    limits: Limits,
) -> Result<ProbeResult, DiscoveryError> {
    probe_as(http, mcp_url, guard, limits, Protocol::Auto).await
}

/// The first contact in `protocol`: `Auto` sends `server/discover` and, when
/// [`classify_discover`] says so, `initialize` after it (the result then keeps the first
/// answer in `fell_back_from`).
pub async fn probe_as(
    http: &reqwest::Client,
    mcp_url: &Url,
    guard: Guard,
    limits: Limits,
    protocol: Protocol,
) -> Result<ProbeResult, DiscoveryError> {
    let era = match protocol {
        Protocol::Session => Era::Session,
        Protocol::Auto | Protocol::Modern => Era::Modern,
    };
    let first = probe_one(http, mcp_url, guard, limits, era).await?;
    if protocol != Protocol::Auto {
        return Ok(first);
    }
    match classify_discover(first.status, first.response.as_ref()) {
        DiscoverVerdict::FallBack(why) => {
            let mut first = first;
            first.attempt.outcome = format!("{}; falling back to initialize", why);
            match probe_one(http, mcp_url, guard, limits, Era::Session).await {
                Ok(mut second) => {
                    second.fell_back_from = Some(Box::new(first));
                    Ok(second)
                }
                Err(DiscoveryError::Network {
                    error,
                    mut attempts,
                }) => {
                    attempts.insert(0, first.attempt);
                    Err(DiscoveryError::Network { error, attempts })
                }
                Err(e) => Err(e),
            }
        }
        DiscoverVerdict::Modern | DiscoverVerdict::Stands => Ok(first),
    }
}

async fn probe_one(
    http: &reqwest::Client,
    mcp_url: &Url,
    guard: Guard,
    limits: Limits,
    era: Era,
) -> Result<ProbeResult, DiscoveryError> {
    let req = first_contact(mcp_url, era);
    let mut attempt = Attempt {
        step: Step::Probe,
        method: "POST".into(),
        url: mcp_url.to_string(),
        status: None,
        outcome: String::new(),
    };
    let (url, resp) = match outbound::send(http, &req, limits, guard).await {
        Ok(r) => r,
        Err(error) => {
            attempt.outcome = outcome_of(&error);
            return Err(DiscoveryError::Network {
                error,
                attempts: vec![attempt],
            });
        }
    };
    let status = resp.status();
    attempt.status = Some(status.as_u16());
    let headers = resp.headers().clone();
    let www_authenticate: Vec<String> = headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let challenge = bearer_challenge(&headers);
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let content_type = header("content-type");
    let session_id = header("mcp-session-id");
    let location = header("location");
    let mut response = None;
    // error bodies are read too: a JSON-RPC error at 400 says the server parsed the request
    if !status.is_redirection() {
        let is_sse = content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("text/event-stream"));
        let wait = PROBE_BODY_WAIT.min(limits.timeout);
        let body = if is_sse {
            first_sse_event(resp, limits.max_bytes, wait).await
        } else {
            match tokio::time::timeout(wait, read_capped(resp, limits.max_bytes)).await {
                Ok(Ok(b)) => Some(b.to_vec()),
                Ok(Err(e)) => {
                    tracing::debug!("probe body: {}", read_error(&url, e, limits));
                    None
                }
                Err(_) => None,
            }
        };
        response = body.and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    }
    let method = era.first_method();
    attempt.outcome = match (&challenge, status.as_u16()) {
        (Some(c), _) => {
            let mut parts = vec!["Bearer challenge".to_string()];
            if let Some(rm) = &c.resource_metadata {
                parts.push(format!("resource_metadata={rm}"));
            }
            if let Some(s) = &c.scope {
                parts.push(format!("scope=\"{s}\""));
            }
            if let Some(e) = &c.error {
                parts.push(format!("error={e}"));
            }
            parts.join(", ")
        }
        (None, 401) if www_authenticate.is_empty() => "401 without WWW-Authenticate".into(),
        (None, 401) => format!(
            "401 without a Bearer challenge ({})",
            www_authenticate.join("; ")
        ),
        (None, s) if (200..300).contains(&s) => match response
            .as_ref()
            .and_then(|r| r.get("result"))
            .and_then(server_info)
            .and_then(|i| i.get("name"))
            .and_then(Value::as_str)
        {
            Some(name) => format!("answered {method} without auth (server {name})"),
            None => "answered without auth".into(),
        },
        (None, _) => status_outcome(status),
    };
    Ok(ProbeResult {
        status: status.as_u16(),
        challenge,
        attempt,
        www_authenticate,
        content_type,
        response,
        session_id,
        location,
        era,
        fell_back_from: None,
    })
}

/// The `data` of the first complete event of an event stream, within `wait`.
async fn first_sse_event(
    mut resp: reqwest::Response,
    cap: usize,
    wait: Duration,
) -> Option<Vec<u8>> {
    let read = async {
        let mut buf: Vec<u8> = Vec::new();
        loop {
            if let Some(data) = sse_data(&buf) {
                return Some(data);
            }
            let chunk = resp.chunk().await.ok()??;
            if buf.len() + chunk.len() > cap {
                return None;
            }
            buf.extend_from_slice(&chunk);
        }
    };
    tokio::time::timeout(wait, read).await.ok().flatten()
}

/// The joined `data:` lines of the first event in `buf` that has data, once it is complete.
fn sse_data(buf: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(buf).replace("\r\n", "\n");
    let mut rest = text.as_str();
    while let Some(end) = rest.find("\n\n") {
        let event = &rest[..end];
        rest = &rest[end + 2..];
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        // a priming event (an `id` with empty data, for resumption) carries no message
        let joined = data.join("\n");
        if !joined.trim().is_empty() {
            return Some(joined.into_bytes());
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Discovery (D15, §6.3)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryInput {
    pub mcp_url: Url,
    /// The policy's `protectedResourceMetadataUrl`.
    pub prm_url: Option<Url>,
    pub challenge: Option<BearerChallenge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovered {
    pub prm: Option<ProtectedResourceMetadata>,
    pub prm_url: Option<Url>,
    /// PRM found somewhere other than the default path-suffixed well-known (then
    /// `protectedResourceMetadataUrl` is needed).
    pub prm_needs_explicit_url: bool,
    /// Issuer URL used.
    pub authorization_server: Url,
    pub metadata: AuthorizationServerMetadata,
    pub metadata_url: Url,
    /// PRM resource (sent upstream as `resource`).
    pub resource: Option<String>,
    pub resource_matches_url: bool,
    pub challenge_scope: Option<String>,
    pub attempts: Vec<Attempt>,
}

impl Discovered {
    /// §6.5 scope order minus the explicit policy scopes: challenge scope, else PRM
    /// scopes_supported joined by ' ', else None.
    pub fn default_scope(&self) -> Option<String> {
        if let Some(s) = self.challenge_scope.as_deref().map(str::trim)
            && !s.is_empty()
        {
            return Some(s.to_string());
        }
        let prm = self.prm.as_ref()?;
        if prm.scopes_supported.is_empty() {
            None
        } else {
            Some(prm.scopes_supported.join(" "))
        }
    }

    /// PKCE with S256 advertised (the MCP authorization spec refuses an AS that does not).
    pub fn supports_s256(&self) -> bool {
        self.metadata
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    }

    /// The AS accepts Client ID Metadata Documents as `client_id`.
    pub fn supports_cimd(&self) -> bool {
        self.metadata.client_id_metadata_document_supported
    }

    /// The AS has an RFC 7591 registration endpoint (one that is a URL).
    pub fn supports_dcr(&self) -> bool {
        self.registration_endpoint().is_some()
    }

    /// The RFC 7591 registration endpoint, when the metadata names one that is a URL.
    pub fn registration_endpoint(&self) -> Option<Url> {
        self.metadata
            .registration_endpoint
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
    }
}

/// The default PRM URL of §6.3: origin + well-known + path (path omitted when `/`).
pub fn default_prm_url(mcp_url: &Url) -> Option<Url> {
    let path = mcp_url.path();
    let suffix = if path == "/" { "" } else { path };
    Url::parse(&format!("{}{PRM_WELL_KNOWN}{suffix}", origin_of(mcp_url)?)).ok()
}

/// The root well-known PRM URL (RFC 9728 fallback).
pub fn root_prm_url(mcp_url: &Url) -> Option<Url> {
    Url::parse(&format!("{}{PRM_WELL_KNOWN}", origin_of(mcp_url)?)).ok()
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &Url) -> Option<String> {
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The AS metadata URLs of §6.3, in order, for an issuer.
pub fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let Some(origin) = origin_of(issuer) else {
        return Vec::new();
    };
    let path = issuer.path().trim_end_matches('/');
    let candidates = if path.is_empty() {
        vec![
            format!("{origin}{OAUTH_AS_WELL_KNOWN}"),
            format!("{origin}{OIDC_WELL_KNOWN}"),
        ]
    } else {
        vec![
            format!("{origin}{OAUTH_AS_WELL_KNOWN}{path}"),
            format!("{origin}{OIDC_WELL_KNOWN}{path}"),
            format!("{origin}{path}{OIDC_WELL_KNOWN}"),
        ]
    };
    candidates
        .iter()
        .filter_map(|c| Url::parse(c).ok())
        .collect()
}

/// RFC 8414 §3.3 as §6.3 applies it: the `issuer` of an AS metadata document names the
/// authorization server it was looked up for (a PRM `authorization_servers` entry, or the MCP
/// URL's origin), equal up to a trailing slash, since those entries are written both ways.
/// Not the rule for an authorization response's `iss`: that is [`response_iss_matches`].
pub fn metadata_issuer_matches(expected: &str, found: &str) -> bool {
    expected.trim_end_matches('/') == found.trim_end_matches('/')
}

/// RFC 9207 §2.4: an authorization response's `iss` is the issuer recorded from the validated
/// AS metadata, by simple string comparison (RFC 3986 §6.2.1): no case folding, no default-port
/// elision, no trailing-slash or percent-encoding normalisation.
pub fn response_iss_matches(issuer: &str, iss: &str) -> bool {
    issuer == iss
}

/// Why an authorization response fails the RFC 9207 check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseIssRefusal {
    #[error(
        "the authorization server {issuer} advertises authorization_response_iss_parameter_supported, but its response has no iss (RFC 9207 §2.4)"
    )]
    Missing { issuer: String },
    #[error(
        "the response's iss {iss:?} is not the authorization server's issuer {issuer:?} (RFC 9207 §2.4: compared exactly, without normalisation)"
    )]
    Mismatch { issuer: String, iss: String },
}

/// The RFC 9207 check of an authorization response (success or error) as MCP 2026-07-28 words
/// it: a present `iss` must equal `issuer` exactly, advertised or not; a missing one is refused
/// only when the AS metadata advertises `authorization_response_iss_parameter_supported`.
pub fn check_response_iss(
    issuer: &str,
    advertised: bool,
    iss: Option<&str>,
) -> Result<(), ResponseIssRefusal> {
    match iss {
        Some(iss) if response_iss_matches(issuer, iss) => Ok(()),
        Some(iss) => Err(ResponseIssRefusal::Mismatch {
            issuer: issuer.to_string(),
            iss: iss.chars().take(256).collect(),
        }),
        None if advertised => Err(ResponseIssRefusal::Missing {
            issuer: issuer.to_string(),
        }),
        None => Ok(()),
    }
}

/// How a PRM `resource` may differ from the MCP URL and still name it (RFC 9728 §3.3 asks for
/// the identical URL; this is the normalisation the MCP SDK clients apply), for error texts.
pub const RESOURCE_NORMALISATION: &str = "same scheme, host and port (scheme and host compared case-insensitively, a default port may be left out), and a path equal to the URL's or a whole-segment prefix of it, a trailing slash ignored";

/// Does a PRM `resource` name this MCP URL (RFC 9728 §3.3)? After URL parsing (which lower-cases
/// scheme and host and drops a default port): the same origin, and the resource path is the
/// URL's path or a whole-segment prefix of it, a trailing slash ignored
/// ([`RESOURCE_NORMALISATION`]). Query and fragment are not compared.
pub fn resource_matches(resource: &str, mcp_url: &Url) -> bool {
    let Ok(r) = Url::parse(resource) else {
        return false;
    };
    if r.origin() != mcp_url.origin() {
        return false;
    }
    let rp = r.path().trim_end_matches('/');
    let up = mcp_url.path().trim_end_matches('/');
    up == rp || up.starts_with(&format!("{rp}/"))
}

fn get_json(url: Url) -> OutboundRequest {
    OutboundRequest::get(url).header("mcp-protocol-version", PROTOCOL_VERSION)
}

/// D15 order for PRM (explicit → challenge resource_metadata → path-suffixed well-known → root
/// well-known), AS = PRM authorization_servers[0] else the MCP URL's origin; AS metadata order
/// of §6.3; issuer check.
pub async fn discover(
    http: &reqwest::Client,
    input: DiscoveryInput,
    guard: Guard,
    limits: Limits,
) -> Result<Discovered, DiscoveryError> {
    let mut attempts = Vec::new();
    let mcp_url = input.mcp_url;
    let Some(origin) = origin_of(&mcp_url) else {
        return Err(DiscoveryError::InvalidDocument {
            url: mcp_url.to_string(),
            why: "the MCP URL has no http(s) origin".into(),
            attempts,
        });
    };
    let default_prm = default_prm_url(&mcp_url);

    // PRM, first success wins
    let mut candidates: Vec<Url> = Vec::new();
    let challenge_prm = input
        .challenge
        .as_ref()
        .and_then(|c| c.resource_metadata.as_deref())
        .and_then(|s| mcp_url.join(s).ok());
    for c in [
        input.prm_url.clone(),
        challenge_prm,
        default_prm.clone(),
        root_prm_url(&mcp_url),
    ]
    .into_iter()
    .flatten()
    {
        if !candidates.contains(&c) {
            candidates.push(c);
        }
    }
    let mut prm = None;
    let mut prm_url = None;
    for url in candidates {
        let mut attempt = Attempt {
            step: Step::ProtectedResourceMetadata,
            method: "GET".into(),
            url: url.to_string(),
            status: None,
            outcome: String::new(),
        };
        match outbound::fetch(http, get_json(url.clone()), limits, guard).await {
            Err(e) => attempt.outcome = outcome_of(&e),
            Ok(f) => {
                attempt.status = Some(f.status.as_u16());
                if !f.status.is_success() {
                    attempt.outcome = status_outcome(f.status);
                } else {
                    match f.json().and_then(ProtectedResourceMetadata::from_json) {
                        None => attempt.outcome = "not a JSON object".into(),
                        Some(doc) => {
                            attempt.outcome = "found".into();
                            prm = Some(doc);
                            prm_url = Some(url);
                        }
                    }
                }
            }
        }
        attempts.push(attempt);
        if prm.is_some() {
            break;
        }
    }
    let prm_needs_explicit_url = match (&prm_url, &default_prm) {
        (Some(found), Some(default)) => found != default,
        (Some(_), None) => true,
        (None, _) => false,
    };

    // the authorization server
    let authorization_server = match prm.as_ref().and_then(|p| p.authorization_servers.first()) {
        Some(s) => match Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                return Err(DiscoveryError::InvalidDocument {
                    url: prm_url.map(|u| u.to_string()).unwrap_or_default(),
                    why: format!("authorization_servers[0] is not an http(s) URL: {s}"),
                    attempts,
                });
            }
        },
        None => match Url::parse(&origin) {
            Ok(u) => u,
            Err(e) => {
                return Err(DiscoveryError::InvalidDocument {
                    url: mcp_url.to_string(),
                    why: e.to_string(),
                    attempts,
                });
            }
        },
    };

    // its metadata: 4xx or 502 → next, other failures stop (§6.3)
    let mut found = None;
    for url in metadata_urls(&authorization_server) {
        let mut attempt = Attempt {
            step: Step::AuthorizationServerMetadata,
            method: "GET".into(),
            url: url.to_string(),
            status: None,
            outcome: String::new(),
        };
        let fetched = outbound::fetch(http, get_json(url.clone()), limits, guard).await;
        let f = match fetched {
            Err(error) => {
                attempt.outcome = outcome_of(&error);
                attempts.push(attempt);
                return Err(DiscoveryError::Network { error, attempts });
            }
            Ok(f) => f,
        };
        let status = f.status;
        attempt.status = Some(status.as_u16());
        if status.is_client_error() || status == reqwest::StatusCode::BAD_GATEWAY {
            attempt.outcome = status_outcome(status);
            attempts.push(attempt);
            continue;
        }
        if !status.is_success() {
            attempt.outcome = status_outcome(status);
            attempts.push(attempt);
            let why = format!("answered {}", status_outcome(status));
            return Err(DiscoveryError::InvalidDocument {
                url: url.to_string(),
                why,
                attempts,
            });
        }
        // a 200 that is not metadata (an HTML catch-all page) is treated as absent
        let Some(doc) = f.json().and_then(AuthorizationServerMetadata::from_json) else {
            attempt.outcome = "not an authorization server metadata document".into();
            attempts.push(attempt);
            continue;
        };
        if !metadata_issuer_matches(authorization_server.as_str(), &doc.issuer) {
            attempt.outcome = format!("issuer mismatch: {}", doc.issuer);
            attempts.push(attempt);
            return Err(DiscoveryError::IssuerMismatch {
                expected: authorization_server.to_string(),
                found: doc.issuer,
                attempts,
            });
        }
        attempt.outcome = "found".into();
        attempts.push(attempt);
        found = Some((doc, url));
        break;
    }
    let Some((metadata, metadata_url)) = found else {
        return Err(DiscoveryError::NoAuthorizationServerMetadata {
            authorization_server: authorization_server.to_string(),
            attempts,
        });
    };

    let resource = prm.as_ref().and_then(|p| p.resource.clone());
    let resource_matches_url = resource
        .as_deref()
        .is_some_and(|r| resource_matches(r, &mcp_url));
    Ok(Discovered {
        prm,
        prm_url,
        prm_needs_explicit_url,
        authorization_server,
        metadata,
        metadata_url,
        resource,
        resource_matches_url,
        challenge_scope: input.challenge.and_then(|c| c.scope),
        attempts,
    })
}

#[cfg(test)]
mod tests;

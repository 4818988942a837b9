//! The setup readiness probe (SPEC §3.10): before the consent page counts a stored upstream
//! connection as connected, the gateway tries it. A connection whose tokens the upstream has
//! revoked looks `active` in the store; without this probe the user would authorize the client
//! and meet connect-required on the first tool call instead of connecting right here.
//!
//! The probe is an MCP `initialize` with the stored token (10 s, no redirects). 2xx: ready, and
//! the session it opened is closed again. 401: one forced refresh and one retry. A refresh the
//! upstream refuses leaves the connection `reconsent_required` ([`super::policy::credential`]
//! does that), so the consent page shows Connect.

use super::Env;
use super::policy::{self, CredentialOutcome, UpstreamTarget};
use axum::http::{HeaderValue, header};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The MCP client name the upstream sees in the probe's `initialize`.
pub const CLIENT_NAME: &str = "zuplo-mcp-gateway-readiness";

/// How the upstream answered one `initialize`.
enum Answer {
    Ready,
    Unauthorized(Option<String>),
    /// Anything else: a 5xx, a timeout, a refused connection. Not the credential's fault, so
    /// it does not hold up the consent; the tool call will report it.
    Inconclusive(String),
}

/// Whether the stored connection of `target` works now. `false` means the user must connect
/// (again) before the client is authorized: no connection, one that is not active, or one the
/// upstream refuses.
pub async fn is_ready(env: &Env<'_>, target: &UpstreamTarget) -> bool {
    let authorization = match policy::credential(env, target, None, None).await {
        CredentialOutcome::Ready(h) => h,
        CredentialOutcome::Required(..) => return false,
        CredentialOutcome::Failed(p) => {
            tracing::warn!(upstream = %target.key.upstream_id, "readiness probe: no credential ({}); the connection is left as it is", p.detail);
            return true;
        }
    };
    let scope = match initialize(env, target, &authorization).await {
        Answer::Ready => return true,
        Answer::Inconclusive(why) => {
            tracing::warn!(upstream = %target.key.upstream_id, "readiness probe inconclusive: {why}");
            return true;
        }
        Answer::Unauthorized(scope) => scope,
    };
    let retry = match policy::credential(env, target, Some(&authorization), scope.as_deref()).await
    {
        CredentialOutcome::Ready(h) => h,
        CredentialOutcome::Required(..) => return false,
        CredentialOutcome::Failed(p) => {
            tracing::warn!(upstream = %target.key.upstream_id, "readiness probe: refresh failed ({}); the connection is left as it is", p.detail);
            return true;
        }
    };
    match initialize(env, target, &retry).await {
        Answer::Ready => true,
        Answer::Inconclusive(why) => {
            tracing::warn!(upstream = %target.key.upstream_id, "readiness probe inconclusive: {why}");
            true
        }
        // a freshly refreshed token refused too: only a new connect can help
        Answer::Unauthorized(_) => false,
    }
}

async fn initialize(env: &Env<'_>, target: &UpstreamTarget, authorization: &HeaderValue) -> Answer {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": CLIENT_NAME, "version": env!("CARGO_PKG_VERSION")},
        },
    });
    let sent = env
        .upstreams
        .http
        .post(target.mcp_url.clone())
        .header(header::AUTHORIZATION, authorization.clone())
        .header(header::ACCEPT, "application/json, text/event-stream")
        .json(&body)
        .timeout(TIMEOUT)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return Answer::Inconclusive(format!("the upstream could not be reached: {e}")),
    };
    let status = resp.status();
    if status.is_success() {
        if let Some(session) = resp.headers().get("mcp-session-id").cloned() {
            // close the session the probe opened; a server that keeps it anyway only loses memory
            let _ = env
                .upstreams
                .http
                .delete(target.mcp_url.clone())
                .header(header::AUTHORIZATION, authorization.clone())
                .header("mcp-session-id", session)
                .timeout(TIMEOUT)
                .send()
                .await;
        }
        return Answer::Ready;
    }
    if status.as_u16() == 401 {
        let scope = crate::oauth::discovery::bearer_challenge(resp.headers()).and_then(|c| c.scope);
        return Answer::Unauthorized(scope);
    }
    Answer::Inconclusive(format!("initialize answered {status}"))
}

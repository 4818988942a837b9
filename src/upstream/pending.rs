//! Upstreams a user still has to connect before a client may be authorized on a route (SPEC
//! §3.10): the route's `user-oauth` token-exchange policies whose connection is not active.
//! The consent page shows a Connect link for each, which returns to the consent page
//! (`returnTo`), and the consent page then sends the user back to the client by itself.
//! A stored active connection counts only once the readiness probe (`super::readiness`) has
//! tried it.

use super::Env;
use super::policy::UpstreamTarget;
use crate::config::policies::PolicyConfig;
use crate::config::policies::handlers::HandlerConfig;
use crate::config::policies::token_exchange::AuthMode;
use crate::store::ConnectionStatus;

/// One upstream to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpstream {
    pub display_name: String,
    pub connect_url: String,
}

/// The pending upstreams of route `route` for `subject`. `return_to` is where each connect
/// flow comes back (a path on this origin).
pub async fn for_route(
    env: &Env<'_>,
    route: usize,
    subject: &str,
    origin: &str,
    prefix: &str,
    return_to: &str,
) -> Vec<PendingUpstream> {
    let project = &env.report.project;
    let Some(r) = project.routes.get(route) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in &r.inbound {
        let Some(i) = project.policy_position(&name.value) else {
            continue;
        };
        let PolicyConfig::TokenExchange(te) = &env.report.model.policies[i] else {
            continue;
        };
        if te.auth_mode != AuthMode::UserOAuth {
            continue;
        }
        let ready = match env.report.model.handlers.get(route) {
            // the readiness probe reads the connection itself: missing or not active is not ready
            Some(Some(HandlerConfig::McpProxy(p))) => {
                let target = UpstreamTarget::new(
                    te,
                    subject,
                    r.operation_id(),
                    p.target.url(),
                    origin.to_string(),
                    prefix.to_string(),
                );
                super::readiness::is_ready(env, &target).await
            }
            // not an MCP proxy (the call itself reports that): nothing to try, the store decides
            _ => {
                let key = super::connection_key(te, subject);
                matches!(
                    env.store.run(move |s| s.get_upstream_connection(&key)).await,
                    Ok(Some(c)) if c.status == ConnectionStatus::Active
                )
            }
        };
        if ready {
            continue;
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect", "true")
            .append_pair("operationId", r.operation_id())
            .append_pair("returnTo", return_to)
            .finish();
        out.push(PendingUpstream {
            display_name: te.display_name.clone(),
            connect_url: format!(
                "{origin}{prefix}/auth/connections/{}/connect?{query}",
                crate::web::encoding::encode_component(&te.upstream_id.value)
            ),
        });
    }
    out
}

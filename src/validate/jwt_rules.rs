//! Rules about the JWT policy family and `OAuthProtectedResourcePlugin` (SPEC §16.14, 91-93).
//! Rule 90 lives with the options (`config::policies::jwt`).

use super::Model;
use crate::config::jsonc::Node;
use crate::config::policies::PolicyConfig;
use crate::config::policies::jwt::{prm_path, prm_route_exists};
use crate::config::project::Project;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;

pub fn check(project: &Project, model: &Model, findings: &mut Findings) {
    resource_metadata_unserved(project, model, findings);
    if let Some(prm) = &project.plugin.protected_resource {
        if let Some(servers) = &prm.authorization_servers {
            authorization_servers(servers, findings);
        }
        if project.plugin.is_registered() {
            findings.push(
                &rules::PRM_PLUGINS_OVERLAP,
                prm.registered_at,
                "McpGatewayPlugin and OAuthProtectedResourcePlugin both serve /.well-known/oauth-protected-resource/...: mcpgw answers with the gateway's document for MCP gateway routes and the plugin's for every other path; on Zuplo the precedence is unverified (SPEC §16.4)",
            );
        }
    }
}

/// Rule 91: `oAuthResourceMetadataEnabled` with nothing to point at, once per route.
fn resource_metadata_unserved(project: &Project, model: &Model, findings: &mut Findings) {
    for route in &project.routes {
        if prm_route_exists(project, &route.path.value) {
            continue;
        }
        for name in &route.inbound {
            let Some(i) = project.policy_position(&name.value) else {
                continue;
            };
            let PolicyConfig::Jwt(j) = &model.policies[i] else {
                continue;
            };
            if !j.oauth_resource_metadata {
                continue;
            }
            findings.push(
                &rules::JWT_RESOURCE_METADATA_UNSERVED,
                name.span,
                format!(
                    "policy {:?} has oAuthResourceMetadataEnabled, but route {} has no protected resource metadata route (no OAuthProtectedResourcePlugin, no McpGatewayPlugin, no route {}): a request without a token gets 401 without a resource_metadata challenge",
                    name.value,
                    route.path.value,
                    prm_path(&route.path.value)
                ),
            );
        }
    }
}

/// Rule 92: entries published as given must be absolute https URLs for clients to use them.
fn authorization_servers(servers: &Node, findings: &mut Findings) {
    let Some(items) = servers.as_array() else {
        findings.push(
            &rules::PRM_AUTHORIZATION_SERVER_URL,
            servers.span,
            format!(
                "OAuthProtectedResourcePlugin authorizationServers must be an array of URLs, found {}",
                servers.kind_name()
            ),
        );
        return;
    };
    for item in items {
        let problem = match item.as_str() {
            None => Some(format!("is {}, not a URL", item.kind_name())),
            Some(s) => match url::Url::parse(s) {
                Ok(u) if u.scheme() == "https" && u.host_str().is_some() => None,
                Ok(u) => Some(format!("{s:?} is a {} URL, not https", u.scheme())),
                Err(_) => Some(format!("{s:?} is not an absolute URL (a bare host?)")),
            },
        };
        if let Some(problem) = problem {
            findings.push(
                &rules::PRM_AUTHORIZATION_SERVER_URL,
                item.span,
                format!(
                    "OAuthProtectedResourcePlugin authorizationServers entry {problem}: it is published as is and MCP clients cannot discover the authorization server"
                ),
            );
        }
    }
}

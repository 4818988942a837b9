//! The typed view of a project that `validate` checks and `mcpgw dev` serves.
//!
//! Owns: [`Model`] (typed policies and handlers, index-aligned with the project's declarations)
//! and what an MCP route is (§2.2). No cross-route rules: those are `validate`'s.

use crate::config::mcp_server::{self, McpServer};
use crate::config::policies::handlers::HandlerConfig;
use crate::config::policies::{self, OAuthInbound, PolicyConfig, PolicyContext, PolicyKind};
use crate::config::project::{self, Project, Route};
use crate::diag::Findings;

/// The typed view of a project, index-aligned with `Project::policies` and `Project::routes`.
#[derive(Debug)]
pub struct Model {
    pub policies: Vec<PolicyConfig>,
    /// `None` for an operation without a handler.
    pub handlers: Vec<Option<HandlerConfig>>,
    /// Indexes of the MCP routes (§2.2).
    pub mcp_routes: Vec<usize>,
    /// One MCP server per `mcpServerHandler` route (§15), in route order.
    pub mcp_servers: Vec<McpServer>,
    /// `--local-idp` on a project with JWT-family policies and no MCP OAuth policy: the
    /// dev-login authorization server that stands in for their identity providers (D22).
    pub local_authorization: Option<Box<OAuthInbound>>,
    /// Built for `mcpgw dev --local-idp` (D22, D25 b).
    pub local_idp: bool,
}

impl Model {
    pub fn is_mcp_route(&self, route: usize) -> bool {
        self.mcp_routes.binary_search(&route).is_ok()
    }

    /// Whether `--local-idp` stands in for the identity providers of JWT-family policies: the
    /// gateway's authorization server then issues tokens for their routes too (D22).
    pub fn local_idp_stands_in(&self) -> bool {
        self.local_idp
            && self
                .policies
                .iter()
                .any(|p| matches!(p, PolicyConfig::Jwt(_)))
    }

    /// The MCP server of an `mcpServerHandler` route.
    pub fn mcp_server(&self, route: usize) -> Option<&McpServer> {
        self.mcp_servers.iter().find(|s| s.route == route)
    }

    /// Reads every policy and handler of `project` into typed options; findings at the values.
    pub fn build(project: &Project, findings: &mut Findings) -> Model {
        Model::build_for(project, false, findings)
    }

    /// [`Model::build`], for `mcpgw dev --local-idp` when `local_idp` (D25 b).
    pub fn build_for(project: &Project, local_idp: bool, findings: &mut Findings) -> Model {
        let ctx = PolicyContext {
            prefix: project.plugin.prefix(),
            local_idp,
        };
        let policies: Vec<PolicyConfig> = project
            .policies
            .iter()
            .map(|p| policies::parse(p, &ctx, findings))
            .collect();
        let handlers: Vec<Option<HandlerConfig>> = project
            .routes
            .iter()
            .map(|r| {
                r.handler
                    .as_ref()
                    .map(|h| policies::handlers::parse(&r.path.value, h, &project.env, findings))
            })
            .collect();
        let mcp_routes: Vec<usize> = project
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| is_mcp_route(project, r))
            .map(|(i, _)| i)
            .collect();
        let has_oauth = policies.iter().any(|p| matches!(p, PolicyConfig::OAuth(_)));
        let first_jwt = policies
            .iter()
            .position(|p| matches!(p, PolicyConfig::Jwt(_)));
        let local_authorization = first_jwt.filter(|_| local_idp && !has_oauth).map(|i| {
            Box::new(policies::oauth_inbound::local_idp_for_jwt_routes(
                project.policies[i].span,
            ))
        });
        let mcp_servers = mcp_server::register(project, &handlers, findings);
        Model {
            policies,
            handlers,
            mcp_routes,
            mcp_servers,
            local_authorization,
            local_idp,
        }
    }
}

/// Whether a policy is an MCP OAuth policy as the runtime detects it: type and export (§2.2).
pub fn is_mcp_oauth_policy(p: &project::PolicyDecl) -> bool {
    matches!(PolicyKind::of(&p.policy_type.value), PolicyKind::OAuth(provider) if p.handler.export() == provider.export())
}

pub fn is_token_exchange_policy(p: &project::PolicyDecl) -> bool {
    p.policy_type.value == "mcp-token-exchange-inbound"
}

/// §2.2: a route is an MCP route when its inbound list holds an MCP OAuth or token-exchange policy.
pub fn is_mcp_route(project: &Project, route: &Route) -> bool {
    route.inbound.iter().any(|name| {
        project
            .policy(&name.value)
            .is_some_and(|p| is_mcp_oauth_policy(p) || is_token_exchange_policy(p))
    })
}

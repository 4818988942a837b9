//! `mcpgw validate`: every check the gateway makes at boot or on the first request, up front.
//!
//! Owns: running the rule catalogue over a loaded project and returning a [`Report`]: the
//! findings (sorted by file and position) and the typed [`Model`] that `mcpgw dev` serves. It
//! never prints; `validate::render` turns a report into text.

pub mod baseline;
pub mod diagnostic;
mod policy_rules;
mod project_rules;
pub mod render;
mod route_rules;
pub mod rules;
mod schema;

use crate::config;
use crate::config::policies::handlers::HandlerConfig;
use crate::config::policies::{self, PolicyConfig, PolicyContext, PolicyKind};
use crate::config::project::{self, LoadError, Project, Route};
use diagnostic::{Diagnostic, Findings, Severity};
use std::path::Path;

/// How to validate.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Let `$env(NAME)` fall back to the process environment (the CLI does; fixtures do not).
    pub process_env: bool,
    /// A git revision to compare upstream ids and operationIds with (rule 45).
    pub baseline: Option<String>,
}

/// The typed view of a project, index-aligned with `Project::policies` and `Project::routes`.
#[derive(Debug)]
pub struct Model {
    pub policies: Vec<PolicyConfig>,
    /// `None` for an operation without a handler.
    pub handlers: Vec<Option<HandlerConfig>>,
    /// Indexes of the MCP routes (§2.2).
    pub mcp_routes: Vec<usize>,
}

impl Model {
    pub fn is_mcp_route(&self, route: usize) -> bool {
        self.mcp_routes.binary_search(&route).is_ok()
    }
}

/// The outcome of validating one project.
#[derive(Debug)]
pub struct Report {
    pub project: Project,
    pub model: Model,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }
}

/// Loads and validates the project at `path` (the project folder or its `config/`).
pub fn validate_path(path: &Path, options: &Options) -> Result<Report, LoadError> {
    let mut findings = Findings::default();
    let project = project::load(path, options.process_env, &mut findings)?;
    Ok(validate_project(project, findings, options))
}

/// Runs every rule over a loaded project; `findings` holds what loading found.
pub fn validate_project(project: Project, mut findings: Findings, options: &Options) -> Report {
    project_rules::check(&project, &mut findings);

    let ctx = PolicyContext {
        prefix: project.plugin.prefix(),
    };
    let policies: Vec<PolicyConfig> = project
        .policies
        .iter()
        .map(|p| policies::parse(p, &ctx, &mut findings))
        .collect();
    let handlers: Vec<Option<HandlerConfig>> = project
        .routes
        .iter()
        .map(|r| {
            r.handler
                .as_ref()
                .map(|h| policies::handlers::parse(&r.path.value, h, &project.env, &mut findings))
        })
        .collect();
    let mcp_routes: Vec<usize> = project
        .routes
        .iter()
        .enumerate()
        .filter(|(_, r)| is_mcp_route(&project, r))
        .map(|(i, _)| i)
        .collect();
    let model = Model {
        policies,
        handlers,
        mcp_routes,
    };

    route_rules::check(&project, &model, &mut findings);
    policy_rules::check(&project, &model, &mut findings);
    schema::check(&project, &mut findings);
    if let Some(rev) = &options.baseline {
        baseline::check(&project, &model, rev, &mut findings);
    }

    let mut diagnostics = findings.items;
    note_env_origins(&project, &mut diagnostics);
    sort_diagnostics(&project, &mut diagnostics);
    Report {
        project,
        model,
        diagnostics,
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

/// A finding about a value that came from `$env(NAME)` says so, and where NAME is defined:
/// the span points at `$env(NAME)` in the config, but the bad value lives in `.env`.
fn note_env_origins(project: &Project, diagnostics: &mut [Diagnostic]) {
    use crate::config::jsonc::{Node, Value};
    use std::collections::HashMap;
    fn collect<'a>(node: &'a Node, out: &mut HashMap<config::source::Span, &'a Node>) {
        if node.env.is_some() {
            out.insert(node.span, node);
        }
        match &node.value {
            Value::Array(items) => items.iter().for_each(|n| collect(n, out)),
            Value::Object(members) => members.iter().for_each(|m| collect(&m.node, out)),
            _ => {}
        }
    }
    let mut origins = HashMap::new();
    let handlers = project
        .policies
        .iter()
        .map(|p| &p.handler)
        .chain(project.routes.iter().filter_map(|r| r.handler.as_ref()));
    for h in handlers {
        if let Some(options) = &h.options {
            collect(options, &mut origins);
        }
    }
    project
        .cors_policies
        .iter()
        .for_each(|n| collect(n, &mut origins));
    if origins.is_empty() {
        return;
    }
    for d in diagnostics.iter_mut() {
        let Some(node) = origins.get(&d.span) else {
            continue;
        };
        let Some(origin) = &node.env else { continue };
        let parts: Vec<String> = origin
            .vars
            .iter()
            .filter(|v| v.set)
            .map(|v| match v.defined_in {
                Some(span) => {
                    let (file, line, _) = project.sources.locate(span);
                    format!("$env({}) from {file}:{line}", v.name)
                }
                None => format!("$env({}) from the environment", v.name),
            })
            .collect();
        if !parts.is_empty() {
            d.message
                .push_str(&format!(" (value of {})", parts.join(", ")));
        }
    }
}

fn sort_diagnostics(project: &Project, diagnostics: &mut [Diagnostic]) {
    let order = |d: &Diagnostic| {
        let path = &project.sources.get(d.span.file).path;
        (path.clone(), d.span.start, d.rule.code, d.message.clone())
    };
    diagnostics.sort_by_cached_key(order);
}

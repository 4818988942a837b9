//! `mcpgw validate`: every check the gateway makes at boot or on the first request, up front.
//!
//! Owns: running the rule catalogue over a loaded project and returning a [`Report`]: the
//! findings (sorted by file and position) next to the typed [`Model`] (built by `config::model`)
//! that `mcpgw dev` serves. It
//! never prints; `validate::render` turns a report into text.

pub mod baseline;
mod custom_rules;
mod jwt_rules;
mod policy_rules;
mod project_rules;
pub mod render;
mod route_rules;
mod schema;

pub use crate::config::model::{
    Model, is_mcp_oauth_policy, is_mcp_route, is_token_exchange_policy,
};
use crate::config::project::{self, LoadError, Project};
use crate::diag::diagnostic::{Diagnostic, Findings, Severity};
use crate::diag::rules;
use std::path::Path;

/// How to validate.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Let `$env(NAME)` fall back to the process environment (the CLI does; fixtures do not).
    pub process_env: bool,
    /// `--env-file`: more `.env`-style files (CI without the project's `.env`).
    pub env_files: Vec<std::path::PathBuf>,
    /// `--env-example`: the names of `.env.example` are set by the deployment.
    pub env_example: bool,
    /// A git revision to compare upstream ids and operationIds with (rule 45).
    pub baseline: Option<String>,
    /// `mcpgw dev --local-idp` (D25 b): options only the real identity provider needs may be
    /// unset or placeholders, so rules about them are warnings.
    pub local_idp: bool,
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
    let sources = crate::config::env::EnvSources {
        process_env: options.process_env,
        files: options.env_files.clone(),
        example: options.env_example,
    };
    let project = project::load_with(path, &sources, &mut findings)?;
    Ok(validate_project(project, findings, options))
}

/// Runs every rule over a loaded project; `findings` holds what loading found.
pub fn validate_project(project: Project, mut findings: Findings, options: &Options) -> Report {
    project_rules::check(&project, &mut findings);

    let model = Model::build_for(&project, options.local_idp, &mut findings);

    route_rules::check(&project, &model, &mut findings);
    policy_rules::check(&project, &model, &mut findings);
    custom_rules::check(&project, &model, &mut findings);
    jwt_rules::check(&project, &model, &mut findings);
    schema::check(&project, &mut findings);
    if let Some(rev) = &options.baseline {
        baseline::check(&project, &model, rev, &mut findings);
    }

    let mut diagnostics = findings.items;
    if options.env_example || !options.env_files.is_empty() {
        ci_env_rules(&project, &mut diagnostics);
    }
    note_env_origins(&project, &mut diagnostics);
    sort_diagnostics(&project, &mut diagnostics);
    Report {
        project,
        model,
        diagnostics,
    }
}

/// Every node whose value came from `$env(...)`, by its span.
fn env_nodes(
    project: &Project,
) -> std::collections::HashMap<crate::diag::source::Span, &crate::config::jsonc::Node> {
    use crate::config::jsonc::{Node, Value};
    use std::collections::HashMap;
    fn collect<'a>(node: &'a Node, out: &mut HashMap<crate::diag::source::Span, &'a Node>) {
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
    origins
}

/// `validate --env-example` / `--env-file` (CI without the project's `.env`): a value the
/// deployment sets (named in `.env.example`) is a placeholder here, so findings about it are
/// not reported; a variable that no source defines is an error, not a warning.
fn ci_env_rules(project: &Project, diagnostics: &mut Vec<Diagnostic>) {
    let origins = env_nodes(project);
    diagnostics.retain(|d| {
        let name_rule = [
            rules::ENV_VAR_UNDEFINED.code,
            rules::ENV_VAR_NAME_INVALID.code,
            rules::ENV_VAR_RESERVED.code,
            rules::ENV_NOT_ALLOWED_HERE.code,
        ]
        .contains(&d.rule.code);
        let placeholder = origins
            .get(&d.span)
            .and_then(|n| n.env.as_ref())
            .is_some_and(|o| o.vars.iter().any(|v| v.from_deployment));
        name_rule || !placeholder
    });
    for d in diagnostics.iter_mut() {
        if d.rule.code == rules::ENV_VAR_UNDEFINED.code {
            d.severity = Severity::Error;
            d.message
                .push_str(" (nor in .env.example or an --env-file: no deployment would set it)");
        }
    }
}

/// A finding about a value that came from `$env(NAME)` says so, and where NAME is defined:
/// the span points at `$env(NAME)` in the config, but the bad value lives in `.env`.
fn note_env_origins(project: &Project, diagnostics: &mut [Diagnostic]) {
    let origins = env_nodes(project);
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

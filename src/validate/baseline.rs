//! Rule 45: compare upstream ids and MCP operationIds with a git revision (`--baseline REV`).
//!
//! Owns: reading `config/policies.json` and the route files as they were at REV (through `git
//! show`) and reporting ids that disappeared, since renaming one strands every user's connection
//! or token. Without `--baseline` nothing is compared.

use super::{Model, Options};
use crate::config::policies::PolicyConfig;
use crate::config::project::{self, Project};
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules;
use crate::diag::source::Span;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

pub fn check(project: &Project, model: &Model, rev: &str, findings: &mut Findings) {
    let anchor = project
        .policies_file
        .map(Span::file_start)
        .or(project.zuplo_file.map(Span::file_start));
    let Some(anchor) = anchor else { return };
    let old_root = match checkout(&project.root, rev) {
        Ok(dir) => dir,
        Err(why) => {
            findings.push_as(
                &rules::UPSTREAM_ID_CHANGED,
                Severity::Note,
                anchor,
                format!("could not compare with baseline {rev:?}: {why}"),
            );
            return;
        }
    };
    let Ok(old) = super::validate_path(
        old_root.path(),
        &Options {
            process_env: false,
            ..Options::default()
        },
    ) else {
        return;
    };

    let (old_upstreams, old_ops) = ids(&old.project, &old.model);
    let (new_upstreams, new_ops) = ids(project, model);
    let added_upstreams: Vec<&String> = new_upstreams.difference(&old_upstreams).collect();
    for gone in old_upstreams.difference(&new_upstreams) {
        let hint = if added_upstreams.is_empty() {
            String::new()
        } else {
            format!(
                " (new: {})",
                added_upstreams
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        findings.push(
            &rules::UPSTREAM_ID_CHANGED,
            anchor,
            format!("upstream id {gone:?} existed at {rev} and is gone{hint}: users connected to it must connect again"),
        );
    }
    let route_anchor = project
        .route_files
        .first()
        .map(|f| Span::file_start(*f))
        .unwrap_or(anchor);
    for gone in old_ops.difference(&new_ops) {
        findings.push(
            &rules::UPSTREAM_ID_CHANGED,
            route_anchor,
            format!("MCP route operationId {gone:?} existed at {rev} and is gone: tokens issued for it stop working"),
        );
    }
}

fn ids(project: &Project, model: &Model) -> (BTreeSet<String>, BTreeSet<String>) {
    let upstreams = model
        .policies
        .iter()
        .filter_map(|p| match p {
            PolicyConfig::TokenExchange(t) => Some(t.upstream_id.value.clone()),
            _ => None,
        })
        .collect();
    let ops = model
        .mcp_routes
        .iter()
        .map(|&i| project.routes[i].operation_id().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (upstreams, ops)
}

/// Why the project could not be read as it was at the baseline revision.
#[derive(Debug, thiserror::Error)]
enum BaselineError {
    #[error("git could not run: {0}")]
    GitDidNotRun(std::io::Error),
    /// git refused; its own message (stderr, trimmed).
    #[error("{0}")]
    Git(String),
    #[error("git printed non-UTF-8 output")]
    NotUtf8,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Project(#[from] project::LoadError),
}

/// The project's config files as they were at `rev`, written into a temporary folder.
fn checkout(root: &Path, rev: &str) -> Result<TempDir, BaselineError> {
    let dir = TempDir::new()?;
    let prefix = git(root, &["rev-parse", "--show-prefix"])?;
    let prefix = prefix.trim();
    let listing = git(root, &["ls-tree", "-r", "--name-only", rev, "--", "."])?;
    for rel in listing.lines() {
        let wanted = rel == "zuplo.jsonc"
            || rel == "zuplo.json"
            || rel == "modules/zuplo.runtime.ts"
            || (rel.starts_with("config/")
                && (rel.ends_with(".oas.json") || rel.ends_with("policies.json")));
        if !wanted {
            continue;
        }
        let text = git(root, &["show", &format!("{rev}:{prefix}{rel}")])?;
        let target = dir.path().join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, text)?;
    }
    let _ = project::resolve_root(dir.path())?;
    Ok(dir)
}

fn git(dir: &Path, args: &[&str]) -> Result<String, BaselineError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(BaselineError::GitDidNotRun)?;
    if !out.status.success() {
        return Err(BaselineError::Git(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| BaselineError::NotUtf8)
}

/// A temporary folder removed on drop (no extra crate for one use).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Result<Self, std::io::Error> {
        let base = std::env::temp_dir().join(format!(
            "mcpgw-baseline-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&base)?;
        Ok(TempDir(base))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

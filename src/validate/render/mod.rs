//! Turning a [`Report`](super::Report) into text for people and machines.
//!
//! Owns: the four output formats of `mcpgw validate` (human, json, github, sarif) and the
//! located, serialisable form of a finding they share. Each format is a pure function from a
//! report to a string; the CLI decides where it goes.

mod github;
mod human;
mod json;
mod sarif;

pub use github::github;
pub use human::{HumanStyle, human};
pub use json::json;
pub use sarif::sarif;

use super::Report;
use crate::diag::diagnostic::Severity;

/// A finding with its position resolved: what every format prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Located {
    pub rule: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// Relative to the project folder, forward slashes.
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: String,
}

pub fn located(report: &Report) -> Vec<Located> {
    report
        .diagnostics
        .iter()
        .map(|d| {
            let (file, line, column) = report.project.sources.locate(d.span);
            Located {
                rule: d.rule.code,
                name: d.rule.name,
                severity: d.severity,
                file: file.to_string(),
                line,
                column,
                message: d.message.clone(),
                help: d.help().to_string(),
            }
        })
        .collect()
}

/// Number of files that were really read (stand-ins for missing files excluded).
pub fn files_read(report: &Report) -> usize {
    report
        .project
        .sources
        .iter()
        .filter(|(_, f)| !f.placeholder)
        .count()
}

//! `--format json`: the exact machine-readable shape scripts and CI read.

use super::{Located, files_read, located};
use crate::diag::diagnostic::Severity;
use crate::validate::Report;
use serde::Serialize;

#[derive(Serialize)]
struct Output {
    diagnostics: Vec<Located>,
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
    files: usize,
}

pub fn json(report: &Report) -> String {
    let out = Output {
        diagnostics: located(report),
        summary: Summary {
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            notes: report.count(Severity::Note),
            files: files_read(report),
        },
    };
    let mut s =
        serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

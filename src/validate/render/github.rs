//! `--format github`: GitHub Actions workflow commands, one annotation per finding.

use super::located;
use crate::diag::diagnostic::Severity;
use crate::validate::Report;

/// `display_root` is how the project folder was named on the command line, so annotation paths
/// are relative to the repository root the workflow runs in.
pub fn github(report: &Report, display_root: &str) -> String {
    let mut out = String::new();
    let prefix = display_root.trim_end_matches('/');
    for d in located(report) {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let file = if prefix.is_empty() || prefix == "." {
            d.file.clone()
        } else {
            format!("{prefix}/{}", d.file)
        };
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{}\n",
            escape_property(&file),
            d.line,
            d.column,
            escape_property(&format!("{} {}", d.rule, d.name)),
            escape_data(&format!("{} (help: {})", d.message, d.help)),
        ));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

//! `--format sarif`: SARIF 2.1.0 for code-scanning dashboards.

use super::located;
use crate::diag::diagnostic::Severity;
use crate::diag::rules;
use crate::validate::Report;
use serde_json::json;

pub fn sarif(report: &Report, display_root: &str) -> String {
    let prefix = display_root.trim_end_matches('/');
    let rules: Vec<_> = rules::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "help": {"text": r.help},
                "defaultConfiguration": {"level": level(r.severity)},
            })
        })
        .collect();
    let results: Vec<_> = located(report)
        .into_iter()
        .map(|d| {
            let uri = if prefix.is_empty() || prefix == "." {
                d.file.clone()
            } else {
                format!("{prefix}/{}", d.file)
            };
            json!({
                "ruleId": d.rule,
                "ruleIndex": rules::ALL.iter().position(|r| r.code == d.rule),
                "level": level(d.severity),
                "message": {"text": format!("{} (help: {})", d.message, d.help)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": d.line, "startColumn": d.column},
                    }
                }],
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mcpgw",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

//! Every case in `tests/fixtures/validate/<case>/` is a whole project; its `expected.json` is
//! the exact output of `mcpgw validate <case> --format json`.
//!
//! Cases named `mcpNNN-bad…` must report rule MCPNNN; cases named `mcpNNN-good…` must not, so
//! each rule is shown both to fire and to stay quiet. Set `UPDATE_EXPECT=1` to rewrite the
//! expected files after a deliberate change, then review the diff.

use mcpgw::validate::{self, Options, render};
use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_fixture_matches_its_expected_json() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(!cases.is_empty(), "no fixtures found");
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let report = match validate::validate_path(dir, &Options::default()) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: could not load: {e}"));
                continue;
            }
        };
        let actual = render::json(&report);
        let expected_path = dir.join("expected.json");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
        } else {
            match std::fs::read_to_string(&expected_path) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => failures.push(format!(
                    "{name}: output differs\n--- expected\n{expected}\n--- actual\n{actual}"
                )),
                Err(_) => {
                    failures.push(format!("{name}: expected.json missing; actual:\n{actual}"))
                }
            }
        }
        // the case name states which rule it is about
        if let Some((code, polarity)) = rule_of(&name) {
            let fired = report.diagnostics.iter().any(|d| d.rule.code == code);
            match polarity {
                "bad" if !fired => failures.push(format!("{name}: expected {code} to fire")),
                "good" if fired => failures.push(format!("{name}: expected {code} to stay quiet")),
                _ => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture problems:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `mcp019-bad-two-routes` → ("MCP019", "bad").
fn rule_of(name: &str) -> Option<(String, &str)> {
    let mut parts = name.splitn(3, '-');
    let code = parts.next()?;
    let polarity = parts.next()?;
    if code.len() == 6 && code.starts_with("mcp") && code[3..].chars().all(|c| c.is_ascii_digit()) {
        Some((code.to_ascii_uppercase(), polarity))
    } else {
        None
    }
}

#[test]
fn every_rule_has_a_firing_and_a_quiet_case() {
    let names: Vec<String> = cases()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let mut missing = Vec::new();
    for rule in mcpgw::diag::rules::ALL {
        let code = rule.code.to_ascii_lowercase();
        for polarity in ["bad", "good"] {
            // MCP045 compares with a git revision (--baseline), which a static fixture cannot
            // hold: tests/baseline.rs shows it firing from a temporary repository.
            if rule.code == "MCP045" && polarity == "bad" {
                continue;
            }
            let prefix = format!("{code}-{polarity}");
            if !names.iter().any(|n| n.starts_with(&prefix)) {
                missing.push(prefix);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "rules without fixture cases: {}",
        missing.join(", ")
    );
}

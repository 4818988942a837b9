//! No panic on any input: random and truncated JSONC (and TypeScript) in every project file,
//! and `validate` still answers with findings.

use mcpgw::validate::{self, Options};
use proptest::prelude::*;
use std::path::Path;

const ZUPLO: &str = include_str!("../templates/projects/multi-upstream/zuplo.jsonc");
const ROUTES: &str = include_str!("../templates/projects/multi-upstream/config/routes.oas.json");
const POLICIES: &str = include_str!("../templates/projects/multi-upstream/config/policies.json");
const RUNTIME: &str = include_str!("../templates/projects/multi-upstream/modules/zuplo.runtime.ts");

fn write_project(dir: &Path, zuplo: &str, routes: &str, policies: &str, runtime: &str) {
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    std::fs::write(dir.join("zuplo.jsonc"), zuplo).unwrap();
    std::fs::write(dir.join("config/routes.oas.json"), routes).unwrap();
    std::fs::write(dir.join("config/policies.json"), policies).unwrap();
    std::fs::write(dir.join("modules/zuplo.runtime.ts"), runtime).unwrap();
}

/// Cuts `s` at a character boundary near `at`.
fn cut(s: &str, at: usize) -> &str {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

/// JSON-ish noise: the characters that stress a JSONC parser and the loaders.
fn noise() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\"".to_string()),
            Just("//".to_string()),
            Just("/*".to_string()),
            Just("*/".to_string()),
            Just("\n".to_string()),
            Just("$env(".to_string()),
            Just("${env.".to_string()),
            Just("\"paths\"".to_string()),
            Just("\"policies\"".to_string()),
            Just("\"x-zuplo-route\"".to_string()),
            Just("\"get,post\"".to_string()),
            Just("null".to_string()),
            Just("1e999".to_string()),
            Just("-0".to_string()),
            Just("ü€".to_string()),
            Just("\\u0000".to_string()),
            "[a-zA-Z0-9 _./-]{0,8}",
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn truncated_files_give_findings_not_panics(a in 0usize..2000, b in 0usize..4000, c in 0usize..6000, which in 0u8..3) {
        let dir = tempfile::tempdir().unwrap();
        let (z, r, p) = match which {
            0 => (cut(ZUPLO, a), ROUTES, POLICIES),
            1 => (ZUPLO, cut(ROUTES, b), POLICIES),
            _ => (ZUPLO, ROUTES, cut(POLICIES, c)),
        };
        write_project(dir.path(), z, r, p, cut(RUNTIME, a));
        let report = validate::validate_path(dir.path(), &Options::default()).unwrap();
        let damaged = z.trim_end() != ZUPLO.trim_end() || r.trim_end() != ROUTES.trim_end() || p.trim_end() != POLICIES.trim_end();
        if damaged {
            // a JSONC object cut before its closing brace no longer parses: that is a finding
            prop_assert!(!report.diagnostics.is_empty(), "no finding for a truncated file");
        }
        let _ = mcpgw::validate::render::human(&report, Default::default());
        let _ = mcpgw::validate::render::sarif(&report, ".");
    }

    #[test]
    fn random_files_give_findings_not_panics(z in noise(), r in noise(), p in noise(), t in noise()) {
        let dir = tempfile::tempdir().unwrap();
        write_project(dir.path(), &z, &r, &p, &t);
        let report = validate::validate_path(dir.path(), &Options::default()).unwrap();
        // routes and policies are required objects: noise that parses as one is very unlikely
        let policies_ok = report.project.policies_file.is_some()
            && !report.diagnostics.iter().any(|d| d.rule.code == "MCP006");
        prop_assert!(!report.diagnostics.is_empty() || policies_ok);
        let _ = mcpgw::validate::render::human(&report, Default::default());
        let _ = mcpgw::validate::render::json(&report);
    }

    #[test]
    fn mutated_values_in_a_valid_project(pos in 0usize..6000, insert in noise()) {
        let dir = tempfile::tempdir().unwrap();
        let at = cut(POLICIES, pos).len();
        let mutated = format!("{}{}{}", &POLICIES[..at], insert, &POLICIES[at..]);
        write_project(dir.path(), ZUPLO, ROUTES, &mutated, RUNTIME);
        let report = validate::validate_path(dir.path(), &Options::default()).unwrap();
        let _ = mcpgw::validate::render::human(&report, Default::default());
    }
}

#[test]
fn the_binary_answers_garbage_with_findings() {
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        "{\"version\": 1,,}",
        "[1, 2",
        "\u{feff}{ /* ",
        "new McpGatewayPlugin({ basePath: ",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcpgw"))
        .args(["validate", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    for expected in ["MCP001", "MCP006", "MCP101"] {
        assert!(rules.contains(&expected), "{expected} missing in {rules:?}");
    }
}

//! Rule 45 (MCP045): renaming an upstream id or an MCP operationId strands users' connections
//! and tokens. The rule compares the project with a git revision (`--baseline REV`), so it is
//! shown here with a temporary repository instead of a static fixture.

use mcpgw::validate::{self, Options};
use std::path::Path;
use std::process::Command;

const ZUPLO: &str = "{\n  \"version\": 1,\n  \"compatibilityDate\": \"2026-03-01\",\n}\n";

const RUNTIME: &str = r#"import { RuntimeExtensions } from "@zuplo/runtime";
import { McpGatewayPlugin } from "@zuplo/runtime/mcp-gateway";

export function runtimeInit(runtime: RuntimeExtensions) {
  runtime.addPlugin(new McpGatewayPlugin());
}
"#;

fn routes(exchange_policy: &str) -> String {
    format!(
        r#"{{
  "openapi": "3.1.0",
  "info": {{ "title": "MCP gateway", "version": "1.0.0" }},
  "paths": {{
    "/mcp/linear-v1": {{
      "get,post": {{
        "operationId": "linear-mcp-server",
        "x-zuplo-route": {{
          "corsPolicy": "none",
          "handler": {{
            "export": "McpProxyHandler",
            "module": "$import(@zuplo/runtime/mcp-gateway)",
            "options": {{ "rewritePattern": "https://mcp.linear.app/mcp" }}
          }},
          "policies": {{ "inbound": ["dev-oauth", "{exchange_policy}"] }}
        }}
      }}
    }}
  }}
}}
"#
    )
}

fn policies(exchange_policy: &str) -> String {
    format!(
        r#"{{
  "policies": [
    {{
      "name": "dev-oauth",
      "policyType": "mcp-oauth-inbound",
      "handler": {{
        "export": "McpOAuthInboundPolicy",
        "module": "$import(@zuplo/runtime/mcp-gateway)",
        "options": {{
          "oidc": {{
            "issuer": "http://127.0.0.1:9000/__zuplo/dev-idp",
            "jwksUrl": "http://127.0.0.1:9000/__zuplo/dev-idp/jwks"
          }},
          "browserLogin": {{ "url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login" }}
        }}
      }}
    }},
    {{
      "name": "{exchange_policy}",
      "policyType": "mcp-token-exchange-inbound",
      "handler": {{
        "export": "McpTokenExchangeInboundPolicy",
        "module": "$import(@zuplo/runtime/mcp-gateway)",
        "options": {{ "displayName": "Linear", "authMode": "user-oauth" }}
      }}
    }}
  ]
}}
"#
    )
}

fn write_project(dir: &Path, exchange_policy: &str) {
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    std::fs::write(dir.join("zuplo.jsonc"), ZUPLO).unwrap();
    std::fs::write(dir.join("modules/zuplo.runtime.ts"), RUNTIME).unwrap();
    std::fs::write(dir.join("config/routes.oas.json"), routes(exchange_policy)).unwrap();
    std::fs::write(dir.join("config/policies.json"), policies(exchange_policy)).unwrap();
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=mcpgw",
            "-c",
            "user.email=dev@mcpgw.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository with the project committed as it was at HEAD.
fn committed_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    write_project(dir.path(), "mcp-token-exchange-linear");
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "gateway"]);
    dir
}

fn baseline_head() -> Options {
    Options {
        process_env: false,
        baseline: Some("HEAD".into()),
        ..Options::default()
    }
}

fn mcp045(report: &validate::Report) -> Vec<String> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.rule.code == "MCP045")
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn renamed_upstream_id_fires() {
    let dir = committed_project();
    // the upstream id comes from the policy name: mcp-token-exchange-linear -> linear-app
    write_project(dir.path(), "mcp-token-exchange-linear-app");
    let report = validate::validate_path(dir.path(), &baseline_head()).unwrap();
    let found = mcp045(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("\"linear\""), "{}", found[0]);
    assert!(found[0].contains("linear-app"), "{}", found[0]);
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.rule.code == "MCP045")
        .unwrap();
    assert_eq!(d.severity, mcpgw::diag::Severity::Warning);
}

#[test]
fn unchanged_project_stays_quiet() {
    let dir = committed_project();
    let report = validate::validate_path(dir.path(), &baseline_head()).unwrap();
    assert_eq!(mcp045(&report), Vec::<String>::new());
    assert!(
        report.diagnostics.is_empty(),
        "unexpected findings: {:?}",
        report
            .diagnostics
            .iter()
            .map(|d| (d.rule.code, d.message.as_str()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn without_baseline_nothing_is_compared() {
    let dir = committed_project();
    write_project(dir.path(), "mcp-token-exchange-linear-app");
    let report = validate::validate_path(dir.path(), &Options::default()).unwrap();
    assert_eq!(mcp045(&report), Vec::<String>::new());
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn explicit_id_change_fires() {
    let dir = committed_project();
    edit(
        &dir.path().join("config/policies.json"),
        "\"displayName\": \"Linear\",",
        "\"id\": \"linear-workspace\", \"displayName\": \"Linear\",",
    );
    let report = validate::validate_path(dir.path(), &baseline_head()).unwrap();
    let found = mcp045(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("\"linear\"") && found[0].contains("linear-workspace"),
        "{}",
        found[0]
    );
}

#[test]
fn renamed_operation_id_fires() {
    let dir = committed_project();
    edit(
        &dir.path().join("config/routes.oas.json"),
        "\"linear-mcp-server\"",
        "\"linear-server\"",
    );
    let report = validate::validate_path(dir.path(), &baseline_head()).unwrap();
    let found = mcp045(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("linear-mcp-server"), "{}", found[0]);
}

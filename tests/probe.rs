//! `mcpgw upstream probe` as users run it, over real HTTP: the verdict for each kind of upstream
//! (the interop peers from ../shared/interop and small in-test servers for what they do not
//! cover), the `--json` shape, the exit codes, and that the suggested policy and route, pasted
//! into a fresh project, validate clean.
//!
//! The interop tests need `MCPGW_INTEROP_DIR`; without it they print SKIP and return.

mod common;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn mcpgw() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcpgw"));
    cmd.env_remove("NO_COLOR").env("CI", "true");
    cmd
}

/// Runs `mcpgw upstream probe URL --json ARGS…` off the runtime; returns the exit code and the
/// JSON report.
async fn probe_json(url: &str, args: &[&str]) -> (i32, Value) {
    let mut cmd = mcpgw();
    cmd.args(["upstream", "probe", url, "--json"]).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("mcpgw ran"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "--json is not one JSON object ({e}):\n{stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let code = out.status.code().expect("exit code");
    assert_eq!(report["exit_code"], code, "exit_code field = exit status");
    (code, report)
}

/// Every report has these, whatever the verdict.
fn assert_shape(r: &Value, url: &str) {
    assert_eq!(r["url"], url);
    let steps = r["steps"].as_array().expect("steps");
    assert!(!steps.is_empty());
    assert_eq!(steps[0]["step"], "probe");
    assert_eq!(steps[0]["method"], "POST");
    for s in steps {
        for k in ["step", "method", "url", "status", "outcome"] {
            assert!(s.get(k).is_some(), "step lacks {k}: {s}");
        }
    }
    let v = &r["verdict"];
    for k in ["outcome", "summary", "problems", "warnings"] {
        assert!(v.get(k).is_some(), "verdict lacks {k}: {v}");
    }
    assert!(v["summary"].as_str().is_some_and(|s| !s.is_empty()));
    let works = matches!(v["outcome"].as_str(), Some("works" | "no_auth_needed"));
    assert_eq!(r["suggestion"].is_object(), works, "{r}");
    assert_eq!(v["problems"].as_array().unwrap().is_empty(), works, "{v}");
}

/// `mcpgw init DIR --template quickstart`, the suggestion pasted in as text (the way a user
/// pastes it into the JSONC files), then `mcpgw validate`: no errors and no warnings. Returns
/// the project (its directory is `gw` inside the returned temporary directory).
fn paste_and_validate(report: &Value, env: &[(&str, &str)]) -> tempfile::TempDir {
    let s = &report["suggestion"];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gw");
    let init = mcpgw()
        .args(["init", dir.to_str().unwrap(), "--template", "quickstart"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    if let Some(policy) = s["policy"].as_object() {
        paste(
            &dir.join("config/policies.json"),
            "\"policies\": [",
            &format!("{},", serde_json::to_string_pretty(policy).unwrap()),
        );
    }
    paste(
        &dir.join("config/routes.oas.json"),
        "\"paths\": {",
        &format!(
            "\"{}\": {},",
            s["route_path"].as_str().unwrap(),
            serde_json::to_string_pretty(&s["route"]).unwrap()
        ),
    );
    if !env.is_empty() {
        let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(dir.join(".env"), text).unwrap();
    }
    let out = mcpgw()
        .args(["validate", dir.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).expect("validate json");
    assert_eq!(
        (
            v["summary"]["errors"].as_u64(),
            v["summary"]["warnings"].as_u64()
        ),
        (Some(0), Some(0)),
        "the pasted suggestion does not validate clean: {v:#}"
    );
    assert_eq!(out.status.code(), Some(0));
    tmp
}

fn paste(file: &Path, after: &str, text: &str) {
    let s = std::fs::read_to_string(file).unwrap();
    let at = s.find(after).expect("anchor in template") + after.len();
    std::fs::write(file, format!("{}\n{text}\n{}", &s[..at], &s[at..])).unwrap();
}

fn options(r: &Value) -> &Value {
    &r["suggestion"]["policy"]["handler"]["options"]
}

fn step_urls(r: &Value) -> Vec<String> {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap().to_string())
        .collect()
}

// --- interop peers ----------------------------------------------------------------------------

fn py_server(dir: &Path, args: &[&str]) -> (Child, String) {
    let (child, ready) = spawn_ready(
        Command::new(dir.join("venv/bin/python"))
            .arg(dir.join("upstreams/py_mcp_server.py"))
            .args(["--port", "0"])
            .args(args),
    );
    (child, ready["url"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn python_oauth_upstream_variants() {
    let Some(dir) = interop_dir("python_oauth_upstream_variants") else {
        return;
    };

    // default: PRM under the path, resource_metadata in the challenge, DCR
    let (_srv, url) = py_server(&dir, &["--oauth"]);
    let (code, r) = probe_json(&url, &[]).await;
    assert_shape(&r, &url);
    assert_eq!(code, 0, "{r:#}");
    let v = &r["verdict"];
    assert_eq!(v["outcome"], "works");
    assert_eq!(v["auth_required"], true);
    assert_eq!(v["prm_needs_explicit_url"], false);
    assert!(
        v["prm_url"]
            .as_str()
            .unwrap()
            .ends_with("/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(v["pkce_s256"], true);
    assert_eq!(v["registration"], "dcr");
    assert_eq!(v["scopes"], "mcp:tools");
    assert_eq!(v["scope_source"], "protected_resource_metadata");
    assert_eq!(v["resource"], url.as_str());
    assert_eq!(v["resource_matches_url"], true);
    assert!(v["token_endpoint"].as_str().unwrap().ends_with("/token"));
    assert!(r["probe"]["challenge"]["resource_metadata"].is_string());
    // the unauthenticated first contact spoke 2026-07-28; a 401 tells no era
    assert_eq!(r["probe"]["era"], "2026-07-28");
    assert_eq!(r["steps"][0]["status"], 401);
    assert!(v["protocol"].is_null(), "{v}");
    assert_eq!(options(&r)["authMode"], "user-oauth");
    assert!(options(&r).get("protectedResourceMetadataUrl").is_none());
    assert!(options(&r).get("scopes").is_none());
    assert!(options(&r).get("clientRegistration").is_none());
    let inbound = &r["suggestion"]["route"]["get,post"]["x-zuplo-route"]["policies"]["inbound"];
    assert_eq!(
        inbound,
        &json!(["dev-oauth", "mcp-token-exchange-upstream"])
    );
    assert_eq!(
        r["suggestion"]["route"]["get,post"]["x-zuplo-route"]["handler"]["options"]["rewritePattern"],
        url.as_str()
    );
    paste_and_validate(&r, &[]);

    // --scope, --id and --oauth-policy shape the suggestion
    let (code, r) = probe_json(
        &url,
        &[
            "--scope",
            "mcp:tools extra",
            "--id",
            "Py Demo",
            "--oauth-policy",
            "dev-oauth",
        ],
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(r["verdict"]["scope_source"], "option");
    assert_eq!(options(&r)["scopes"], json!(["mcp:tools", "extra"]));
    assert_eq!(
        r["suggestion"]["policy"]["name"],
        "mcp-token-exchange-py-demo"
    );
    assert_eq!(r["suggestion"]["route_path"], "/mcp/py-demo-v1");
    paste_and_validate(&r, &[]);
    drop(_srv);

    // PRM only at the root and no resource_metadata: found by the last fallback, so the
    // policy must name it
    let (_srv, url) = py_server(
        &dir,
        &["--oauth", "--prm-at", "root", "--no-resource-metadata"],
    );
    let (code, r) = probe_json(&url, &[]).await;
    assert_shape(&r, &url);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"]["prm_needs_explicit_url"], true);
    let prm = r["verdict"]["prm_url"].as_str().unwrap().to_string();
    assert!(
        prm.ends_with("/.well-known/oauth-protected-resource"),
        "{prm}"
    );
    assert_eq!(options(&r)["protectedResourceMetadataUrl"], prm.as_str());
    let urls = step_urls(&r);
    assert!(urls[1].ends_with("/.well-known/oauth-protected-resource/mcp"));
    assert_eq!(r["steps"][1]["status"], 404);
    assert_eq!(urls[2], prm);
    paste_and_validate(&r, &[]);
    drop(_srv);

    // PRM at the root, named by the challenge: one PRM request, and the URL is still needed
    // for the Zuplo runtime, which only reads the default path
    let (_srv, url) = py_server(&dir, &["--oauth", "--prm-at", "root"]);
    let (code, r) = probe_json(&url, &[]).await;
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"]["prm_needs_explicit_url"], true);
    let prm_steps = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "protected_resource_metadata")
        .count();
    assert_eq!(prm_steps, 1, "{r:#}");
    drop(_srv);

    // no PRM at all (2025-03-26 style): the AS at the origin, no resource, warnings
    let (_srv, url) = py_server(&dir, &["--oauth", "--prm-at", "none"]);
    let (code, r) = probe_json(&url, &[]).await;
    assert_shape(&r, &url);
    assert_eq!(code, 0, "{r:#}");
    assert!(r["discovery"]["prm"].is_null());
    assert!(r["verdict"]["resource"].is_null());
    assert_eq!(r["verdict"]["prm_needs_explicit_url"], false);
    let warnings = r["verdict"]["warnings"].to_string();
    assert!(
        warnings.contains("no protected resource metadata"),
        "{warnings}"
    );
    assert!(warnings.contains("--scope"), "{warnings}");
    assert!(options(&r).get("protectedResourceMetadataUrl").is_none());
    paste_and_validate(&r, &[]);
    drop(_srv);

    // scope in the challenge wins over PRM scopes_supported (§6.5)
    let (_srv, url) = py_server(&dir, &["--oauth", "--challenge-scope"]);
    let (code, r) = probe_json(&url, &[]).await;
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"]["scope_source"], "challenge");
    assert_eq!(r["probe"]["challenge"]["scope"], "mcp:tools");
}

#[tokio::test(flavor = "multi_thread")]
async fn ts_sdk_oauth_upstream() {
    let Some(dir) = interop_dir("ts_sdk_oauth_upstream") else {
        return;
    };
    let (_srv, ready) = spawn_ready(
        Command::new("bash")
            .arg(dir.join("upstreams/ts-oauth-upstream.sh"))
            .args(["0", "0"]),
    );
    let url = ready["url"].as_str().unwrap();
    let issuer = ready["issuer"].as_str().unwrap();
    let (code, r) = probe_json(url, &[]).await;
    assert_shape(&r, url);
    assert_eq!(code, 0, "{r:#}");
    let v = &r["verdict"];
    assert_eq!(v["outcome"], "works");
    assert_eq!(v["registration"], "dcr");
    assert_eq!(v["pkce_s256"], true);
    assert_eq!(v["resource_matches_url"], true);
    // the AS is on its own port, found through PRM authorization_servers
    assert!(
        v["authorization_server"]
            .as_str()
            .unwrap()
            .starts_with(issuer),
        "{v}"
    );
    assert!(step_urls(&r).last().unwrap().starts_with(issuer));
    assert!(
        options(&r)["displayName"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    paste_and_validate(&r, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn open_upstreams_need_no_auth() {
    let Some(dir) = interop_dir("open_upstreams_need_no_auth") else {
        return;
    };
    let (_everything, ready) = spawn_everything(&dir);
    let (_py, py_url) = py_server(&dir, &[]);
    // server-everything speaks 2025-11-25 only: its "Server not initialized" answer to
    // server/discover makes the probe fall back to initialize; the Python SDK 2.3 server
    // answers server/discover
    for (url, args, era, steps) in [
        (ready["url"].as_str().unwrap(), &[][..], "2025-11-25", 2),
        (py_url.as_str(), &[], "2026-07-28", 1),
        (
            py_url.as_str(),
            &["--protocol", "2025-11-25"],
            "2025-11-25",
            1,
        ),
        (
            py_url.as_str(),
            &["--protocol", "2026-07-28"],
            "2026-07-28",
            1,
        ),
    ] {
        let (code, r) = probe_json(url, args).await;
        assert_shape(&r, url);
        assert_eq!(code, 0, "{r:#}");
        assert_eq!(r["verdict"]["outcome"], "no_auth_needed");
        assert_eq!(r["verdict"]["auth_required"], false);
        // initialize names the server in serverInfo, server/discover in _meta
        let result = &r["probe"]["response"]["result"];
        assert!(
            result["serverInfo"]["name"].is_string()
                || result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"].is_string(),
            "{r:#}"
        );
        assert!(r["suggestion"]["policy"].is_null());
        assert_eq!(
            r["suggestion"]["route"]["get,post"]["x-zuplo-route"]["policies"]["inbound"],
            json!(["dev-oauth"])
        );
        assert_eq!(r["verdict"]["protocol"], era, "{args:?} {r:#}");
        assert_eq!(r["probe"]["era"], era, "{args:?}");
        assert_eq!(
            r["steps"].as_array().unwrap().len(),
            steps,
            "{args:?} {r:#}"
        );
        if steps == 2 {
            assert!(
                r["steps"][0]["outcome"]
                    .as_str()
                    .unwrap()
                    .contains("falling back to initialize"),
                "{r:#}"
            );
            assert!(r["probe"]["fell_back_from"]["response"]["error"].is_object());
        }
        paste_and_validate(&r, &[]);
    }
}

// --- the built-in mock upstream with its switches ---------------------------------------------------

/// `mcpgw upstream mock --oauth ARGS` on a free port; `MCPGW_MOCK_BIN` may name another build
/// of mcpgw that has it. `None` (the test prints SKIP) while `--oauth` is not built.
fn oauth_mock(args: &[&str]) -> Option<(Child, String)> {
    let bin =
        std::env::var("MCPGW_MOCK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_mcpgw").into());
    let (child, ready) = try_spawn_ready(
        Command::new(bin)
            .args(["upstream", "mock", "--oauth", "--port", "0"])
            .args(args),
    )?;
    let url = ready["url"].as_str()?.to_string();
    Some((child, url))
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_mock_variants() {
    // (switches, registration, PRM off the default path, scope source, refresh tokens)
    let cases: &[(&[&str], &str, Value, Value, Value)] = &[
        (
            &[],
            "dcr",
            json!(false),
            json!("protected_resource_metadata"),
            json!(true),
        ),
        (
            &["--prm-at", "root", "--no-resource-metadata"],
            "dcr",
            json!(true),
            json!("protected_resource_metadata"),
            json!(true),
        ),
        (
            &["--prm-at", "none"],
            "dcr",
            json!(false),
            Value::Null,
            json!(true),
        ),
        (
            &["--challenge-scope"],
            "dcr",
            json!(false),
            json!("challenge"),
            json!(true),
        ),
        (
            &["--no-dcr"],
            "manual",
            json!(false),
            json!("protected_resource_metadata"),
            json!(true),
        ),
        (
            &["--no-dcr", "--cimd"],
            "cimd",
            json!(false),
            json!("protected_resource_metadata"),
            json!(true),
        ),
        (
            &["--no-refresh"],
            "dcr",
            json!(false),
            json!("protected_resource_metadata"),
            json!(false),
        ),
    ];
    for (args, registration, explicit, scope_source, refresh) in cases {
        let Some((_mock, url)) = oauth_mock(args) else {
            eprintln!("SKIP oauth_mock_variants: `mcpgw upstream mock --oauth` is not built here");
            return;
        };
        let (code, r) = probe_json(&url, &["--id", "lab-mock"]).await;
        assert_shape(&r, &url);
        assert_eq!(code, 0, "{args:?}: {r:#}");
        let v = &r["verdict"];
        assert_eq!(v["outcome"], "works", "{args:?}");
        assert_eq!(v["registration"], *registration, "{args:?}");
        assert_eq!(v["prm_needs_explicit_url"], *explicit, "{args:?}");
        assert_eq!(v["scope_source"], *scope_source, "{args:?}");
        assert_eq!(v["refresh_tokens"], *refresh, "{args:?}");
        assert_eq!(
            options(&r).get("protectedResourceMetadataUrl").is_some(),
            *explicit == json!(true),
            "{args:?}"
        );
        let env: &[(&str, &str)] = if *registration == "manual" {
            &[
                ("LAB_MOCK_CLIENT_ID", "app"),
                ("LAB_MOCK_CLIENT_SECRET", "s3cret"),
            ]
        } else {
            &[]
        };
        paste_and_validate(&r, env);
    }
}

/// The whole path a user takes: probe the upstream, paste the suggestion into a fresh
/// quickstart project, start `mcpgw dev` on it, and connect a real MCP client (the TS SDK
/// client of ../shared/interop). The first run connects the upstream from the consent page;
/// the tool call then goes through the gateway with the gateway's own upstream token.
#[tokio::test(flavor = "multi_thread")]
async fn pasted_suggestion_works_under_mcpgw_dev() {
    let Some(dir) = interop_dir("pasted_suggestion_works_under_mcpgw_dev") else {
        return;
    };
    // (mock switches, the .env a manual registration needs)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (&[], &[]),
        (&["--prm-at", "root", "--no-resource-metadata"], &[]),
        (
            &[
                "--no-dcr",
                "--client-id",
                "app",
                "--client-secret",
                "s3cret",
            ],
            &[
                ("LAB_MOCK_CLIENT_ID", "app"),
                ("LAB_MOCK_CLIENT_SECRET", "s3cret"),
            ],
        ),
    ];
    for (args, env) in cases {
        let Some((_mock, url)) = oauth_mock(args) else {
            eprintln!("SKIP pasted_suggestion_works_under_mcpgw_dev: no `upstream mock --oauth`");
            return;
        };
        let base = url.trim_end_matches("/mcp").to_string();
        let (code, r) = probe_json(&url, &["--id", "lab-mock"]).await;
        assert_eq!(code, 0, "{args:?}: {r:#}");
        let steps = run_pasted(&dir, &r, env, "add", r#"{"a":20,"b":22}"#).await;
        assert!(
            step(&steps, "call")["result"]
                .to_string()
                .contains("\"42\""),
            "{args:?}: {steps:#?}"
        );
        // §6.7: the upstream sends no icons, so the gateway adds its site's favicon
        assert_eq!(
            step(&steps, "connect")["serverInfo"]["icons"],
            json!([{"src": format!("{base}/favicon.ico")}]),
            "{args:?}: {steps:#?}"
        );
        // the call reached the upstream with a token its own AS issued to the gateway
        let stats: Value = reqwest::get(format!("{base}/__mock/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(stats["authorizations"], 1, "{args:?}: {stats:#}");
        let registrations = stats["registrations"].as_u64().unwrap_or(0);
        assert_eq!(
            registrations,
            u64::from(env.is_empty()),
            "{args:?}: {stats:#}"
        );
    }
}

/// The Python SDK server with its own AS (PRM at the root, no `resource_metadata`): the same
/// path, probe → paste → `mcpgw dev` → TS client, against a third-party upstream.
#[tokio::test(flavor = "multi_thread")]
async fn pasted_suggestion_for_the_python_sdk_upstream_works_under_mcpgw_dev() {
    let Some(dir) =
        interop_dir("pasted_suggestion_for_the_python_sdk_upstream_works_under_mcpgw_dev")
    else {
        return;
    };
    let (_py, url) = py_server(
        &dir,
        &["--oauth", "--prm-at", "root", "--no-resource-metadata"],
    );
    let (code, r) = probe_json(&url, &["--id", "py"]).await;
    assert_eq!(code, 0, "{r:#}");
    let steps = run_pasted(&dir, &r, &[], "whoami", "{}").await;
    assert!(
        step(&steps, "call")["result"]
            .to_string()
            .contains("demo-user"),
        "{steps:#?}"
    );
}

/// Pastes `report`'s suggestion into a quickstart project (validated clean), runs the `mcpgw
/// dev` binary on it and the TS SDK client through the suggested route, calling `tool`; the
/// client must succeed. Returns its steps.
async fn run_pasted(
    dir: &Path,
    report: &Value,
    env: &[(&str, &str)],
    tool: &str,
    args: &str,
) -> Vec<Value> {
    let project = paste_and_validate(report, env);
    let dev = spawn_dev(&project.path().join("gw"));
    let route = report["suggestion"]["route_path"].as_str().unwrap();
    let tokens = project.path().join("client-tokens.json");
    let (code, steps, err) = run_client(ts_client(
        dir,
        &format!("{}{route}", dev.origin),
        &tokens,
        &["--call", tool, "--args", args],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");
    steps
}

// --- in-test servers for the variants the peers do not have ------------------------------------

/// An OAuth-protected MCP endpoint at `/mcp` with PRM under the path and AS metadata at the
/// root, the AS metadata shaped by `tweak`.
async fn protected(tweak: impl Fn(&mut Value) + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut meta = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    });
    tweak(&mut meta);
    let prm = json!({"resource": format!("{base}/mcp"), "authorization_servers": [base],
        "scopes_supported": ["read"], "resource_name": "Test Upstream"});
    let challenge =
        format!("Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\"");
    let modern_challenge = challenge.clone();
    let app = axum::Router::new()
        .route(
            "/mcp",
            post(move || {
                let c = challenge.clone();
                async move { (StatusCode::UNAUTHORIZED, [("www-authenticate", c)], "") }
            }),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(move || {
                let prm = prm.clone();
                async move { axum::Json(prm) }
            }),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || {
                let m = meta.clone();
                async move { axum::Json(m) }
            }),
        )
        // under /mcp: the PRM's resource ({base}/mcp) names it (RFC 9728 §3.3, path prefix)
        .route(
            "/mcp/modern-only",
            post({
                let c = modern_challenge;
                move |headers: axum::http::HeaderMap| {
                    let c = c.clone();
                    async move {
                        let version = headers
                            .get("mcp-protocol-version")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        if version != "2026-07-28" {
                            return (
                                StatusCode::BAD_REQUEST,
                                axum::Json(
                                    json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32022,
                                    "message": "Unsupported protocol version",
                                    "data": {"supported": ["2026-07-28"], "requested": version}}}),
                                ),
                            )
                                .into_response();
                        }
                        (StatusCode::UNAUTHORIZED, [("www-authenticate", c)], "").into_response()
                    }
                }
            }),
        )
        .route(
            "/newera",
            post(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"jsonrpc": "2.0", "id": 1,
                        "error": {"code": -32601, "message": "Method not found: initialize"}})),
                )
            }),
        )
        .route(
            "/badrequest",
            post(|| async { (StatusCode::BAD_REQUEST, "bad") }),
        )
        .route(
            "/notfound",
            post(|| async { StatusCode::NOT_FOUND.into_response() }),
        )
        .route(
            "/sleepy",
            post(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                ""
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("{base}/mcp")
}

#[tokio::test(flavor = "multi_thread")]
async fn no_cimd_no_dcr_suggests_manual_registration() {
    let url = protected(|_| {}).await;
    let (code, r) = probe_json(&url, &["--id", "acme"]).await;
    assert_shape(&r, &url);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"]["registration"], "manual");
    assert_eq!(r["verdict"]["dcr_supported"], false);
    assert_eq!(r["verdict"]["cimd_supported"], false);
    assert_eq!(
        options(&r)["clientRegistration"],
        json!({"mode": "manual", "clientId": "$env(ACME_CLIENT_ID)",
            "clientSecret": "$env(ACME_CLIENT_SECRET)", "tokenEndpointAuthMethod": "client_secret_post"})
    );
    assert_eq!(options(&r)["displayName"], "Test Upstream");
    assert_eq!(
        r["suggestion"]["env"],
        json!(["ACME_CLIENT_ID", "ACME_CLIENT_SECRET"])
    );
    assert!(
        r["suggestion"]["redirect_uri"]
            .as_str()
            .unwrap()
            .ends_with("/auth/connections/acme/callback")
    );
    paste_and_validate(
        &r,
        &[
            ("ACME_CLIENT_ID", "client-1"),
            ("ACME_CLIENT_SECRET", "s3cret"),
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cimd_without_dcr_warns_about_http_origins() {
    let url = protected(|m| m["client_id_metadata_document_supported"] = json!(true)).await;
    let (code, r) = probe_json(&url, &[]).await;
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"]["registration"], "cimd");
    assert!(r["verdict"]["warnings"].to_string().contains("https"));
    assert!(options(&r).get("clientRegistration").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn upstreams_that_cannot_work_exit_1_with_the_reason() {
    let plain = protected(|m| m["code_challenge_methods_supported"] = json!(["plain"])).await;
    let (code, r) = probe_json(&plain, &[]).await;
    assert_shape(&r, &plain);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"]["outcome"], "cannot_work");
    assert!(
        r["verdict"]["problems"].to_string().contains("S256"),
        "{r:#}"
    );

    let wrong_issuer = protected(|m| m["issuer"] = json!("https://elsewhere.example")).await;
    let (code, r) = probe_json(&wrong_issuer, &[]).await;
    assert_eq!(code, 1);
    assert!(
        r["verdict"]["summary"]
            .as_str()
            .unwrap()
            .contains("elsewhere.example")
    );
    // the failed step is still shown
    assert_eq!(r["steps"].as_array().unwrap().len(), 3);

    let no_code_grant =
        protected(|m| m["grant_types_supported"] = json!(["client_credentials"])).await;
    let (code, r) = probe_json(&no_code_grant, &[]).await;
    assert_eq!(code, 1);
    assert!(
        r["verdict"]["problems"]
            .to_string()
            .contains("authorization_code")
    );

    let not_found = plain.replace("/mcp", "/notfound");
    let (code, r) = probe_json(&not_found, &[]).await;
    assert_shape(&r, &not_found);
    assert_eq!(code, 1);
    assert!(r["verdict"]["summary"].as_str().unwrap().contains("404"));
    // auto: a 404 to server/discover may be a server without 2026-07-28, so initialize is
    // asked too; pinned to one revision, one request
    assert_eq!(r["steps"].as_array().unwrap().len(), 2);
    let (code, r) = probe_json(&not_found, &["--protocol", "2025-11-25"]).await;
    assert_eq!(code, 1);
    assert_eq!(r["steps"].as_array().unwrap().len(), 1);

    let bad = plain.replace("/mcp", "/badrequest");
    let (code, r) = probe_json(&bad, &[]).await;
    assert_eq!(code, 1);
    assert!(r["verdict"]["summary"].as_str().unwrap().contains("400"));
}

/// RFC 9728 §3.3: a PRM naming another resource is a reason the upstream cannot work (the
/// gateway's client refuses it), with both URLs and the normalisation allowed; a resource that
/// differs only in what that normalisation allows still works.
#[tokio::test(flavor = "multi_thread")]
async fn a_prm_for_another_resource_cannot_work() {
    let Some((_m, url)) = oauth_mock(&["--prm-resource", "https://evil.example.com/mcp"]) else {
        eprintln!("SKIP a_prm_for_another_resource_cannot_work: no mock");
        return;
    };
    let (code, r) = probe_json(&url, &[]).await;
    assert_shape(&r, &url);
    assert_eq!(code, 1, "{r:#}");
    let v = &r["verdict"];
    assert_eq!(v["outcome"], "cannot_work", "{r:#}");
    assert_eq!(v["resource_matches_url"], false, "{r:#}");
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("https://evil.example.com/mcp") && problems.contains(&url),
        "{problems}"
    );
    assert!(problems.contains("RFC 9728"), "{problems}");
    assert!(
        v["summary"].as_str().unwrap().contains("evil.example.com"),
        "{r:#}"
    );

    // upper-case scheme and host, a trailing slash: the same resource, so it works
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin =
        std::env::var("MCPGW_MOCK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_mcpgw").into());
    let same = format!("HTTP://127.0.0.1:{port}/mcp/");
    let Some((_same_mock, ready)) = try_spawn_ready(
        Command::new(bin)
            .args(["upstream", "mock", "--oauth", "--port", &port.to_string()])
            .args(["--prm-resource", &same]),
    ) else {
        return;
    };
    let url = ready["url"].as_str().unwrap().to_string();
    let (code, r) = probe_json(&url, &[]).await;
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"]["resource_matches_url"], true, "{r:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_rpc_error_without_a_token_means_no_auth() {
    let url = protected(|_| {}).await.replace("/mcp", "/newera");
    let (code, r) = probe_json(&url, &[]).await;
    assert_shape(&r, &url);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"]["outcome"], "no_auth_needed");
    assert!(
        r["verdict"]["warnings"].to_string().contains("-32601"),
        "{r:#}"
    );
}

/// A protected upstream that speaks 2026-07-28 only and refuses other revisions before it
/// looks at the token (400, -32022 with the supported list): the default probe gets the
/// challenge with server/discover; one pinned to 2025-11-25 says why it cannot conclude.
#[tokio::test(flavor = "multi_thread")]
async fn a_2026_07_28_only_upstream_is_probed_with_server_discover() {
    let url = protected(|_| {}).await.replace("/mcp", "/mcp/modern-only");
    let (code, r) = probe_json(&url, &[]).await;
    assert_shape(&r, &url);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"]["outcome"], "works");
    assert_eq!(r["probe"]["era"], "2026-07-28");
    assert_eq!(r["steps"][0]["status"], 401);
    let (code, r) = probe_json(&url, &["--protocol", "2026-07-28"]).await;
    assert_eq!(code, 0, "{r:#}");

    let (code, r) = probe_json(&url, &["--protocol", "2025-11-25"]).await;
    assert_shape(&r, &url);
    assert_eq!(code, 1, "{r:#}");
    let summary = r["verdict"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("does not speak 2025-11-25")
            && summary.contains("2026-07-28")
            && summary.contains("--protocol auto"),
        "{summary}"
    );
    // and the usage error of a revision mcpgw does not know
    let out = mcpgw()
        .args(["upstream", "probe", &url, "--protocol", "2024-01-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn network_and_usage_errors_exit_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{port}/mcp");
    let (code, r) = probe_json(&closed, &[]).await;
    assert_shape(&r, &closed);
    assert_eq!(code, 2);
    assert_eq!(r["verdict"]["outcome"], "unreachable");
    assert!(r["steps"][0]["status"].is_null());

    let sleepy = protected(|_| {}).await.replace("/mcp", "/sleepy");
    let started = std::time::Instant::now();
    let (code, r) = probe_json(&sleepy, &["--timeout", "1"]).await;
    assert_eq!(code, 2);
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert!(
        r["steps"][0]["outcome"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );

    for args in [
        &["upstream", "probe", "ftp://example.com/mcp"][..],
        &["upstream", "probe", "not a url"],
        &[
            "upstream",
            "probe",
            "http://127.0.0.1:1/mcp",
            "--timeout",
            "0",
        ],
        &["upstream", "probe"],
    ] {
        let out = mcpgw().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn text_output_shows_steps_verdict_and_suggestion_and_respects_no_color() {
    let url =
        protected(|m| m["registration_endpoint"] = json!("http://127.0.0.1:1/register")).await;
    let run = move |color: Option<&str>| {
        let mut cmd = mcpgw();
        cmd.args(["upstream", "probe", &url]);
        match color {
            Some(c) => cmd.args(["--color", c]),
            None => cmd.env("NO_COLOR", "1"),
        };
        cmd
    };
    let plain = tokio::task::spawn_blocking(move || {
        let no_color = run(None).output().unwrap();
        let always = run(Some("always")).output().unwrap();
        (no_color, always)
    })
    .await
    .unwrap();
    let (no_color, always) = plain;
    assert_eq!(no_color.status.code(), Some(0));
    let text = String::from_utf8(no_color.stdout).unwrap();
    assert!(
        !text.contains('\x1b'),
        "NO_COLOR output has escapes:\n{text}"
    );
    for want in [
        "Steps",
        "POST",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "Verdict",
        "auth required",
        "PKCE S256",
        "client registration",
        "DCR",
        "scopes",
        "read (from the PRM scopes_supported)",
        "\"policyType\": \"mcp-token-exchange-inbound\"",
        "\"/mcp/upstream-v1\": {",
        "\"McpProxyHandler\"",
    ] {
        assert!(text.contains(want), "output lacks {want:?}:\n{text}");
    }
    // labels are aligned: every verdict value starts in the same column
    let fields: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Verdict")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.trim_start().starts_with('!'))
        .collect();
    assert!(fields.len() >= 8, "{text}");
    let column = fields[0].find("yes").expect("auth required yes");
    for f in &fields {
        let b = f.as_bytes();
        assert!(
            b.len() > column && b[column - 1] == b' ' && b[column] != b' ',
            "value not at column {column}: {f:?}\n{text}"
        );
    }
    assert!(String::from_utf8(always.stdout).unwrap().contains('\x1b'));
}

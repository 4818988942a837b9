//! `mcpgw dev` as a user runs it: the binary, its logs, and its shutdown.

mod common;

use common::*;
use serde_json::json;
use std::process::{Child, Command};
use std::time::Duration;

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn logs_one_json_line_per_request_and_never_a_secret() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/a-v1": mcp_route("a-server", &format!("http://{up}/mcp"), &[], json!({})) }),
        json!([]),
    );
    let mut dev = spawn_dev(dir.path());
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/mcp/a-v1?access_token=QUERY-SECRET&code=CODE-SECRET",
            dev.origin
        ))
        .header("authorization", "Bearer TOKEN-SECRET")
        .header("cookie", "zuplo_mcp_session=COOKIE-SECRET")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"secret":"BODY-SECRET"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(l) = dev.stdout.recv_timeout(Duration::from_millis(200)) {
            let done = l.contains("\"status\":200");
            lines.push(l);
            if done {
                break;
            }
        }
    }
    sigterm(&dev.child);
    let _ = dev.child.wait();
    while let Ok(l) = dev.stdout.recv_timeout(Duration::from_millis(200)) {
        lines.push(l);
    }
    let all = lines.join("\n");
    let access: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["request_id"].is_string())
        .collect();
    assert_eq!(access.len(), 1, "{all}");
    let line = &access[0];
    assert_eq!(line["status"], 200);
    assert_eq!(line["upstream_status"], 200);
    assert_eq!(line["operation_id"], "a-server");
    assert_eq!(line["route"], "/mcp/a-v1");
    assert_eq!(line["path"], "/mcp/a-v1");
    for secret in [
        "QUERY-SECRET",
        "CODE-SECRET",
        "TOKEN-SECRET",
        "COOKIE-SECRET",
        "BODY-SECRET",
    ] {
        assert!(!all.contains(secret), "{secret} reached the log:\n{all}");
    }
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/slow-v1": mcp_route("slow", &format!("http://{up}/slow"), &[], json!({})) }),
        json!([]),
    );
    let mut dev = spawn_dev(dir.path());
    let url = format!("{}/mcp/slow-v1", dev.origin);
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .body("{}")
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    sigterm(&dev.child);
    let status = tokio::time::timeout(Duration::from_secs(15), in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.unwrap(), 200, "the in-flight request was cut");
    let exit = dev.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// Issue #13: a config file replaced by a FIFO is not read (that would block the reload task
/// forever); the old config keeps serving, `mcpgw dev` says why, reload goes on working, and
/// SIGTERM still stops it.
#[cfg(unix)]
#[tokio::test]
async fn a_fifo_config_file_is_refused_on_reload_and_sigterm_still_stops_dev() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let route =
        json!({ "/mcp/a-v1": mcp_route("a-server", &format!("http://{up}/mcp"), &[], json!({})) });
    write_project(dir.path(), route.clone(), json!([]));
    let mut dev = spawn_dev(dir.path());
    let call = || async {
        reqwest::Client::new()
            .post(format!("{}/mcp/a-v1", dev.origin))
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(call().await, 200);

    let routes = dir.path().join("config/routes.oas.json");
    let saved = std::fs::read(&routes).unwrap();
    std::fs::remove_file(&routes).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&routes)
            .status()
            .unwrap()
            .success(),
        "mkfifo"
    );
    let said = |needle: &str, rx: &std::sync::mpsc::Receiver<String>| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(200))
                && l.contains(needle)
            {
                return true;
            }
        }
        false
    };
    assert!(
        said("FIFO", &dev.stderr),
        "mcpgw dev did not say why the reload was refused"
    );
    assert_eq!(call().await, 200, "the old config keeps serving");

    // the watcher still works: the real file back is picked up
    std::fs::remove_file(&routes).unwrap();
    std::fs::write(&routes, saved).unwrap();
    assert!(
        said("eload", &dev.stderr),
        "no reload after the file came back"
    );

    sigterm(&dev.child);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if dev.child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "SIGTERM did not stop mcpgw dev"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

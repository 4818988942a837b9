//! `mcpgw dev [DIR]`: run the gateway locally, print where everything is, reload on save.

use super::{DevArgs, LogFormat};
use crate::config::policies::handlers::HandlerConfig;
use crate::config::project;
use crate::gateway::reload::{self, ReloadEvent};
use crate::gateway::{self as server, DevOptions, Served};
use crate::validate::render::{self, HumanStyle};
use crate::web::origin::encode_route;
use std::io::IsTerminal;
use std::time::Duration;

pub fn run(args: DevArgs, color: bool) -> anyhow::Result<u8> {
    let root = match project::resolve_root(&args.dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read the project: {e}");
            return Ok(2);
        }
    };
    init_logging(args.log_format, color);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args, root, color))
}

fn init_logging(format: LogFormat, color: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MCPGW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Pretty => builder
            .compact()
            .with_ansi(color && std::io::stdout().is_terminal())
            .with_target(false)
            .try_init(),
    };
}

/// Human lines go to stdout with pretty logs, to stderr when stdout carries JSON logs.
struct Say {
    json_logs: bool,
}

impl Say {
    fn line(&self, s: &str) {
        if self.json_logs {
            eprintln!("{s}")
        } else {
            println!("{s}")
        }
    }
}

async fn serve(args: DevArgs, root: std::path::PathBuf, color: bool) -> anyhow::Result<u8> {
    let say = Say {
        json_logs: matches!(args.log_format, LogFormat::Json),
    };
    let style = HumanStyle { color };
    let report = match server::load_for(root.clone(), args.local_idp).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read the project: {e}");
            return Ok(2);
        }
    };
    if !report.diagnostics.is_empty() {
        say.line(render::human(&report, style).trim_end());
    }
    let broken = report.has_errors();
    let mut options = DevOptions::new(&root);
    options.host = args.host.clone();
    options.port = args.port;
    options.public_url = args.public_url.clone();
    options.trust_forwarded_host = args.trust_forwarded_host;
    options.allow_origins = args.allow_origin.clone();
    options.audit_log = args.audit_log.clone();
    options.node = args.node.clone();
    options.custom_timeout = Duration::from_secs(args.custom_timeout.max(1));
    options.state_dir = args.state_dir.clone();
    options.reset_secret_key = args.reset_secret_key;
    options.upstream_timeout_secs = args.upstream_timeout.max(1);
    options.upstream_idle_timeout_secs = args.upstream_idle_timeout.max(1);
    options.upstream_connect_timeout_secs = args.upstream_connect_timeout.max(1);
    options.header_read_timeout = std::time::Duration::from_secs(args.header_read_timeout.max(1));
    options.dev = crate::gateway::DevLogin {
        user: args.dev_user.clone(),
        roles: args.dev_roles.clone(),
        auto_consent: args.auto_consent,
        local_idp: args.local_idp,
    };
    if args.auto_consent && !is_loopback_bind(&args.host) {
        eprintln!(
            "error: --auto-consent is refused unless the gateway listens on loopback (--host 127.0.0.1)"
        );
        return Ok(2);
    }
    if let Some(path) = &options.audit_log
        && let Err(e) = crate::policies::audit_log::AuditSink::with_file(path)
    {
        eprintln!("error: cannot open the audit log {}: {e}", path.display());
        return Ok(2);
    }
    let opened = match server::open_state(options.state_dir(), options.reset_secret_key).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: cannot open the local state: {e}");
            return Ok(2);
        }
    };
    let key_note = match opened.key_source {
        crate::store::keyfile::KeySource::Created(_) => "secret.key created",
        crate::store::keyfile::KeySource::File(_) => "secret.key",
        crate::store::keyfile::KeySource::Env => "secret key from MCPGW_SECRET_KEY",
    };
    let db_note = if opened.db_created {
        "state.db created: empty state"
    } else {
        "state.db"
    };
    let mut state_line = format!("state: {} ({db_note}, {key_note})", opened.dir.display());
    if opened.dropped_connections > 0 {
        state_line.push_str(&format!(
            "; --reset-secret-key deleted {} upstream connection(s) sealed with the old key",
            opened.dropped_connections
        ));
    }
    let mock = match &args.with_mock {
        Some(addr) => match crate::mock::spawn(addr).await {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("error: cannot start the mock upstream: {e}");
                return Ok(2);
            }
        },
        None => None,
    };
    let served = Served::new(report);
    let running = match server::start_with_state(served, &options, opened).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: cannot listen on {}:{}: {e}",
                options.host, options.port
            );
            return Ok(2);
        }
    };
    let origin = match &options.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!("http://{}", running.addr),
    };
    say.line(&format!("mcpgw dev: {} on {origin}", root.display()));
    say.line(&format!("  {state_line}"));
    if !options.allow_origins.is_empty() {
        say.line(&format!(
            "  browser origins allowed on MCP routes besides {origin}: {}",
            options.allow_origins.join(", ")
        ));
    }
    if let Some(m) = &mock {
        say.line(&format!("  mock upstream: {}", m.url));
    }
    if let Some(path) = &options.audit_log {
        say.line(&format!(
            "  audit-log-inbound records: the dev log and {}",
            path.display()
        ));
    }
    if options.dev.local_idp {
        for line in stand_ins(&running.state.served.load().report, &options.dev.user) {
            say.line(&format!("  --local-idp: {line}"));
        }
    }
    if broken {
        say.line("Not serving until the errors above are fixed: every request answers 503. Watching for changes…");
    } else {
        let custom_runs = custom_runs(&running.state).await;
        banner(&say, &running.state.served.load(), &origin, custom_runs);
    }
    let served_now = running.state.served.load();
    let hint = super::keys::dev_hint(
        &served_now.report,
        &running.state.store,
        &args.dir,
        args.state_dir.as_deref(),
    );
    if let Some(hint) = hint.await {
        say.line(&format!("  {hint}"));
    }

    let mut events = reload::watch(
        running.state.clone(),
        root.clone(),
        options.reload_interval,
        running.shutdown.clone(),
    );
    let shutdown = running.shutdown.clone();
    let printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                ReloadEvent::Reloaded(served) => {
                    if !served.report.diagnostics.is_empty() {
                        say.line(render::human(&served.report, style).trim_end());
                    }
                    say.line("Reloaded: serving the new configuration.");
                    let custom_runs = custom_runs(&running.state).await;
                    banner(&say, &served, &origin, custom_runs);
                }
                ReloadEvent::Rejected(report) => {
                    say.line(render::human(&report, style).trim_end());
                    say.line("Not reloaded: the change has errors; the previous configuration keeps serving.");
                }
                ReloadEvent::StillBroken(served) => {
                    say.line(render::human(&served.report, style).trim_end());
                    say.line("Still not serving: fix the errors above.");
                }
                ReloadEvent::Unreadable(e) => say.line(&format!("Not reloaded: {e}")),
            }
        }
    });

    wait_for_signal().await;
    eprintln!(
        "Shutting down: letting requests in flight finish (at most {} s)…",
        options.shutdown_grace.as_secs()
    );
    shutdown.cancel();
    let _ = tokio::time::timeout(
        options.shutdown_grace + Duration::from_secs(1),
        running.task,
    )
    .await;
    printer.abort();
    if let Some(m) = mock {
        let _ = m.shutdown().await;
    }
    Ok(0)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `MCP server "name": tools a, b; prompt c; resource u`: what an `mcpServerHandler` serves.
fn mcp_server_summary(s: &crate::config::mcp_server::McpServer) -> String {
    let kind = |n: usize, one: &str, many: &str, names: Vec<&str>| -> Option<String> {
        (n > 0).then(|| format!("{} {}", if n == 1 { one } else { many }, names.join(", ")))
    };
    let parts: Vec<String> = [
        kind(
            s.tools.len(),
            "tool",
            "tools",
            s.tools.iter().map(|t| t.name.as_str()).collect(),
        ),
        kind(
            s.prompts.len(),
            "prompt",
            "prompts",
            s.prompts.iter().map(|p| p.name.as_str()).collect(),
        ),
        kind(
            s.resources.len(),
            "resource",
            "resources",
            s.resources.iter().map(|r| r.uri.as_str()).collect(),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let what = if parts.is_empty() {
        "nothing registered".to_string()
    } else {
        parts.join("; ")
    };
    format!("MCP server {:?}: {what}", s.options.name)
}

/// What `--local-idp` stands in for, one line per policy (D22: the banner says it).
fn stand_ins(report: &crate::validate::Report, dev_user: &str) -> Vec<String> {
    use crate::config::policies::PolicyConfig;
    let mut lines = Vec::new();
    for (decl, config) in report.project.policies.iter().zip(&report.model.policies) {
        if let PolicyConfig::OAuth(o) = config {
            let instead = if o.dev_login {
                "its own dev-login URL".to_string()
            } else if o.authorize_url.is_empty() {
                format!("the unconfigured {} login", o.provider.slug())
            } else {
                format!("{} login at {}", o.provider.slug(), o.authorize_url)
            };
            lines.push(format!(
                "policy {:?} ({}) logs in through dev-login as {dev_user:?} (instead of {instead})",
                decl.name.value, decl.policy_type.value
            ));
        }
    }
    let stand_in_as = report.model.local_idp_stands_in();
    for (decl, config) in report.project.policies.iter().zip(&report.model.policies) {
        if let PolicyConfig::Jwt(j) = config {
            let issuer = j.issuer.as_deref().unwrap_or("no issuer");
            let mut line = format!(
                "policy {:?} ({}) also accepts `mcpgw token --route R` tokens (iss {issuer})",
                decl.name.value, decl.policy_type.value
            );
            if stand_in_as {
                line.push_str(" and tokens from this gateway's dev-login OAuth server");
            }
            lines.push(line);
        }
    }
    if lines.is_empty() {
        lines.push("no policy of this project names an identity provider".to_string());
    }
    lines
}

fn is_loopback_bind(host: &str) -> bool {
    crate::net::addr::is_loopback_host(host)
}

/// Where every route is, aligned.
/// Whether custom code runs (a suitable Node); asked only of projects that have some.
async fn custom_runs(state: &crate::gateway::AppState) -> bool {
    let served = state.served.load();
    crate::gateway::custom::project_needs_worker(&served.report)
        && state.custom.node().await.is_ok()
}

fn banner(say: &Say, served: &Served, origin: &str, custom_runs: bool) {
    let project = &served.report.project;
    let model = &served.report.model;
    let width = project
        .routes
        .iter()
        .map(|r| r.path.value.len())
        .max()
        .unwrap_or(0);
    let prefix = project.plugin.prefix();
    let mut any_oauth = false;
    for (i, r) in project.routes.iter().enumerate() {
        let Some(Some(handler)) = model.handlers.get(i) else {
            continue;
        };
        let target = match handler {
            HandlerConfig::McpProxy(p) => format!("→ {}", p.target.url()),
            HandlerConfig::UrlForward { base_url, .. } => format!("→ {base_url}"),
            HandlerConfig::UrlRewrite {
                rewrite_pattern, ..
            } => format!("→ {rewrite_pattern}"),
            HandlerConfig::McpServer => match model.mcp_server(i) {
                Some(s) => mcp_server_summary(s),
                None => "MCP server".to_string(),
            },
            HandlerConfig::Unsupported { module, export }
                if custom_runs && crate::gateway::custom::is_custom_module(module) =>
            {
                format!("custom handler {export} of {module} (Node.js worker)")
            }
            _ => "(not runnable under mcpgw dev: 501)".to_string(),
        };
        let methods = r.method_key.value.to_ascii_uppercase();
        say.line(&format!(
            "  {:<9} {origin}{:<width$}  {target}",
            methods, r.path.value
        ));
        // an MCP server guarded by a JWT policy gets its OAuth from --local-idp's stand-in
        let served_by_as = model.is_mcp_route(i)
            || (matches!(handler, HandlerConfig::McpServer)
                && crate::authz::route_has_oauth(&served.report, i));
        if served_by_as {
            any_oauth = true;
            say.line(&format!(
                "  {:<9} PRM {origin}/.well-known/oauth-protected-resource/{}",
                "",
                encode_route(&r.path.value)
            ));
        }
        if let Some(why) = crate::gateway::pipeline::unsupported_for(served, i, custom_runs) {
            say.line(&format!("  {:<9} answers 501: {why}", ""));
        }
    }
    if any_oauth {
        say.line(&format!(
            "  dev-login {origin}{prefix}/oauth/dev-login   consent {origin}{prefix}/oauth/setup"
        ));
    }
}

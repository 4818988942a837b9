//! `mcpgw upstream probe URL`: runs [`crate::probe`] and shows it, step by step
//! with a verdict and the configuration to paste, or as one JSON object (`--json`). Exit codes:
//! 0 a working configuration, 1 the upstream cannot work behind the gateway, 2 usage or network.

use super::ProbeArgs;
use crate::oauth::discovery::Attempt;
use crate::probe::{self, Phase, ProbeOutcome, Registration, Report, ScopeSource};
use anyhow::Context;
use colored::Colorize;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;
use url::Url;

const LABEL: usize = 22;

pub fn run(args: ProbeArgs) -> anyhow::Result<u8> {
    let url = match Url::parse(&args.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
        _ => {
            eprintln!(
                "{} {} is not an http(s) URL (example: mcpgw upstream probe https://mcp.linear.app/mcp)",
                "error:".red().bold(),
                args.url
            );
            return Ok(2);
        }
    };
    if args.timeout == 0 {
        eprintln!(
            "{} --timeout must be at least 1 second",
            "error:".red().bold()
        );
        return Ok(2);
    }
    let opts = probe::ProbeOptions {
        url,
        scope: args.scope,
        timeout: Duration::from_secs(args.timeout),
        id: args.id,
        oauth_policy: args.oauth_policy,
        protocol: args.protocol.into(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let spinner = spinner(!args.json && std::io::stderr().is_terminal());
    let report = runtime.block_on(probe::run(&opts, |phase| {
        spinner.set_message(match phase {
            Phase::Probe => format!("probing {} …", opts.url),
            Phase::Discovery => "discovering the authorization server …".to_string(),
        });
    }));
    spinner.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(report.exit_code)
}

fn spinner(show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// The human report: steps, verdict, suggestion.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let line = |out: &mut String, s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(&mut out, format!("{} {}", "Probing".bold(), r.url));
    line(&mut out, String::new());
    line(&mut out, "Steps".bold().to_string());
    for (i, a) in r.steps.iter().enumerate() {
        line(
            &mut out,
            format!("  {:>2}  {:<4} {}", i + 1, a.method, a.url),
        );
        line(&mut out, format!("      {}", attempt_result(a)));
    }
    line(&mut out, String::new());
    line(&mut out, "Verdict".bold().to_string());
    let verdict_start = out.len();
    let v = &r.verdict;
    let field = |out: &mut String, label: &str, value: String| {
        out.push_str(&format!("  {:<LABEL$}{value}\n", label));
    };
    if let Some(auth) = v.auth_required {
        let status = r.probe.as_ref().map(|p| p.status).unwrap_or_default();
        field(
            &mut out,
            "auth required",
            if auth {
                format!("yes ({status})")
            } else {
                format!("{} ({status} without a token)", "no".green())
            },
        );
    }
    if let Some(era) = v.protocol {
        let method = era.first_method();
        field(&mut out, "protocol", format!("{era} (answered {method})"));
    }
    if let Some(info) = r.probe.as_ref().and_then(|p| p.server_info()) {
        let name = info.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let version = info.get("version").and_then(|n| n.as_str()).unwrap_or("");
        field(
            &mut out,
            "server",
            format!("{name} {version}").trim_end().to_string(),
        );
    }
    if let Some(d) = &r.discovery {
        match &v.prm_url {
            Some(u) => {
                field(&mut out, "resource metadata", u.clone());
                field(
                    &mut out,
                    "",
                    if v.prm_needs_explicit_url == Some(true) {
                        "not at the default path: the policy needs protectedResourceMetadataUrl"
                            .yellow()
                            .to_string()
                    } else {
                        "at the default path: protectedResourceMetadataUrl not needed".to_string()
                    },
                );
            }
            None => field(
                &mut out,
                "resource metadata",
                "none found".yellow().to_string(),
            ),
        }
        if let Some(res) = &v.resource {
            let m = if v.resource_matches_url == Some(true) {
                "(matches the URL)".green().to_string()
            } else {
                "(does not match the URL)".yellow().to_string()
            };
            field(&mut out, "resource", format!("{res} {m}"));
        }
        field(
            &mut out,
            "authorization server",
            v.authorization_server
                .clone()
                .unwrap_or_else(|| d.authorization_server.to_string()),
        );
        field(&mut out, "  metadata", d.metadata_url.to_string());
        for (label, value) in [
            ("  authorize", &v.authorization_endpoint),
            ("  token", &v.token_endpoint),
            ("  registration", &v.registration_endpoint),
        ] {
            if let Some(value) = value {
                field(&mut out, label, value.clone());
            }
        }
        if let Some(s256) = v.pkce_s256 {
            field(&mut out, "PKCE S256", yes_no(s256));
        }
        if let Some(reg) = v.registration {
            field(
                &mut out,
                "client registration",
                match reg {
                    Registration::CimdAndDcr => "CIMD (https gateways) or DCR: automatic"
                        .green()
                        .to_string(),
                    Registration::Cimd => "CIMD only (https gateways)".yellow().to_string(),
                    Registration::Dcr => "DCR (dynamic client registration): automatic"
                        .green()
                        .to_string(),
                    Registration::Manual => "neither CIMD nor DCR: register a client by hand"
                        .yellow()
                        .to_string(),
                },
            );
        }
        field(
            &mut out,
            "scopes",
            match (&v.scopes, v.scope_source) {
                (Some(s), Some(ScopeSource::Option)) => format!("{s} (from --scope)"),
                (Some(s), Some(ScopeSource::Challenge)) => format!("{s} (from the challenge)"),
                (Some(s), _) => format!("{s} (from the PRM scopes_supported)"),
                (None, _) => "none named".yellow().to_string(),
            },
        );
        if let Some(refresh) = v.refresh_tokens {
            field(&mut out, "refresh tokens", yes_no(refresh));
        }
    }
    for w in &v.warnings {
        line(&mut out, format!("  {} {w}", "!".yellow().bold()));
    }
    if out.len() == verdict_start {
        // nothing learnt beyond the summary below: drop the empty heading
        let heading = format!("{}\n", "Verdict".bold());
        out.truncate(verdict_start - heading.len());
    } else {
        line(&mut out, String::new());
    }
    let mark = match v.outcome {
        ProbeOutcome::Works | ProbeOutcome::NoAuthNeeded => "✓".green().bold(),
        ProbeOutcome::CannotWork | ProbeOutcome::Unreachable => "✗".red().bold(),
    };
    line(&mut out, format!("{mark} {}", v.summary.bold()));
    if let Some(s) = &r.suggestion {
        if let Some(policy) = &s.policy {
            line(&mut out, String::new());
            line(
                &mut out,
                format!(
                    "{} {}",
                    "Add to config/policies.json".bold(),
                    "(into \"policies\"):".dimmed()
                ),
            );
            line(&mut out, pretty(policy));
        }
        line(&mut out, String::new());
        line(
            &mut out,
            format!(
                "{} {}",
                "Add to config/routes.oas.json".bold(),
                "(into \"paths\"):".dimmed()
            ),
        );
        line(
            &mut out,
            format!("\"{}\": {}", s.route_path, pretty(&s.route)),
        );
        if !s.env.is_empty() {
            line(&mut out, String::new());
            line(
                &mut out,
                format!(
                    "Register a client at {} with the redirect URI {} and set {} (in .env or the environment).",
                    v.authorization_server
                        .as_deref()
                        .unwrap_or("the authorization server"),
                    s.redirect_uri.as_deref().unwrap_or("?"),
                    s.env.join(" and ")
                ),
            );
        }
        line(&mut out, String::new());
        line(
            &mut out,
            format!(
                "{}",
                format!(
                    "The route's first policy is your project's MCP OAuth policy (here `{}`; --oauth-policy changes it). Then: mcpgw validate && mcpgw dev",
                    s.route
                        .pointer("/get,post/x-zuplo-route/policies/inbound/0")
                        .and_then(|v| v.as_str())
                        .unwrap_or("?")
                )
                .dimmed()
            ),
        );
    }
    out
}

fn yes_no(b: bool) -> String {
    if b {
        "yes".green().to_string()
    } else {
        "no".yellow().to_string()
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn attempt_result(a: &Attempt) -> String {
    let status = a
        .status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "---".to_string());
    // status_outcome already starts with the code ("404: not found")
    let text = if a.outcome.starts_with(&status) {
        a.outcome.clone()
    } else {
        format!("{status}  {}", a.outcome)
    };
    match a.status {
        _ if a.outcome == "found" => text.green().to_string(),
        Some(200..=299) | Some(401) => text.normal().to_string(),
        Some(_) => text.yellow().to_string(),
        None => text.red().to_string(),
    }
}

//! `mcpgw oauth walk`: arguments, and how a walk looks (numbered steps with curl commands,
//! answers, ✓/✗ checks and the likely cause; or one JSON transcript). `--save` / `--token-file`
//! handle the token file. The walk itself is [`mcpgw::walk`].

use crate::secret::Secret;
use crate::walk::transcript::{
    Exchange, NegativeCheck, Status, StepRecord, Transcript, WalkOutcome,
};
use crate::walk::{self, Browser, ClientChoice, Observer, SavedTokens, WalkOptions};
use anyhow::{Context, bail};
use clap::Args;
use colored::Colorize;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct WalkArgs {
    /// Route path on the gateway, e.g. /mcp/linear-v1
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    pub route: Option<String>,
    /// Gateway origin
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    pub gateway: String,
    /// Any MCP server URL instead of a gateway route
    #[arg(long)]
    pub url: Option<String>,
    /// Use this pre-registered client instead of DCR
    #[arg(long, conflicts_with = "cimd")]
    pub client_id: Option<String>,
    /// Secret of the pre-registered client
    #[arg(
        long,
        requires = "client_id",
        env = "MCPGW_WALK_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// How the pre-registered client authenticates at the token endpoint (default: basic,
    /// unless the server lists only post)
    #[arg(long, value_enum, requires = "client_secret")]
    pub client_auth: Option<ClientAuth>,
    /// Use a Client ID Metadata Document URL as client_id
    #[arg(long)]
    pub cimd: Option<String>,
    /// Redirect URI to register (default: a loopback listener on a free port, or
    /// http://127.0.0.1:8765/callback when the walk drives a local dev login itself)
    #[arg(long)]
    pub redirect_uri: Option<String>,
    /// Print the authorize URL instead of opening a browser
    #[arg(long)]
    pub no_browser: bool,
    /// Skip the refresh step
    #[arg(long)]
    pub no_refresh: bool,
    /// Skip the revoke step
    #[arg(long)]
    pub no_revoke: bool,
    /// Leave out the RFC 8707 resource parameter
    #[arg(long)]
    pub no_resource: bool,
    /// Run the negative checks after a successful walk
    #[arg(long)]
    pub check: bool,
    /// Connect pending upstreams by itself on loopback: the consent page's Connect links and
    /// -32042 connect URLs
    #[arg(long)]
    pub auto_connect: bool,
    /// Print full secrets instead of the first 6 characters
    #[arg(long)]
    pub show_secrets: bool,
    /// Print one JSON transcript instead of the step-by-step report
    #[arg(long)]
    pub json: bool,
    /// Save the tokens to FILE (mode 0600); the revoke step is then skipped
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Reuse tokens saved with --save
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Seconds to wait for the browser
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// MCP revision to speak: auto asks server/discover (2026-07-28) first and falls back to
    /// initialize (2025-11-25) when the server does not speak 2026-07-28
    #[arg(long, value_enum, default_value_t = super::ProtocolArg::Auto)]
    pub protocol: super::ProtocolArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ClientAuth {
    /// client_secret_basic: HTTP Basic
    Basic,
    /// client_secret_post: client_secret in the form
    Post,
}

pub fn run(args: WalkArgs, color: bool) -> anyhow::Result<u8> {
    let options = options(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let printer = Printer::new(!args.json, color);
    let result = runtime.block_on(walk::walk(options, &printer));
    printer.stop_spinner();
    let t = &result.transcript;
    if args.json {
        println!("{}", serde_json::to_string_pretty(t)?);
    } else {
        print_summary(t);
    }
    if let (Some(path), Some(tokens)) = (&args.save, &result.tokens) {
        save(path, tokens).with_context(|| format!("cannot write {}", path.display()))?;
        if !args.json {
            println!(
                "Tokens saved to {} (mode 0600); reuse them with --token-file.",
                path.display()
            );
        }
    }
    Ok(t.exit_code())
}

fn options(args: &WalkArgs) -> anyhow::Result<WalkOptions> {
    let url = match (&args.url, &args.route) {
        (Some(u), _) => u.clone(),
        (None, Some(r)) => {
            let r = if r.starts_with('/') {
                r.clone()
            } else {
                format!("/{r}")
            };
            format!("{}{r}", args.gateway.trim_end_matches('/'))
        }
        (None, None) => bail!("give --route or --url"),
    };
    let mcp_url = url::Url::parse(&url).with_context(|| format!("not a URL: {url}"))?;
    if !matches!(mcp_url.scheme(), "http" | "https") {
        bail!("not an http(s) URL: {url}");
    }
    let mut o = WalkOptions::new(mcp_url);
    o.client = match (&args.client_id, &args.cimd) {
        (Some(id), _) => ClientChoice::Preregistered {
            client_id: id.clone(),
            client_secret: args.client_secret.clone().map(Secret::new),
            auth_method: args.client_auth.map(|a| match a {
                ClientAuth::Basic => "client_secret_basic".to_string(),
                ClientAuth::Post => "client_secret_post".to_string(),
            }),
        },
        (None, Some(c)) => ClientChoice::Cimd(
            url::Url::parse(c).with_context(|| format!("--cimd is not a URL: {c}"))?,
        ),
        (None, None) => ClientChoice::Dcr,
    };
    if let Some(r) = &args.redirect_uri {
        o.redirect_uri =
            Some(url::Url::parse(r).with_context(|| format!("--redirect-uri is not a URL: {r}"))?);
    }
    o.browser = if args.no_browser {
        Browser::Print
    } else {
        Browser::from_env()
    };
    o.refresh = !args.no_refresh;
    o.revoke = !args.no_revoke;
    o.resource = !args.no_resource;
    o.check = args.check;
    o.auto_connect = args.auto_connect;
    o.show_secrets = args.show_secrets;
    o.browser_timeout = Duration::from_secs(args.timeout.max(1));
    o.keep_tokens = args.save.is_some();
    o.protocol = args.protocol.into();
    if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let saved: SavedTokens = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a token file written by --save", path.display()))?;
        if saved.mcp_url != o.mcp_url.as_str() {
            bail!(
                "{} holds tokens for {}, not {}",
                path.display(),
                saved.mcp_url,
                o.mcp_url
            );
        }
        o.saved = Some(saved);
    }
    Ok(o)
}

/// Writes the token file readable by its owner only.
fn save(path: &Path, tokens: &SavedTokens) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(tokens)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        // an existing file keeps its mode through open(); set it explicitly
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}

/// Prints steps as they finish and runs the spinner while a browser is out.
struct Printer {
    human: bool,
    color: bool,
    spinning: Arc<AtomicBool>,
    spinner: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Printer {
    fn new(human: bool, color: bool) -> Self {
        Printer {
            human,
            color,
            spinning: Arc::new(AtomicBool::new(false)),
            spinner: std::sync::Mutex::new(None),
        }
    }

    fn stop_spinner(&self) {
        self.spinning.store(false, Ordering::SeqCst);
        if let Some(h) = self.spinner.lock().ok().and_then(|mut s| s.take()) {
            let _ = h.join();
        }
    }
}

impl Observer for Printer {
    fn step(&self, step: &StepRecord) {
        if self.human {
            print_step(step);
        }
    }

    fn open_url(&self, url: &str, purpose: &str, opened: Result<(), &crate::walk::OpenError>) {
        // the URL goes to stderr in --json mode so that stdout stays one JSON document
        let line = match opened {
            Ok(()) => format!("Opened the {purpose} URL in your browser:\n  {url}"),
            Err(_) => format!("Open this {purpose} URL in a browser:\n  {url}"),
        };
        if self.human {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    }

    fn waiting(&self, what: Option<&str>) {
        match what {
            None => self.stop_spinner(),
            Some(what) => {
                let msg = format!("waiting for {what}");
                if !std::io::stderr().is_terminal() {
                    eprintln!("{msg} …");
                    return;
                }
                self.spinning.store(true, Ordering::SeqCst);
                let spinning = self.spinning.clone();
                let color = self.color;
                let handle = std::thread::spawn(move || {
                    let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
                    let mut i = 0;
                    while spinning.load(Ordering::SeqCst) {
                        let f = frames[i % frames.len()].to_string();
                        let f = if color { f.cyan().to_string() } else { f };
                        eprint!("\r{f} {msg} (Ctrl-C to stop)");
                        let _ = std::io::stderr().flush();
                        i += 1;
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    eprint!("\r\x1b[2K");
                });
                if let Ok(mut s) = self.spinner.lock() {
                    *s = Some(handle);
                }
            }
        }
    }
}

fn mark(status: Status) -> String {
    match status {
        Status::Passed => "✓".green().bold().to_string(),
        Status::Warned => "!".yellow().bold().to_string(),
        Status::Failed => "✗".red().bold().to_string(),
        Status::Skipped => "–".dimmed().to_string(),
    }
}

fn print_step(step: &StepRecord) {
    println!(
        "\n{} {}",
        format!("{}. {}", step.number, step.title).bold(),
        mark(step.status)
    );
    for ex in &step.exchanges {
        print_exchange(ex);
    }
    for c in &step.checks {
        let m = match (c.ok, c.advisory) {
            (true, _) => "✓".green().to_string(),
            (false, true) => "!".yellow().to_string(),
            (false, false) => "✗".red().to_string(),
        };
        match &c.detail {
            Some(d) => println!("   {m} {} {}", c.label, format!("({d})").dimmed()),
            None => println!("   {m} {}", c.label),
        }
    }
    for n in &step.notes {
        println!("   {} {n}", "·".dimmed());
    }
    if let Some(e) = &step.explanation {
        let label = if step.failed() {
            "Likely cause:".red().bold()
        } else {
            "Note:".yellow().bold()
        };
        println!("   {label} {e}");
    }
}

fn print_exchange(ex: &Exchange) {
    if let Some(n) = &ex.note {
        println!("   {}", format!("# {n}").dimmed());
    }
    let curl = ex.request.curl().replace('\n', "\n   ");
    println!("   {} {}", "$".dimmed(), curl.cyan());
    if let Some(r) = &ex.response {
        let reason = reqwest::StatusCode::from_u16(r.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let status = format!("{} {reason}", r.status);
        let status = if r.status < 400 {
            status.green()
        } else {
            status.yellow()
        };
        println!("   → {status}");
        for (k, v) in &r.headers {
            println!("     {}: {v}", k.dimmed());
        }
        if let Some(b) = &r.body {
            let text = match b {
                serde_json::Value::String(s) => s.clone(),
                other => serde_json::to_string_pretty(other).unwrap_or_default(),
            };
            let lines: Vec<&str> = text.lines().collect();
            for l in lines.iter().take(24) {
                println!("     {l}");
            }
            if lines.len() > 24 {
                println!(
                    "     {}",
                    format!("… {} more lines (--json shows all)", lines.len() - 24).dimmed()
                );
            }
        }
    }
    if let Some(e) = &ex.error {
        println!("   → {}", e.red());
    }
}

fn print_check(c: &NegativeCheck) {
    let d = c.detail.clone().unwrap_or_default();
    println!(
        "   {} {} {}",
        mark(c.status),
        c.name,
        format!("(expected {}; got {d})", c.expectation).dimmed()
    );
}

fn print_summary(t: &Transcript) {
    if !t.checks.is_empty() {
        println!("\n{}", "Negative checks (--check)".bold());
        for c in &t.checks {
            print_check(c);
        }
    }
    println!();
    match &t.outcome {
        WalkOutcome::Passed if t.exit_code() == 0 => {
            println!(
                "{} every step passed against {}{}",
                "Walk passed:".green().bold(),
                t.mcp_url,
                t.era.map(|e| format!(" (MCP {e})")).unwrap_or_default()
            )
        }
        WalkOutcome::Passed => println!(
            "{} the flow works, but {} negative check(s) failed",
            "Walk failed:".red().bold(),
            t.checks
                .iter()
                .filter(|c| c.status == Status::Failed)
                .count()
        ),
        WalkOutcome::Failed { step, number } => println!(
            "{} step {number} ({}) failed",
            "Walk failed:".red().bold(),
            step.title()
        ),
        WalkOutcome::Error { message, .. } => {
            println!("{} {message}", "Walk stopped:".red().bold())
        }
    }
}

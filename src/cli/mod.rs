//! The command line: clap definitions and dispatch. One file per subcommand turns arguments
//! into a call of the library and decides how the result looks and which exit code it gives
//! (0 ok, 1 findings or a failed check, 2 usage or I/O errors).

pub mod completions;
mod dev;
mod init;
mod keys;
mod mock;
mod probe;
mod token;
mod validate;
mod walk;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "mcpgw",
    version,
    about = "Develop, test and check MCP gateways (Zuplo MCP Gateway format)",
    long_about = "mcpgw runs, checks and debugs MCP gateways written in the Zuplo MCP Gateway format \
(zuplo.jsonc, config/routes.oas.json, config/policies.json): a gateway that is an OAuth 2.1 \
authorization server toward MCP clients and an OAuth client toward each upstream MCP server.",
    after_help = "Examples:\n  mcpgw init my-gateway --template quickstart\n  mcpgw validate my-gateway\n  mcpgw dev my-gateway\n  mcpgw oauth walk --route /mcp/linear-v1\n  mcpgw upstream probe https://mcp.linear.app/mcp"
)]
pub struct Cli {
    /// When to use colors: auto (a terminal without NO_COLOR), always, never
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to color output going to stdout.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole gateway locally: OAuth endpoints, MCP policies, the proxy, dev-login, SQLite state
    #[command(
        after_help = "Examples:\n  mcpgw dev                      # the project in this folder, on http://127.0.0.1:9000\n  mcpgw dev --with-mock          # and the built-in mock upstream on 127.0.0.1:9001\n  mcpgw dev my-gateway --port 9100\n  mcpgw dev --dev-user alice --dev-roles admin,mcp_user"
    )]
    Dev(DevArgs),

    /// Check a project the way the gateway would at boot, plus what would fail later
    #[command(
        after_help = "Examples:\n  mcpgw validate                 # the project in this folder\n  mcpgw validate gateway/config  # a project or its config/ folder\n  mcpgw validate --format json\n  mcpgw validate --format github --deny-warnings   # in GitHub Actions\n  mcpgw validate --baseline origin/main            # also flag renamed upstream ids\n\nExit codes: 0 no errors (warnings allowed), 1 errors (or warnings with --deny-warnings), 2 the project could not be read."
    )]
    Validate(validate::ValidateArgs),

    /// Create a project from a template
    #[command(
        after_help = "Examples:\n  mcpgw init my-gateway --template quickstart\n  mcpgw init . --template auth0\n  mcpgw init --list"
    )]
    Init(init::InitArgs),

    /// Drive and inspect the MCP OAuth flow
    #[command(subcommand)]
    Oauth(OauthCommand),

    /// Inspect and emulate upstream MCP servers
    #[command(subcommand)]
    Upstream(UpstreamCommand),

    /// Mint a token from mcpgw's local issuer for a route's JWT policy (for dev --local-idp)
    #[command(
        long_about = "Mint a token signed by mcpgw's local issuer (an RS256 key in <state>/local-idp.key, created on first use) with the iss and aud the route's JWT policy expects. `mcpgw dev --local-idp` accepts it on that route; without the flag it is refused like any other token (401 Invalid token). Prints only the token, so it can be used in scripts.",
        after_help = "Examples:\n  mcpgw token --route /v1/todos --sub alice\n  curl -H \"Authorization: Bearer $(mcpgw token --route /v1/todos --sub alice)\" http://127.0.0.1:9000/v1/todos\n  mcpgw token --route /mcp --policy auth0 --sub bob --claim email=bob@example.com --ttl 600\n  mcpgw token --route /v1/admin --sub carol --claim 'app_metadata={\"user_role\":\"admin\"}' --json"
    )]
    Token(token::TokenArgs),

    /// Manage the local API keys that api-key-inbound checks under mcpgw dev
    #[command(
        subcommand,
        long_about = "Manage the consumers and API keys that api-key-inbound policies check under mcpgw dev, kept in the project's state folder (<DIR>/.mcpgw/state.db; only each key's sha256 hash is stored). No Zuplo account, bucket or `zuplo link` is needed. A running mcpgw dev reads them on every request: a new key works at once, a revoked or expired one answers 401 Authorization Failed.",
        after_help = "Examples:\n  mcpgw keys create alice --metadata '{\"roles\":[\"admin\"]}'\n  curl -H \"Authorization: Bearer zpka_…\" http://127.0.0.1:9000/v1/todos\n  mcpgw keys list\n  mcpgw keys revoke key_3f9a0c1d2e4b5a69"
    )]
    Keys(keys::KeysCommand),

    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  mcpgw completions bash > ~/.local/share/bash-completion/completions/mcpgw\n  mcpgw completions zsh > \"${fpath[1]}/_mcpgw\"\n  mcpgw completions fish > ~/.config/fish/completions/mcpgw.fish"
    )]
    Completions(completions::CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Project folder
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Port to listen on
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Public origin, when the gateway sits behind a proxy (pins issuer and resource URLs)
    #[arg(long, env = "MCPGW_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where state.db and secret.key live (default: <DIR>/.mcpgw)
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Start over when secret.key is gone: delete the upstream connections sealed with it
    #[arg(long)]
    pub reset_secret_key: bool,
    /// Seconds an upstream may take to answer on routes without requestTimeoutSeconds (504)
    #[arg(long, value_name = "SECS", default_value_t = crate::gateway::state::DEFAULT_UPSTREAM_TIMEOUT_SECS, env = "MCPGW_UPSTREAM_TIMEOUT")]
    pub upstream_timeout: u64,
    /// Seconds a streamed upstream answer (JSON or SSE) may send nothing before it is ended
    #[arg(long, value_name = "SECS", default_value_t = crate::gateway::state::DEFAULT_UPSTREAM_IDLE_TIMEOUT_SECS, env = "MCPGW_UPSTREAM_IDLE_TIMEOUT")]
    pub upstream_idle_timeout: u64,
    /// Seconds connecting to an upstream may take (502 after it)
    #[arg(long, value_name = "SECS", default_value_t = crate::gateway::state::DEFAULT_UPSTREAM_CONNECT_TIMEOUT_SECS, env = "MCPGW_UPSTREAM_CONNECT_TIMEOUT")]
    pub upstream_connect_timeout: u64,
    /// Seconds a client may take to send a request's headers, or stay idle between requests
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        env = "MCPGW_HEADER_READ_TIMEOUT"
    )]
    pub header_read_timeout: u64,
    /// Log line format
    #[arg(long, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Subject of the dev-login user
    #[arg(long, default_value = "dev-browser-user")]
    pub dev_user: String,
    /// Roles of the dev-login user, comma-separated
    #[arg(long, default_value = "mcp_user", value_delimiter = ',')]
    pub dev_roles: Vec<String>,
    /// Approve the consent page automatically (loopback only), for headless clients
    #[arg(long)]
    pub auto_consent: bool,
    /// Stand in for every identity provider the project names, files unchanged (D22): MCP
    /// OAuth policies log in through dev-login, JWT policies also accept `mcpgw token` tokens
    #[arg(long)]
    pub local_idp: bool,
    /// Honour X-Forwarded-Host / -Proto (and Forwarded) when deriving the public origin: only
    /// behind a proxy that sets them
    #[arg(long)]
    pub trust_forwarded_host: bool,
    /// A browser origin allowed on MCP routes besides the gateway's own (repeatable; patterns
    /// such as http://localhost:* allowed); other Origin headers get 403
    #[arg(
        long,
        value_name = "ORIGIN",
        env = "MCPGW_ALLOW_ORIGIN",
        value_delimiter = ','
    )]
    pub allow_origin: Vec<String>,
    /// Append each audit-log-inbound record to FILE as a JSON line (created 0600), besides the
    /// dev log
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// The Node.js (22.6 or later) that runs custom code in modules/; default: node on PATH
    #[arg(long, value_name = "PATH", env = "MCPGW_NODE")]
    pub node: Option<PathBuf>,
    /// Seconds one call of custom code may take before it answers 504 and the worker restarts
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub custom_timeout: u64,
    /// Also run the built-in mock upstream (mcpgw upstream mock) on ADDR, for projects that
    /// point at it, such as the quickstart template
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9001")]
    pub with_mock: Option<String>,
}

/// `--protocol` of `oauth walk` and `upstream probe`: the MCP revision to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// server/discover (2026-07-28) first, initialize (2025-11-25) when the server does not
    /// speak 2026-07-28
    Auto,
    /// 2026-07-28 only: server/discover, the _meta envelope, Mcp-Method / Mcp-Name
    #[value(name = "2026-07-28")]
    Modern,
    /// 2025-11-25 only: initialize and a session
    #[value(name = "2025-11-25")]
    Session,
}

impl From<ProtocolArg> for crate::oauth::discovery::Protocol {
    fn from(p: ProtocolArg) -> Self {
        match p {
            ProtocolArg::Auto => Self::Auto,
            ProtocolArg::Modern => Self::Modern,
            ProtocolArg::Session => Self::Session,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum OauthCommand {
    /// Walk the manual PKCE flow step by step: discovery, registration, authorize, token, MCP call, refresh, revoke
    #[command(
        after_help = "Examples:\n  mcpgw oauth walk --route /mcp/linear-v1\n  mcpgw oauth walk --route /mcp/linear-v1 --gateway http://127.0.0.1:9100 --check\n  mcpgw oauth walk --url https://mcp.example.com/mcp --no-browser --json\n  mcpgw oauth walk --url https://mcp.example.com/mcp --protocol 2025-11-25\n  mcpgw oauth walk --route /mcp/mock-v1 --save tokens.json && mcpgw oauth walk --route /mcp/mock-v1 --token-file tokens.json\n\nOn a local dev login (mcpgw dev) the walk drives the browser leg itself; elsewhere it opens $BROWSER\n(or the system browser) and listens on a loopback redirect URI. Secrets show as their first 6\ncharacters unless --show-secrets.\n\nExit codes: 0 every step passed, 1 a step (or a --check) failed, 2 usage or network errors."
    )]
    Walk(walk::WalkArgs),
}

#[derive(Debug, Subcommand)]
pub enum UpstreamCommand {
    /// Ask an upstream MCP server what auth it needs and how to configure the gateway for it
    #[command(
        after_help = "Examples:\n  mcpgw upstream probe https://mcp.linear.app/mcp\n  mcpgw upstream probe http://127.0.0.1:9001/mcp --json\n  mcpgw upstream probe https://mcp.example.com/mcp --scope read --timeout 20\n  mcpgw upstream probe http://127.0.0.1:9001/mcp --protocol 2026-07-28\n\nIt POSTs an unauthenticated server/discover (2026-07-28; initialize, 2025-11-25, when the server does\nnot speak it, or with --protocol 2025-11-25), follows the discovery (WWW-Authenticate, protected resource\nmetadata, authorization server metadata), prints every request and a verdict, then a policy and\nroute to paste.\n\nExit codes: 0 a working configuration (or no auth needed), 1 the upstream cannot work behind the\ngateway (the output says why), 2 usage or network errors."
    )]
    Probe(ProbeArgs),
    /// Run a real Streamable HTTP MCP server for local labs and tests
    #[command(
        after_help = "Examples:\n  mcpgw upstream mock                             # http://127.0.0.1:9001/mcp\n  mcpgw upstream mock --port 0                    # any free port: read it from the READY line\n  mcpgw upstream mock --host 0.0.0.0 --port 9100  # reachable from other machines\n  mcpgw upstream mock --oauth --port 0            # behind its own OAuth 2.1 AS (DCR, PKCE, refresh)\n  mcpgw upstream mock --oauth --prm-at root --no-resource-metadata\n  mcpgw upstream mock --oauth --no-dcr --client-id app --client-secret s3cret\n  mcpgw upstream mock --oauth --token-ttl 5 --tool-scope add=mcp:admin\n  mcpgw upstream mock --modern-only               # MCP 2026-07-28 only (initialize gets 400 -32022)\n\nOn start it prints one line on stdout, READY {\"url\":\"http://127.0.0.1:9001/mcp\",\"port\":9001}\n(with --oauth also \"issuer\", \"prm\" and \"mode\":\"oauth\"), then serves until Ctrl-C or SIGTERM.\nWith --oauth, loopback test hooks: GET /__mock/stats, POST /__mock/expire-access-tokens,\nPOST /__mock/revoke-all. Tools: echo, add, slow (progress), fail. Prompt: greeting.\nResources: mock://hello, mock://info, mock://echo/{text}."
    )]
    Mock(MockArgs),
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The upstream MCP URL
    pub url: String,
    /// Print one JSON object with every step and the suggestion
    #[arg(long)]
    pub json: bool,
    /// Scope to ask for when the server names none
    #[arg(long)]
    pub scope: Option<String>,
    /// Seconds to wait for each request
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Upstream id for the suggested policy and route (default: from the host name)
    #[arg(long)]
    pub id: Option<String>,
    /// Name of the project's MCP OAuth policy, first in the suggested route
    #[arg(long, default_value = "dev-oauth")]
    pub oauth_policy: String,
    /// MCP revision of the first contact
    #[arg(long, value_enum, default_value_t = ProtocolArg::Auto)]
    pub protocol: ProtocolArg,
}

pub use mock::MockArgs;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let color = cli.color.enabled();
    colored::control::set_override(color);
    let code = match run(cli, color) {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "{} {e:#}",
                if color {
                    "\x1b[1;31merror:\x1b[0m"
                } else {
                    "error:"
                }
            );
            2
        }
    };
    ExitCode::from(code)
}

/// Runs a parsed command; the result is the exit code.
pub fn run(cli: Cli, color: bool) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate(args) => validate::run(args, color),
        Command::Init(args) => init::run(args, color),
        Command::Completions(args) => completions::run(args),
        Command::Token(args) => token::run(args),
        Command::Keys(command) => keys::run(command),
        Command::Dev(args) => dev::run(args, color),
        Command::Oauth(OauthCommand::Walk(args)) => walk::run(args, color),
        Command::Upstream(UpstreamCommand::Probe(args)) => probe::run(args),
        Command::Upstream(UpstreamCommand::Mock(args)) => mock::run(args),
    }
}

/// The clap command, for completions and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

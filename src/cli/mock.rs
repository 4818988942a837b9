//! `mcpgw upstream mock`: its arguments, binding, the interop `READY {json}` line on stdout
//! and a human summary on stderr (with `--oauth`: the AS endpoints and the switches in
//! effect), then serving the mock MCP server until Ctrl-C or SIGTERM.

use crate::client_metadata::ClientAuthMethod;
use crate::mock::{self, IssMode, MockOptions, OAuthOptions, PreRegisteredClient, PrmAt};
use crate::secret::Secret;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Port to listen on (0 for any free port)
    #[arg(long, default_value_t = 9001)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Protect the mock with its own OAuth 2.1 authorization server, on the same port
    #[arg(long)]
    pub oauth: bool,
    /// Serve MCP 2026-07-28 requests only: initialize and other session-era requests get
    /// HTTP 400 with -32022 (unsupported protocol version) naming 2026-07-28
    #[arg(long)]
    pub modern_only: bool,
    /// Where Protected Resource Metadata is served: under the path, at the root, both, or not at all
    #[arg(long, value_enum, value_name = "WHERE", default_value_t = PrmAtArg::Path, requires = "oauth")]
    pub prm_at: PrmAtArg,
    /// Leave resource_metadata out of the 401 challenge
    #[arg(long, requires = "oauth")]
    pub no_resource_metadata: bool,
    /// Put scope="…" in the 401 challenge
    #[arg(long, requires = "oauth")]
    pub challenge_scope: bool,
    /// No dynamic client registration (/register answers 404)
    #[arg(long, requires = "oauth")]
    pub no_dcr: bool,
    /// Advertise and accept Client ID Metadata Documents as client ids (https; loopback http
    /// while the mock is on loopback)
    #[arg(long, requires = "oauth")]
    pub cimd: bool,
    /// Issue no refresh tokens
    #[arg(long, requires = "oauth")]
    pub no_refresh: bool,
    /// Access-token lifetime in seconds
    #[arg(long, value_name = "SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..), requires = "oauth")]
    pub token_ttl: u64,
    /// The scope every MCP request needs (space-separated for several)
    #[arg(
        long,
        value_name = "S",
        default_value = "mcp:tools",
        requires = "oauth"
    )]
    pub scope: String,
    /// Calling TOOL needs SCOPE too: else 403 insufficient_scope (repeatable)
    #[arg(long, value_name = "TOOL=SCOPE", value_parser = parse_tool_scope, requires = "oauth")]
    pub tool_scope: Vec<(String, String)>,
    /// A pre-registered client id (accepts any loopback redirect URI)
    #[arg(long, value_name = "ID", requires = "oauth")]
    pub client_id: Option<String>,
    /// The pre-registered client's secret (client_secret_basic or _post); without it the client is public
    #[arg(long, value_name = "S", requires = "client_id")]
    pub client_secret: Option<String>,
    /// DCR registers every client with this authentication method, whatever it asked for
    #[arg(long, value_enum, value_name = "METHOD", requires = "oauth")]
    pub dcr_auth_method: Option<DcrAuthMethodArg>,
    /// Protected resource metadata names this resource instead of the mock's MCP URL (a PRM
    /// for another resource, which clients must refuse)
    #[arg(long, value_name = "URL", requires = "oauth")]
    pub prm_resource: Option<String>,
    /// RFC 9207 iss on authorization responses: exact, left out (although advertised), or with a
    /// trailing slash (the last two are for testing clients that must refuse them)
    #[arg(long, value_enum, value_name = "MODE", default_value_t = IssArg::Exact, requires = "oauth")]
    pub iss: IssArg,
    /// The authorization server lists offline_access in scopes_supported (the PRM does not)
    #[arg(long, requires = "oauth")]
    pub offline_access: bool,
    /// The authorization server never grants SCOPE, even when asked (repeatable)
    #[arg(long, value_name = "SCOPE", requires = "oauth")]
    pub withhold_scope: Vec<String>,
    /// A 403 insufficient_scope names only the missing scope, not the token's own scopes too
    #[arg(long, requires = "oauth")]
    pub challenge_missing_scope_only: bool,
}

/// `--iss` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IssArg {
    Exact,
    Omit,
    TrailingSlash,
}

/// `--dcr-auth-method` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DcrAuthMethodArg {
    #[value(name = "none")]
    None,
    #[value(name = "client_secret_basic")]
    ClientSecretBasic,
    #[value(name = "client_secret_post")]
    ClientSecretPost,
}

/// `--prm-at` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrmAtArg {
    Path,
    Root,
    Both,
    None,
}

fn parse_tool_scope(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((tool, scope)) if !tool.is_empty() && !scope.trim().is_empty() => {
            Ok((tool.to_string(), scope.trim().to_string()))
        }
        _ => Err(format!("expected TOOL=SCOPE, got {s:?}")),
    }
}

impl MockArgs {
    /// The library options these arguments ask for.
    pub fn options(&self) -> MockOptions {
        MockOptions {
            oauth: self.oauth.then(|| self.oauth_options()),
            modern_only: self.modern_only,
        }
    }

    fn oauth_options(&self) -> OAuthOptions {
        OAuthOptions {
            prm_at: match self.prm_at {
                PrmAtArg::Path => PrmAt::Path,
                PrmAtArg::Root => PrmAt::Root,
                PrmAtArg::Both => PrmAt::Both,
                PrmAtArg::None => PrmAt::None,
            },
            resource_metadata_in_challenge: !self.no_resource_metadata,
            challenge_scope: self.challenge_scope,
            dcr: !self.no_dcr,
            cimd: self.cimd,
            refresh_tokens: !self.no_refresh,
            token_ttl_secs: self.token_ttl,
            scope: self.scope.clone(),
            tool_scopes: self.tool_scope.clone(),
            client: self.client_id.as_ref().map(|id| PreRegisteredClient {
                id: id.clone(),
                secret: self.client_secret.as_ref().map(Secret::new),
            }),
            dcr_auth_method: self.dcr_auth_method.map(|m| match m {
                DcrAuthMethodArg::None => ClientAuthMethod::None,
                DcrAuthMethodArg::ClientSecretBasic => ClientAuthMethod::ClientSecretBasic,
                DcrAuthMethodArg::ClientSecretPost => ClientAuthMethod::ClientSecretPost,
            }),
            prm_resource: self.prm_resource.clone(),
            iss: match self.iss {
                IssArg::Exact => IssMode::Exact,
                IssArg::Omit => IssMode::Omit,
                IssArg::TrailingSlash => IssMode::TrailingSlash,
            },
            offline_access: self.offline_access,
            withheld_scopes: self.withhold_scope.clone(),
            challenge_missing_scope_only: self.challenge_missing_scope_only,
        }
    }
}

/// How long requests in flight may run on after the stop signal.
const GRACE: Duration = Duration::from_secs(5);

pub fn run(args: MockArgs) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: MockArgs) -> anyhow::Result<u8> {
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let url = mock::endpoint_url(mock::client_addr(bound));
    let options = args.options();
    let oauth = options
        .oauth
        .as_ref()
        .map(|o| (mock::OAuthUrls::new(&mock::origin(bound), o), o.describe()));

    let modern_only = options.modern_only;
    let mut ready = serde_json::json!({ "url": url, "port": bound.port() });
    if modern_only && let Some(map) = ready.as_object_mut() {
        map.insert(
            "protocolVersions".into(),
            serde_json::json!([mock::MODERN_VERSION]),
        );
    }
    if let (Some((urls, _)), Some(map)) = (&oauth, ready.as_object_mut()) {
        map.insert("issuer".into(), urls.issuer.clone().into());
        map.insert("prm".into(), urls.prm.clone().into());
        map.insert("mode".into(), "oauth".into());
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "READY {ready}").context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")?;
    drop(stdout);
    eprintln!(
        "mcpgw upstream mock: {} {url} (listening on {bound}; tools echo, add, slow, fail); Ctrl-C to stop",
        mock::SERVER_NAME
    );
    if modern_only {
        eprintln!(
            "  MCP {} only: initialize and other session-era requests get 400 -32022",
            mock::MODERN_VERSION
        );
    }
    if let Some((urls, switches)) = &oauth {
        let none = "(not served)".to_string();
        eprintln!("  protected by its own OAuth 2.1 authorization server:");
        eprintln!("    issuer         {}", urls.issuer);
        eprintln!("    AS metadata    {}", urls.authorization_server_metadata);
        eprintln!("    PRM            {}", urls.prm.as_ref().unwrap_or(&none));
        eprintln!(
            "    register       {}",
            urls.registration_endpoint.as_ref().unwrap_or(&none)
        );
        eprintln!("    authorize      {}", urls.authorization_endpoint);
        eprintln!("    token          {}", urls.token_endpoint);
        eprintln!("    revoke         {}", urls.revocation_endpoint);
        eprintln!("    switches       {}", switches.join(" "));
        eprintln!(
            "    test hooks     GET /__mock/stats, POST /__mock/expire-access-tokens, POST /__mock/revoke-all (loopback only)"
        );
    }

    let token = CancellationToken::new();
    let mut server = tokio::spawn(mock::serve_with(
        listener,
        options,
        token.clone().cancelled_owned(),
    ));
    tokio::select! {
        ended = &mut server => {
            // The server stopped without being asked to.
            ended.context("the mock server task failed")??;
            return Ok(0);
        }
        () = shutdown_signal() => {}
    }
    eprintln!("mcpgw upstream mock: stopping");
    token.cancel();
    match tokio::time::timeout(GRACE, &mut server).await {
        Ok(ended) => ended.context("the mock server task failed")??,
        Err(_) => {
            eprintln!(
                "mcpgw upstream mock: requests still running after {}s were cut off",
                GRACE.as_secs()
            );
            server.abort();
        }
    }
    Ok(0)
}

/// Completes on Ctrl-C, or SIGTERM on Unix. A signal that cannot be watched never fires.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

//! The browser leg (SPEC §9 step 6). On a local dev login (`x-zuplo-browser-login-kind:
//! local_dev`, loopback) the walk drives it itself: redirects with a cookie jar, then the
//! consent form's approve button. Otherwise it listens on a loopback redirect URI, hands the
//! authorize URL to a browser (`$BROWSER`, the system opener, or the user with `--no-browser`)
//! and waits for the redirect. Also drives an upstream connect URL (-32042) for `--auto-connect`.

use super::transcript::{StepKind, StepRecord};
use super::{Stop, Walk, client::Pkce, html};
use crate::net::addr::host_is_loopback;
use crate::net::outbound::OutboundRequest;
use crate::oauth::discovery;
use std::collections::HashMap;
use tokio::sync::mpsc;
use url::Url;

/// Who opens the authorize URL when the walk cannot drive the login itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Browser {
    /// The system opener (the `open` crate).
    System,
    /// A command (from `$BROWSER`): the URL is its last argument.
    Command(Vec<String>),
    /// Print the URL and wait (`--no-browser`).
    Print,
}

impl Browser {
    /// `$BROWSER` when set (as `gh` and Python's `webbrowser` read it), else the system opener.
    pub fn from_env() -> Browser {
        match std::env::var("BROWSER") {
            Ok(cmd) if !cmd.trim().is_empty() => {
                Browser::Command(cmd.split_whitespace().map(str::to_string).collect())
            }
            _ => Browser::System,
        }
    }

    fn open(&self, url: &str) -> Result<(), OpenError> {
        match self {
            Browser::Print => Err(OpenError::NoBrowser),
            Browser::System => {
                open::that_detached(url).map_err(|e| OpenError::System(e.to_string()))
            }
            Browser::Command(cmd) => {
                let (prog, args) = cmd.split_first().ok_or(OpenError::EmptyCommand)?;
                std::process::Command::new(prog)
                    .args(args)
                    .arg(url)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .map(|_| ())
                    .map_err(|e| OpenError::Command {
                        program: prog.clone(),
                        reason: e.to_string(),
                    })
            }
        }
    }
}

/// Why a URL was printed rather than opened in a browser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("--no-browser")]
    NoBrowser,
    #[error("empty $BROWSER")]
    EmptyCommand,
    #[error("{program}: {reason}")]
    Command { program: String, reason: String },
    #[error("{0}")]
    System(String),
}

/// Why no authorization response came back to the walk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum NoAuthorizationResponse {
    #[error(
        "The consent page ({status}) asks to connect an upstream first: that needs the upstream's own \
         login. Run the walk with --auto-connect (a loopback upstream AS), or open the authorize URL in a \
         browser, connect, and run the walk again."
    )]
    ConnectFirst { status: u16 },
    #[error(
        "The browser leg stopped at a page ({status}) without a consent form to approve (see the answer above)."
    )]
    StoppedAtPage { status: u16 },
    #[error(
        "--redirect-uri {0} is not served by the walk: it can only wait on a loopback redirect URI it listens on"
    )]
    NotListening(String),
    #[error("The redirect listener stopped.")]
    ListenerStopped,
    #[error(
        "No redirect to {redirect} within {secs} s: the login was not finished in the browser, or the AS \
         redirected elsewhere (a redirect_uri mismatch shows as an error page at the AS)."
    )]
    TimedOut { redirect: String, secs: u64 },
}

/// The default redirect URI when walk drives a local dev login (nothing needs to listen).
const DEV_REDIRECT: &str = "http://127.0.0.1:8765/callback";

/// Where a drive through browser pages ended.
pub(super) enum DriveEnd {
    /// A redirect to the stop prefix (the client's redirect URI).
    Redirected(Url),
    /// A page that is not a redirect and has no form to approve.
    Page { status: u16, has_connect: bool },
}

/// A loopback listener for the redirect URI: it hands over each request's query (one per
/// authorization; `--check` runs a second one).
pub(super) struct Listener {
    rx: mpsc::Receiver<HashMap<String, String>>,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn listen(redirect: &Url) -> std::io::Result<(Listener, Url)> {
    let host = redirect
        .host_str()
        .unwrap_or("127.0.0.1")
        .trim_matches(['[', ']']);
    let bind_host = if host.eq_ignore_ascii_case("localhost") {
        "127.0.0.1"
    } else {
        host
    };
    let listener = tokio::net::TcpListener::bind((bind_host, redirect.port().unwrap_or(0))).await?;
    let port = listener.local_addr()?.port();
    let mut actual = redirect.clone();
    let _ = actual.set_port(Some(port));
    let (tx, rx) = mpsc::channel(4);
    let path = redirect.path().to_string();
    let app = axum::Router::new().route(
        &path,
        axum::routing::get(move |q: axum::extract::Query<HashMap<String, String>>| {
            let tx = tx.clone();
            async move {
                let _ = tx.try_send(q.0);
                axum::response::Html(
                    "<!doctype html><title>mcpgw oauth walk</title><p>The walk got the answer. You can close this window.</p>",
                )
            }
        }),
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    Ok((Listener { rx, shutdown }, actual))
}

impl Walk<'_> {
    /// The redirect URI to register, starting the loopback listener when the walk will need it.
    pub(super) async fn redirect_uri_for_registration(&mut self) -> Result<Url, Stop> {
        if let Some(u) = &self.redirect_uri {
            return Ok(u.clone());
        }
        let wanted = self.opts.redirect_uri.clone();
        let uri = match (wanted, self.local_dev) {
            (Some(u), true) => u,
            (Some(u), false)
                if u.scheme() == "http" && u.host().is_some_and(|h| host_is_loopback(&h)) =>
            {
                let (listener, actual) = listen(&u)
                    .await
                    .map_err(|e| Stop(format!("cannot listen on {u}: {e}")))?;
                self.listener = Some(listener);
                actual
            }
            (Some(u), false) => u,
            (None, true) => Url::parse(DEV_REDIRECT).map_err(|e| Stop(e.to_string()))?,
            (None, false) => {
                let base =
                    Url::parse("http://127.0.0.1:0/callback").map_err(|e| Stop(e.to_string()))?;
                let (listener, actual) = listen(&base)
                    .await
                    .map_err(|e| Stop(format!("no loopback port for the redirect URI: {e}")))?;
                self.listener = Some(listener);
                actual
            }
        };
        self.redirect_uri = Some(uri.clone());
        Ok(uri)
    }

    /// Step 6: Gets a code for `pkce`: driven on local dev, else through a browser and the listener.
    pub(super) async fn browser_leg(&mut self, pkce: &Pkce) -> Result<Option<String>, Stop> {
        let mut step = self.step(StepKind::BrowserLeg);
        let query = self.authorization(&mut step, pkce).await?;
        let code = match query {
            Err(why) => {
                step.fail(why.to_string());
                None
            }
            Ok(q) => {
                let code = self.read_callback(&mut step, &q, &pkce.state);
                self.authorization_response = Some(q);
                code
            }
        };
        if let Some(c) = &code {
            self.secret(c);
        }
        Ok(self.finish(step).then_some(code).flatten())
    }

    /// Checks the redirect's query: `iss` (RFC 9207), `state` echoed, a `code`, no `error`.
    fn read_callback(
        &mut self,
        step: &mut StepRecord,
        q: &HashMap<String, String>,
        state: &str,
    ) -> Option<String> {
        self.check_response_iss(step, q);
        if let Some(e) = q.get("error") {
            let d = q.get("error_description").cloned().unwrap_or_default();
            step.check(
                "redirect carries a code",
                false,
                Some(format!("error={e} {d}")),
            );
            step.fail(match e.as_str() {
                "access_denied" => "The user (or the consent page) denied the authorization.".to_string(),
                "invalid_scope" => format!("The AS refused the scope {:?}.", self.scope),
                "invalid_target" => "The AS refused the resource parameter (RFC 8707); try --no-resource to compare.".into(),
                _ => format!("The AS answered {e}: {d}"),
            });
            return None;
        }
        step.check(
            "state comes back unchanged",
            q.get("state").map(String::as_str) == Some(state),
            None,
        );
        let code = q.get("code").cloned();
        step.check("redirect carries a code", code.is_some(), None);
        if step.failed() && step.explanation.is_none() {
            step.explanation = Some("The redirect is not a valid authorization response: a state mismatch means it belongs to another request (CSRF protection).".into());
        }
        code
    }

    /// RFC 9207 §2.4 on an authorization response (success or error): an `iss` must be the
    /// issuer of the AS metadata, compared as strings (no normalisation: `http://h/` is not
    /// `http://h`); when the metadata advertises `authorization_response_iss_parameter_supported`
    /// a missing `iss` fails too.
    fn check_response_iss(&mut self, step: &mut StepRecord, q: &HashMap<String, String>) {
        let Some(d) = self.discovered.as_ref() else {
            return;
        };
        let expected = d.metadata.issuer.clone();
        let advertised = d.metadata.authorization_response_iss_parameter_supported;
        let iss = q.get("iss");
        // the one RFC 9207 rule (oauth::discovery), shared with the gateway's upstream client
        match discovery::check_response_iss(&expected, advertised, iss.map(String::as_str)) {
            Ok(()) => {
                if let Some(iss) = iss {
                    step.check(
                        "iss (RFC 9207) is the issuer, compared as strings",
                        true,
                        Some(iss.clone()),
                    );
                }
            }
            Err(discovery::ResponseIssRefusal::Mismatch { iss, .. }) => {
                step.check(
                    "iss (RFC 9207) is the issuer, compared as strings",
                    false,
                    Some(iss.clone()),
                );
                step.fail(format!(
                    "The authorization response names the issuer {iss}, not {expected} (the AS the \
                     walk asked): a mix-up (RFC 9207), or a public URL or proxy that differs. The \
                     comparison is exact: a trailing slash, case or a default port count."
                ));
            }
            Err(discovery::ResponseIssRefusal::Missing { .. }) => {
                step.check("iss (RFC 9207) is present", false, Some("missing".into()));
                step.fail(
                    "The AS metadata advertises authorization_response_iss_parameter_supported, but the \
                     authorization response has no iss: a client must refuse it (RFC 9207 §2.4).",
                );
            }
        }
    }

    /// Runs one authorization for `pkce` and returns the redirect's query parameters.
    pub(super) async fn authorization(
        &mut self,
        step: &mut StepRecord,
        pkce: &Pkce,
    ) -> Result<Result<HashMap<String, String>, NoAuthorizationResponse>, Stop> {
        let redirect = self
            .redirect_uri
            .clone()
            .ok_or_else(|| Stop("no redirect URI".into()))?;
        if self.local_dev {
            step.notes.push(
                "local dev login on loopback: the walk drives it (cookie jar, consent approve)"
                    .into(),
            );
            // --auto-connect also follows the consent page's Connect links (SPEC §3.10)
            let end = self
                .drive(
                    step,
                    pkce.url.clone(),
                    redirect.as_str(),
                    self.opts.auto_connect,
                )
                .await?;
            return Ok(match end {
                DriveEnd::Redirected(u) => Ok(u.query_pairs().into_owned().collect()),
                DriveEnd::Page {
                    status,
                    has_connect: true,
                } => Err(NoAuthorizationResponse::ConnectFirst { status }),
                DriveEnd::Page { status, .. } => {
                    Err(NoAuthorizationResponse::StoppedAtPage { status })
                }
            });
        }
        if self.listener.is_none() {
            return Ok(Err(NoAuthorizationResponse::NotListening(
                redirect.to_string(),
            )));
        }
        let opened = self.opts.browser.open(pkce.url.as_str());
        self.observer
            .open_url(pkce.url.as_str(), "authorize", opened.as_ref().map(|_| ()));
        step.notes.push(match &opened {
            Ok(()) => "authorize URL opened in a browser".to_string(),
            Err(why) => format!("authorize URL printed ({why})"),
        });
        step.notes.push(format!("waiting on {redirect}"));
        self.observer
            .waiting(Some("the browser to come back to the redirect URI"));
        let timeout = self.opts.browser_timeout;
        let listener = self
            .listener
            .as_mut()
            .ok_or_else(|| Stop("no listener".into()))?;
        let got = tokio::time::timeout(timeout, listener.rx.recv()).await;
        self.observer.waiting(None);
        Ok(match got {
            Ok(Some(q)) => Ok(q),
            Ok(None) => Err(NoAuthorizationResponse::ListenerStopped),
            Err(_) => Err(NoAuthorizationResponse::TimedOut {
                redirect: redirect.to_string(),
                secs: timeout.as_secs(),
            }),
        })
    }

    /// Follows a browser flow from `start`: GET redirects with the cookie jar, submitting
    /// approve forms (and following Connect links when `connect`), until a redirect to
    /// `stop_prefix` or a final page.
    pub(super) async fn drive(
        &mut self,
        step: &mut StepRecord,
        start: Url,
        stop_prefix: &str,
        connect: bool,
    ) -> Result<DriveEnd, Stop> {
        let mut next = OutboundRequest::get(start);
        next.headers = vec![("accept".into(), "text/html".into())];
        for _ in 0..15 {
            let (exchange, result) = self.send(next.clone(), Some("browser")).await;
            step.exchanges.push(exchange);
            let f = result.map_err(|e| Stop(e.to_string()))?;
            let status = f.status.as_u16();
            if f.status.is_redirection() {
                let Some(loc) = f.header("location").and_then(|l| f.url.join(l).ok()) else {
                    return Ok(DriveEnd::Page {
                        status,
                        has_connect: false,
                    });
                };
                if loc.as_str().starts_with(stop_prefix) {
                    let mut loc = loc;
                    // §9: a trailing '#' on the redirect is not part of the query
                    loc.set_fragment(None);
                    return Ok(DriveEnd::Redirected(loc));
                }
                if !loc.host().is_some_and(|h| host_is_loopback(&h)) {
                    // a remote login page needs a person: stop here
                    return Ok(DriveEnd::Page {
                        status,
                        has_connect: false,
                    });
                }
                next = OutboundRequest::get(loc);
                next.headers = vec![("accept".into(), "text/html".into())];
                continue;
            }
            let page = String::from_utf8_lossy(&f.body).into_owned();
            if let Some(form) = html::approve_form(&page) {
                let action = f.url.join(&form.action).map_err(|e| Stop(e.to_string()))?;
                let pairs: Vec<(&str, &str)> = form
                    .fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                next = OutboundRequest::post_form(action, &pairs);
                next.headers = vec![
                    ("accept".into(), "text/html".into()),
                    (
                        "content-type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ),
                ];
                // a form's POST answer is read like any other page (a 302 to the redirect URI)
                let (exchange, result) = self.send(next.clone(), Some("approve")).await;
                step.exchanges.push(exchange);
                let f = result.map_err(|e| Stop(e.to_string()))?;
                let status = f.status.as_u16();
                match f.header("location").and_then(|l| f.url.join(l).ok()) {
                    Some(mut loc) if f.status.is_redirection() => {
                        if loc.as_str().starts_with(stop_prefix) {
                            loc.set_fragment(None);
                            return Ok(DriveEnd::Redirected(loc));
                        }
                        next = OutboundRequest::get(loc);
                        next.headers = vec![("accept".into(), "text/html".into())];
                        continue;
                    }
                    _ => {
                        return Ok(DriveEnd::Page {
                            status,
                            has_connect: false,
                        });
                    }
                }
            }
            let link = html::connect_link(&page);
            if connect
                && let Some(href) = &link
                && let Ok(u) = f.url.join(href)
            {
                next = OutboundRequest::get(u);
                next.headers = vec![("accept".into(), "text/html".into())];
                continue;
            }
            return Ok(DriveEnd::Page {
                status,
                has_connect: link.is_some(),
            });
        }
        Ok(DriveEnd::Page {
            status: 0,
            has_connect: false,
        })
    }

    /// -32042: connect the upstream at `url`. With `--auto-connect` on loopback the walk drives
    /// it; otherwise it shows the URL and waits for the user until the MCP URL stops answering
    /// -32042 (asked in `era`). `true` when the first request should be tried again.
    pub(super) async fn connect_upstream(
        &mut self,
        step: &mut StepRecord,
        url: &str,
        era: crate::oauth::discovery::Era,
    ) -> Result<bool, Stop> {
        let Ok(u) = Url::parse(url) else {
            return Ok(false);
        };
        let loopback = u.host().is_some_and(|h| host_is_loopback(&h));
        if self.opts.auto_connect && loopback {
            step.notes
                .push("--auto-connect: the walk follows the connect URL".into());
            let end = self.drive(step, u, "\u{0}", true).await?;
            return Ok(match end {
                DriveEnd::Redirected(_) => true,
                DriveEnd::Page { status, .. } => (200..300).contains(&status),
            });
        }
        if !self.local_dev {
            return Ok(false);
        }
        let opened = self.opts.browser.open(url);
        self.observer
            .open_url(url, "connect the upstream", opened.as_ref().map(|_| ()));
        self.observer.waiting(Some("the upstream connection"));
        let deadline = tokio::time::Instant::now() + self.opts.browser_timeout;
        let ping = crate::oauth::discovery::first_request(era);
        let mut connected = false;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let (_, result) = self.mcp_post(era, &ping, None, None).await;
            let still = result
                .ok()
                .and_then(|f| super::mcp_json(&f))
                .and_then(|a| a.pointer("/error/code").and_then(serde_json::Value::as_i64))
                == Some(-32042);
            if !still {
                connected = true;
                break;
            }
        }
        self.observer.waiting(None);
        Ok(connected)
    }
}

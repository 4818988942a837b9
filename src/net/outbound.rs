//! Outbound HTTP for OAuth work: Client ID Metadata Documents, JWKS, discovery documents and
//! upstream token calls. The one place that decides which URLs may be fetched (the SSRF guard)
//! and how much of an answer is read (timeout, size cap, redirect cap; SPEC §3.6, §3.11, §6.5).
//!
//! Redirects are followed here, hop by hop, so that every hop passes the guard again; the
//! `reqwest::Client` given to [`fetch`] must therefore not follow redirects itself.

use super::addr::{host_is_loopback, refuse_private};
use bytes::Bytes;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use std::net::IpAddr;
use std::time::Duration;
use url::{Host, Url};

/// How long and how much an outbound fetch may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Duration,
    pub max_bytes: usize,
    pub max_redirects: usize,
}

impl Limits {
    /// §3.6: a client's metadata document: 5 KiB, 10 s, no redirects.
    pub const CIMD: Limits = Limits {
        timeout: Duration::from_secs(10),
        max_bytes: 5 * 1024,
        max_redirects: 0,
    };
    /// §3.11: a client's `jwks_uri` for private_key_jwt: 32 KiB, 10 s, 2 redirects.
    pub const CLIENT_JWKS: Limits = Limits {
        timeout: Duration::from_secs(10),
        max_bytes: 32 * 1024,
        max_redirects: 2,
    };
    /// §6.5: upstream OAuth HTTP (discovery, registration, token): 256 KiB, 30 s, 2 redirects.
    pub const UPSTREAM_OAUTH: Limits = Limits {
        timeout: Duration::from_secs(30),
        max_bytes: 256 * 1024,
        max_redirects: 2,
    };

    pub fn with_timeout(self, timeout: Duration) -> Limits {
        Limits { timeout, ..self }
    }
}

/// Which URLs a fetch may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// URLs chosen by someone else (a client's id, an upstream's metadata): `https` to a public
    /// host, or `http` to a loopback host when `loopback_http` is set (a gateway that itself
    /// listens on loopback). Private, link-local and cloud-metadata addresses are refused, also
    /// when a host name resolves to one.
    Public { loopback_http: bool },
    /// URLs the user typed (`upstream probe`, `oauth walk`): `http` or `https`, any host.
    Trusted,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum OutboundError {
    #[error("{url} is not allowed: {why}")]
    Blocked { url: String, why: String },
    #[error("{url} could not be reached: {why}")]
    Network { url: String, why: String },
    #[error("{url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("{url} answered with more than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url} redirected more than {limit} times")]
    TooManyRedirects { url: String, limit: usize },
}

/// One answer, read in full within the limits.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL that answered (after redirects).
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Fetched {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request to send: method, URL, headers and an optional body.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    /// Follow GET redirects (within `Limits::max_redirects`); when false a 3xx is returned as
    /// the answer, for callers that show each hop (`oauth walk`'s browser leg).
    pub follow_redirects: bool,
}

impl OutboundRequest {
    pub fn get(url: Url) -> Self {
        OutboundRequest {
            method: Method::GET,
            url,
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
            follow_redirects: true,
        }
    }
    pub fn post_form(url: Url, form: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        OutboundRequest {
            method: Method::POST,
            url,
            headers: vec![
                ("accept".into(), "application/json".into()),
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
            ],
            body: Some(Bytes::from(body)),
            follow_redirects: true,
        }
    }
    pub fn post_json(url: Url, body: &serde_json::Value) -> Self {
        OutboundRequest {
            method: Method::POST,
            url,
            headers: vec![
                ("accept".into(), "application/json".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: Some(Bytes::from(body.to_string())),
            follow_redirects: true,
        }
    }
    /// Sets a header, replacing one of the same name (a constructor's default `accept`).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value.into()));
        self
    }
    /// Returns redirects instead of following them.
    pub fn no_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }
}

/// Cookies a browser would keep between the hops of an authorization (the session cookie of a
/// consent flow): per host, name → value. Attributes other than `Max-Age=0` / an empty value
/// (removal) are ignored: the hops are short-lived and all go to hosts the user chose.
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    cookies: Vec<(String, String, String)>,
}

impl CookieJar {
    /// Keeps the `Set-Cookie` values of an answer from `url`.
    pub fn store(&mut self, url: &Url, headers: &HeaderMap) {
        let Some(host) = url.host_str() else { return };
        for value in headers.get_all(reqwest::header::SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, val) = (name.trim().to_string(), val.trim().to_string());
            let removed =
                val.is_empty() || parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            self.cookies.retain(|(h, n, _)| !(h == host && *n == name));
            if !removed {
                self.cookies.push((host.to_string(), name, val));
            }
        }
    }

    /// The `Cookie` header for a request to `url`, if any cookie applies (same host, any port).
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let host = url.host_str()?;
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|(h, _, _)| h == host)
            .map(|(_, n, v)| format!("{n}={v}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

/// A client for [`fetch`]: it never follows redirects itself (every hop must pass the guard).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Sends `req`, following up to `limits.max_redirects` redirects for GET (each hop checked by
/// `guard`), and reads the body up to `limits.max_bytes`. Non-2xx answers are returned, not
/// errors: callers decide what a 401 or a 404 means.
pub async fn fetch(
    http: &reqwest::Client,
    req: OutboundRequest,
    limits: Limits,
    guard: Guard,
) -> Result<Fetched, OutboundError> {
    let (url, resp) = send(http, &req, limits, guard).await?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = read_capped(resp, limits.max_bytes)
        .await
        .map_err(|e| read_error(&url, e, limits))?;
    Ok(Fetched {
        url,
        status,
        headers,
        body,
    })
}

/// Like [`fetch`] but returns the answer with its body still unread, for callers that need
/// the status and headers before deciding whether (and how long) to read: an MCP server may
/// answer with an event stream that stays open. The body must still be read through
/// [`read_capped`]; the request's timeout keeps running while it is.
pub async fn send(
    http: &reqwest::Client,
    req: &OutboundRequest,
    limits: Limits,
    guard: Guard,
) -> Result<(Url, reqwest::Response), OutboundError> {
    let started = tokio::time::Instant::now();
    let mut url = req.url.clone();
    let mut hops = 0;
    loop {
        check_url(&url, guard).await?;
        let remaining = limits.timeout.saturating_sub(started.elapsed());
        let mut builder = http
            .request(req.method.clone(), url.clone())
            .timeout(remaining.max(Duration::from_millis(1)));
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let resp = builder
            .send()
            .await
            .map_err(|e| network_error(&url, &e, limits))?;
        let status = resp.status();
        if status.is_redirection()
            && req.follow_redirects
            && req.method == Method::GET
            && let Some(next) = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| url.join(loc).ok())
        {
            if hops >= limits.max_redirects {
                return Err(OutboundError::TooManyRedirects {
                    url: url.to_string(),
                    limit: limits.max_redirects,
                });
            }
            hops += 1;
            url = next;
            continue;
        }
        return Ok((url, resp));
    }
}

/// The [`OutboundError`] for a body that could not be read from `url`.
pub fn read_error(url: &Url, e: ReadError, limits: Limits) -> OutboundError {
    match e {
        ReadError::TooLarge => OutboundError::TooLarge {
            url: url.to_string(),
            limit: limits.max_bytes,
        },
        ReadError::Network(why) => OutboundError::Network {
            url: url.to_string(),
            why,
        },
    }
}

fn network_error(url: &Url, e: &reqwest::Error, limits: Limits) -> OutboundError {
    if e.is_timeout() {
        OutboundError::Timeout {
            url: url.to_string(),
            secs: limits.timeout.as_secs().max(1),
        }
    } else {
        // reqwest's top-level message is generic; the innermost cause says what happened
        let mut why = String::from("request failed");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            why = s.to_string();
            source = s.source();
        }
        OutboundError::Network {
            url: url.to_string(),
            why,
        }
    }
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    TooLarge,
    Network(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge => f.write_str("the answer is too large"),
            ReadError::Network(why) => f.write_str(why),
        }
    }
}

/// Reads a response body, refusing more than `limit` bytes (checked before and while reading).
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ReadError::Network(e.without_url().to_string()))?
    {
        if out.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// The SSRF guard: may `url` be fetched under `guard`? Resolves host names for
/// [`Guard::Public`] so that a name pointing at a private address is refused too.
pub async fn check_url(url: &Url, guard: Guard) -> Result<(), OutboundError> {
    let blocked = |why: &str| OutboundError::Blocked {
        url: url.to_string(),
        why: why.to_string(),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(blocked("URLs with credentials are not fetched"));
    }
    let host = url.host().ok_or_else(|| blocked("the URL has no host"))?;
    let loopback = host_is_loopback(&host);
    match (url.scheme(), guard) {
        ("https", Guard::Trusted) | ("http", Guard::Trusted) => return Ok(()),
        ("http", Guard::Public { loopback_http }) => {
            if loopback && loopback_http {
                return Ok(());
            }
            return Err(blocked(if loopback {
                "http on loopback is accepted only while the gateway itself listens on loopback"
            } else {
                "only https URLs are fetched (http only on loopback)"
            }));
        }
        ("https", Guard::Public { .. }) => {}
        _ => return Err(blocked("only http and https URLs are fetched")),
    }
    // https under the public guard: the host must be public
    match host {
        Host::Ipv4(ip) => refuse_private(IpAddr::V4(ip)).map_err(&blocked),
        Host::Ipv6(ip) => refuse_private(IpAddr::V6(ip)).map_err(&blocked),
        Host::Domain(name) => {
            let lower = name.to_ascii_lowercase();
            if lower == "localhost" || lower.ends_with(".localhost") {
                return Err(blocked("localhost is not fetched over https"));
            }
            if lower == "metadata.google.internal" || lower.ends_with(".internal") {
                return Err(blocked("cloud metadata hosts are not fetched"));
            }
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs = tokio::net::lookup_host((lower.as_str(), port))
                .await
                .map_err(|e| OutboundError::Network {
                    url: url.to_string(),
                    why: format!("the host name could not be resolved: {e}"),
                })?;
            for addr in addrs {
                refuse_private(addr.ip()).map_err(&blocked)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn allowed(url: &str, guard: Guard) -> bool {
        check_url(&Url::parse(url).unwrap(), guard).await.is_ok()
    }

    #[tokio::test]
    async fn public_guard_refuses_private_and_metadata_hosts() {
        let g = Guard::Public {
            loopback_http: false,
        };
        for url in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://192.168.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://localhost/x",
            "https://metadata.google.internal/x",
            "https://user:pw@example.com/x",
            "http://127.0.0.1:8080/x",
            "http://example.com/x",
            "ftp://example.com/x",
        ] {
            assert!(!allowed(url, g).await, "{url} must be refused");
        }
        assert!(allowed("https://93.184.216.34/client.json", g).await);
    }

    #[tokio::test]
    async fn loopback_http_only_when_the_gateway_is_on_loopback() {
        let on = Guard::Public {
            loopback_http: true,
        };
        assert!(allowed("http://127.0.0.1:9/x", on).await);
        assert!(allowed("http://localhost:9/x", on).await);
        assert!(!allowed("http://10.0.0.1:9/x", on).await);
        let off = Guard::Public {
            loopback_http: false,
        };
        assert!(!allowed("http://127.0.0.1:9/x", off).await);
    }

    /// A server on 127.0.0.1: `/big` (6 KiB), `/small`, `/redirect` (→ `/small`), `/slow`.
    async fn serve() -> String {
        use axum::response::IntoResponse;
        let app = axum::Router::new()
            .route(
                "/big",
                axum::routing::get(|| async { "x".repeat(6 * 1024) }),
            )
            .route("/small", axum::routing::get(|| async { "{\"ok\":true}" }))
            .route(
                "/redirect",
                axum::routing::get(|| async {
                    (StatusCode::FOUND, [("location", "/small")]).into_response()
                }),
            )
            .route(
                "/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    async fn get(url: &str, limits: Limits) -> Result<Fetched, OutboundError> {
        let guard = Guard::Public {
            loopback_http: true,
        };
        fetch(
            &client(),
            OutboundRequest::get(Url::parse(url).unwrap()),
            limits,
            guard,
        )
        .await
    }

    #[tokio::test]
    async fn cimd_limits_size_redirects_and_time() {
        let base = serve().await;
        let ok = get(&format!("{base}/small"), Limits::CIMD).await.unwrap();
        assert_eq!(ok.json().unwrap()["ok"], true);
        assert!(matches!(
            get(&format!("{base}/big"), Limits::CIMD).await,
            Err(OutboundError::TooLarge { limit: 5120, .. })
        ));
        // CIMD follows no redirect; the JWKS limits follow up to two
        assert!(matches!(
            get(&format!("{base}/redirect"), Limits::CIMD).await,
            Err(OutboundError::TooManyRedirects { limit: 0, .. })
        ));
        let followed = get(&format!("{base}/redirect"), Limits::CLIENT_JWKS)
            .await
            .unwrap();
        assert!(followed.url.path().ends_with("/small"));
        let started = std::time::Instant::now();
        let slow = get(
            &format!("{base}/slow"),
            Limits::CIMD.with_timeout(Duration::from_millis(300)),
        )
        .await;
        assert!(
            matches!(slow, Err(OutboundError::Timeout { .. })),
            "{slow:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn cookie_jar_keeps_per_host_and_forgets_removed() {
        let mut jar = CookieJar::default();
        let a = Url::parse("http://127.0.0.1:9000/x").unwrap();
        let mut h = HeaderMap::new();
        h.append("set-cookie", "s=1; Path=/; HttpOnly".parse().unwrap());
        h.append("set-cookie", "t=2".parse().unwrap());
        jar.store(&a, &h);
        let other_port = Url::parse("http://127.0.0.1:1/y").unwrap();
        assert_eq!(jar.header_for(&other_port).as_deref(), Some("s=1; t=2"));
        assert_eq!(
            jar.header_for(&Url::parse("http://localhost/").unwrap()),
            None
        );
        let mut h = HeaderMap::new();
        h.append("set-cookie", "s=; Max-Age=0".parse().unwrap());
        jar.store(&a, &h);
        assert_eq!(jar.header_for(&a).as_deref(), Some("t=2"));
    }

    #[tokio::test]
    async fn trusted_guard_allows_what_the_user_typed() {
        assert!(allowed("http://10.0.0.5:3000/mcp", Guard::Trusted).await);
        assert!(allowed("https://localhost/mcp", Guard::Trusted).await);
        assert!(!allowed("file:///etc/passwd", Guard::Trusted).await);
    }
}

//! The public origin of a request (SPEC §3.0, D6): issuer, resource and registry URLs derive
//! from it; and which browser origins may call the gateway (D28).
//!
//! Owns: `Host`, `--public-url` pinning, and the forwarded proto and host only when
//! `--trust-forwarded-host` says a proxy in front sets them (issue #13: a client must not be
//! able to change the issuer by sending `X-Forwarded-Proto` itself); the `Origin` check
//! ([`check_origin`]) and the origin patterns of `--allow-origin` and CORS policies
//! ([`origin_matches`]).

use axum::http::HeaderMap;

#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// `--public-url`: wins over everything.
    pub public_url: Option<String>,
    /// `--trust-forwarded-host`.
    pub trust_forwarded_host: bool,
    /// The scheme and authority the server listens on, used when a request has no Host.
    pub listen_origin: String,
    /// `--allow-origin`: browser origins (patterns, [`origin_matches`]) allowed on MCP routes
    /// besides the gateway's own (D28).
    pub allowed_origins: Vec<String>,
}

fn first_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?;
    let first = v.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_string())
}

/// `proto=` and `host=` of a `Forwarded` header (first element).
fn forwarded(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let Some(v) = first_value(headers, "forwarded") else {
        return (None, None);
    };
    let mut proto = None;
    let mut host = None;
    for pair in v.split(';') {
        let Some((k, val)) = pair.split_once('=') else {
            continue;
        };
        let val = val.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "proto" => proto = Some(val),
            "host" => host = Some(val),
            _ => {}
        }
    }
    (proto, host)
}

fn valid_host(h: &str) -> bool {
    !h.is_empty() && !h.contains(['/', '@', '?', '#', ' '])
}

/// The origin (`scheme://host[:port]`, no trailing slash) a client used for this request.
pub fn origin(policy: &OriginPolicy, headers: &HeaderMap) -> String {
    if let Some(url) = &policy.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let (fwd_proto, fwd_host) = forwarded(headers);
    let proto = fwd_proto
        .or_else(|| first_value(headers, "x-forwarded-proto"))
        .filter(|_| policy.trust_forwarded_host)
        .map(|p| p.to_ascii_lowercase())
        .filter(|p| p == "http" || p == "https");
    let listen_scheme = policy
        .listen_origin
        .split("://")
        .next()
        .unwrap_or("http")
        .to_string();
    let scheme = proto.unwrap_or(listen_scheme);
    let forwarded_host = fwd_host
        .or_else(|| first_value(headers, "x-forwarded-host"))
        .filter(|h| valid_host(h));
    if policy.trust_forwarded_host
        && let Some(h) = forwarded_host
    {
        return format!("{scheme}://{h}");
    }
    let host = first_value(headers, "host").filter(|h| valid_host(h));
    match (host, forwarded_host) {
        // a forwarded host that differs from Host: use the request URL's origin (§3.0)
        (Some(h), Some(f)) if !f.eq_ignore_ascii_case(&h) => policy.listen_origin.clone(),
        (Some(h), _) => format!("{scheme}://{h}"),
        (None, _) => policy.listen_origin.clone(),
    }
}

/// D28 (DNS-rebinding protection): `Err(origin)` when the request carries an `Origin` that is
/// neither the gateway's public origin ([`origin`]) nor matched by one of `allowed`
/// ([`origin_matches`]). A request without `Origin` (a non-browser client) passes; `null` and
/// a value that is not text are refused. While the gateway listens on loopback and no
/// `--public-url` pins its origin, its own origin counts only with a loopback host: a
/// rebinding page at `http://evil.example:9000` sends a `Host` and an `Origin` that agree, and
/// only the host tells it from `http://127.0.0.1:9000`.
pub fn check_origin<'a>(
    policy: &OriginPolicy,
    headers: &HeaderMap,
    allowed: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let mut values = headers.get_all(axum::http::header::ORIGIN).iter();
    let Some(value) = values.next() else {
        return Ok(());
    };
    let Ok(sent) = value.to_str() else {
        return Err(String::from_utf8_lossy(value.as_bytes()).into_owned());
    };
    // a browser sends one Origin; two are not a browser's request, and one of them may lie
    if values.next().is_some() {
        return Err(sent.to_string());
    }
    let sent = sent.trim();
    let own = origin(policy, headers);
    let own_counts = policy.public_url.is_some()
        || !origin_is_loopback(&policy.listen_origin)
        || origin_is_loopback(&own);
    if (own_counts && sent.eq_ignore_ascii_case(&own))
        || allowed.into_iter().any(|p| origin_matches(p, sent))
    {
        Ok(())
    } else {
        Err(sent.to_string())
    }
}

/// Whether an origin's host is loopback (`localhost`, 127.0.0.0/8, `[::1]`).
fn origin_is_loopback(origin: &str) -> bool {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(crate::net::addr::is_loopback_host))
        .unwrap_or(false)
}

/// Whether `origin` (`scheme://host[:port]`) matches an allowed-origin pattern: `*` (any
/// origin), an exact origin (case-insensitive, a trailing `/` ignored), or one with `*`
/// wildcards that stand for any run of characters other than `/` (`http://localhost:*` for any
/// port, `https://*.example.com` for subdomains). A pattern without a scheme is matched
/// against the origin's host and port (`*.example.com`, as Zuplo's CORS policies allow).
/// `null` matches only a pattern that says `null`.
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    let pattern = pattern.trim().trim_end_matches('/').to_ascii_lowercase();
    let origin = origin.trim().to_ascii_lowercase();
    if pattern == "*" {
        return origin != "null";
    }
    let subject = if pattern.contains("://") {
        origin.as_str()
    } else {
        match origin.split_once("://") {
            Some((_, authority)) => authority,
            None => origin.as_str(),
        }
    };
    glob(pattern.as_bytes(), subject.as_bytes())
}

/// `*` matches any run (possibly empty) of bytes other than `/`; everything else itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len())
            .take_while(|&i| i == 0 || text[i - 1] != b'/')
            .any(|i| glob(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// `enc(R)`: the route path without its leading slash, each segment percent-encoded.
pub fn encode_route(path: &str) -> String {
    path.trim_start_matches('/')
        .split('/')
        .map(super::encoding::encode_component)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn derivation() {
        let p = OriginPolicy {
            listen_origin: "http://127.0.0.1:9000".into(),
            ..Default::default()
        };
        assert_eq!(
            origin(&p, &h(&[("host", "127.0.0.1:9000")])),
            "http://127.0.0.1:9000"
        );
        // the client's own X-Forwarded-Proto does not change the issuer (issue #13)
        assert_eq!(
            origin(
                &p,
                &h(&[("host", "gw.example.com"), ("x-forwarded-proto", "https")])
            ),
            "http://gw.example.com"
        );
        assert_eq!(
            origin(
                &p,
                &h(&[("host", "a.example"), ("x-forwarded-host", "b.example")])
            ),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            origin(
                &p,
                &h(&[
                    ("host", "a.example"),
                    ("forwarded", "proto=https;host=\"a.example\"")
                ])
            ),
            "http://a.example"
        );
        let trusting = OriginPolicy {
            trust_forwarded_host: true,
            ..p.clone()
        };
        assert_eq!(
            origin(
                &trusting,
                &h(&[("host", "gw.example.com"), ("x-forwarded-proto", "https")])
            ),
            "https://gw.example.com",
            "behind a trusted proxy the forwarded proto counts"
        );
        assert_eq!(
            origin(
                &trusting,
                &h(&[("host", "a.example"), ("x-forwarded-host", "b.example")])
            ),
            "http://b.example"
        );
        let pinned = OriginPolicy {
            public_url: Some("https://gw.example.com/".into()),
            ..p
        };
        assert_eq!(
            origin(&pinned, &h(&[("host", "x")])),
            "https://gw.example.com"
        );
    }

    #[test]
    fn origin_check_and_patterns() {
        let p = OriginPolicy {
            listen_origin: "http://127.0.0.1:9000".into(),
            allowed_origins: vec!["http://localhost:*".into()],
            ..Default::default()
        };
        let with = |origin: &'static str| h(&[("host", "127.0.0.1:9000"), ("origin", origin)]);
        assert_eq!(
            check_origin(&p, &h(&[("host", "127.0.0.1:9000")]), []),
            Ok(())
        );
        assert_eq!(check_origin(&p, &with("http://127.0.0.1:9000"), []), Ok(()));
        assert_eq!(check_origin(&p, &with("HTTP://127.0.0.1:9000"), []), Ok(()));
        assert_eq!(
            check_origin(&p, &with("http://evil.example"), []),
            Err("http://evil.example".into())
        );
        assert!(check_origin(&p, &with("null"), []).is_err());
        let patterns = p.allowed_origins.iter().map(String::as_str);
        assert_eq!(
            check_origin(&p, &with("http://localhost:6274"), patterns),
            Ok(())
        );
        assert!(
            check_origin(
                &p,
                &with("http://localhost.evil.example"),
                ["http://localhost:*"]
            )
            .is_err()
        );
        let mut two = with("http://127.0.0.1:9000");
        two.append("origin", HeaderValue::from_static("http://evil.example"));
        assert!(check_origin(&p, &two, []).is_err());

        // DNS rebinding: evil.example resolves to 127.0.0.1; Host and Origin agree, the host is
        // not loopback while the gateway listens on loopback
        let rebound = h(&[
            ("host", "evil.example:9000"),
            ("origin", "http://evil.example:9000"),
        ]);
        assert!(check_origin(&p, &rebound, []).is_err());
        let pinned = OriginPolicy {
            public_url: Some("https://gw.example.com".into()),
            ..p.clone()
        };
        let proxied = h(&[("host", "x"), ("origin", "https://gw.example.com")]);
        assert_eq!(check_origin(&pinned, &proxied, []), Ok(()));

        assert!(origin_matches("*", "https://a.example"));
        assert!(!origin_matches("*", "null"));
        assert!(origin_matches("https://a.example/", "https://A.example"));
        assert!(!origin_matches(
            "https://a.example",
            "https://a.example.evil"
        ));
        assert!(origin_matches(
            "https://*.example.com",
            "https://api.example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "http://api.example.com"
        ));
        assert!(origin_matches("*.example.com", "https://api.example.com"));
        assert!(origin_matches(
            "http://localhost:*",
            "http://localhost:6274"
        ));
        assert!(!origin_matches(
            "http://localhost:*",
            "http://localhost:1/x"
        ));
    }

    #[test]
    fn route_encoding() {
        assert_eq!(encode_route("/mcp/linear-v1"), "mcp/linear-v1");
        assert_eq!(encode_route("/mcp/a b"), "mcp/a%20b");
    }
}

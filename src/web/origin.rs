//! The public origin of a request (SPEC §3.0, D6): issuer, resource and registry URLs derive
//! from it.
//!
//! Owns: `Host`, `--public-url` pinning, and the forwarded proto and host only when
//! `--trust-forwarded-host` says a proxy in front sets them (issue #13: a client must not be
//! able to change the issuer by sending `X-Forwarded-Proto` itself). Nothing else.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// `--public-url`: wins over everything.
    pub public_url: Option<String>,
    /// `--trust-forwarded-host`.
    pub trust_forwarded_host: bool,
    /// The scheme and authority the server listens on, used when a request has no Host.
    pub listen_origin: String,
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
    fn route_encoding() {
        assert_eq!(encode_route("/mcp/linear-v1"), "mcp/linear-v1");
        assert_eq!(encode_route("/mcp/a b"), "mcp/a%20b");
    }
}

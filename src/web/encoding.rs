//! Percent-decoding of URL components, written once.

/// Percent-decodes one URL component (`+` stays `+`, `&` stays `&`).
pub fn percent_decode(s: &str) -> String {
    let escaped = s.replace('+', "%2B").replace('&', "%26");
    url::form_urlencoded::parse(format!("x={escaped}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, then
/// percent-decoding (`&` stays `&`). HTTP Basic client credentials use this (RFC 6749 §2.3.1).
pub fn form_decode_component(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

//! Percent-encoding of URL path components, both ways, in one place.
//!
//! Owns: the rule for writing a path component (an upstream id, a route path segment, a rewrite
//! parameter) and the two rules for reading one (a route parameter, an encoded route path, an
//! upstream id, a server name), all built on the `percent-encoding` crate:
//!
//! - [`encode_component`]: everything but ASCII letters, digits and `*-._` is escaped; a space
//!   is `%20` (what `form_urlencoded::byte_serialize` writes, with `%20` for its `+`).
//! - [`encode_uri_component`]: JavaScript's `encodeURIComponent` (also `!~'()` stay), for the
//!   path arguments of `mcpServerHandler` tool calls (SPEC §15.6).
//! - [`decode_component`]: WHATWG URL percent-decode, then UTF-8 with replacement. A `%` not
//!   followed by two hex digits stays as it is; a malformed UTF-8 sequence becomes U+FFFD.
//!   Never fails: used where a request is matched, not judged.
//! - [`decode_component_strict`]: RFC 3986 §2.1: every `%` starts a two-hex-digit escape and
//!   the bytes are UTF-8, or there is no value (the MCP registry answers 400, SPEC §3.16).
//!
//! In all three, `+` is a plus and `&`, `=` are themselves: these are path rules. Query strings
//! and form bodies (`+` is a space there) are read and written with `url::form_urlencoded`,
//! never by hand.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The bytes [`encode_component`] escapes: all but ASCII letters, digits and `*-._`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// A path component, percent-encoded (a space is `%20`, a `+` is `%2B`, a `/` is `%2F`).
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// The bytes JavaScript's `encodeURIComponent` escapes: all but ASCII letters, digits and
/// `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &COMPONENT
    .remove(b'!')
    .remove(b'~')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// A value as JavaScript's `encodeURIComponent` writes it: what `mcpServerHandler` puts in a
/// tool route's path (SPEC §15.6 step 3), so the route sees the path 7.6.4 would send.
pub fn encode_uri_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// A percent-encoded path component, decoded leniently (WHATWG URL): bad escapes are kept as
/// they are, bytes that are not UTF-8 become U+FFFD; `+` stays `+`.
pub fn decode_component(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A percent-encoded path component, decoded strictly (RFC 3986 §2.1): `None` when a `%` is not
/// followed by two hex digits or the decoded bytes are not UTF-8; `+` stays `+`.
pub fn decode_component_strict(s: &str) -> Option<String> {
    // every piece after a `%` must begin with the escape's two hex digits
    let well_formed = s
        .split('%')
        .skip(1)
        .all(|rest| rest.len() >= 2 && rest.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit));
    if !well_formed {
        return None;
    }
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_component() {
        assert_eq!(encode_component("linear-v1"), "linear-v1");
        assert_eq!(encode_component("a b+c/d&e"), "a%20b%2Bc%2Fd%26e");
        assert_eq!(encode_component("été"), "%C3%A9t%C3%A9");
        // the gateway's earlier rule, byte for byte, over every ASCII character and a few more
        let all: String = (0u8..128).map(char::from).chain("é€😀".chars()).collect();
        for s in all.chars().map(String::from).chain([all.clone()]) {
            let before = url::form_urlencoded::byte_serialize(s.as_bytes())
                .collect::<String>()
                .replace('+', "%20");
            assert_eq!(encode_component(&s), before, "{s:?}");
            assert_eq!(decode_component_strict(&encode_component(&s)), Some(s));
        }
    }

    #[test]
    fn uri_component_is_javascripts() {
        assert_eq!(
            encode_uri_component("a b/c?d&e=f!~*'()-_.é"),
            "a%20b%2Fc%3Fd%26e%3Df!~*'()-_.%C3%A9"
        );
    }

    #[test]
    fn lenient_component() {
        assert_eq!(decode_component("a%2Fb&c+d"), "a/b&c+d");
        assert_eq!(decode_component("other%20x"), "other x");
        assert_eq!(decode_component("x=y&z"), "x=y&z");
        assert_eq!(decode_component("%C3%A9t%C3%A9"), "été");
        // malformed escapes are kept; bytes that are not UTF-8 are replaced
        assert_eq!(decode_component("%zz%2"), "%zz%2");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%%41"), "%A");
        assert_eq!(decode_component("a%ffb"), "a\u{FFFD}b");
        assert_eq!(decode_component("%2B+"), "++");
    }

    #[test]
    fn a_route_path_decoded_whole_is_its_segments_decoded() {
        // `authz` once decoded an encoded route path segment by segment; a `/` is never part of
        // an escape or of a UTF-8 sequence, so decoding it whole gives the same
        for s in [
            "mcp/a%20b/c",
            "a%2Fb/%C3/%A9",
            "%e2%82/x",
            "x/%zz/y%",
            "/",
            "",
        ] {
            let by_segment: Vec<String> = s.split('/').map(decode_component).collect();
            assert_eq!(decode_component(s), by_segment.join("/"), "{s:?}");
        }
    }

    #[test]
    fn lenient_component_is_what_the_form_decoder_gave_for_a_path() {
        // the gateway's earlier rule: form-urlencoded parsing with `+` and `&` escaped first
        fn before(s: &str) -> String {
            let escaped = s.replace('+', "%2B").replace('&', "%26");
            url::form_urlencoded::parse(format!("x={escaped}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| s.to_string())
        }
        for s in [
            "", "a", "a b", "a+b", "a%20b", "a%2Bb", "%", "%2", "%zz", "%%2B", "%+", "%2+", "%&",
            "a&b=c", "==", "%C3%A9", "%C3", "%ff%fe", "%e2%82/x", "é+%26", "%2F/%2f",
        ] {
            assert_eq!(decode_component(s), before(s), "{s:?}");
        }
    }

    #[test]
    fn strict_component() {
        assert_eq!(
            decode_component_strict("com.example.gw%2Flinear-mcp-server").as_deref(),
            Some("com.example.gw/linear-mcp-server")
        );
        assert_eq!(decode_component_strict("a+b&c").as_deref(), Some("a+b&c"));
        assert_eq!(decode_component_strict("%C3%A9").as_deref(), Some("é"));
        assert_eq!(decode_component_strict("").as_deref(), Some(""));
        for bad in ["%zz", "%2", "%ff%fe", "a%", "%%41", "%4g", "%C3"] {
            assert_eq!(decode_component_strict(bad), None, "{bad:?}");
        }
    }
}

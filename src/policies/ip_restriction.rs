//! `ip-address-restriction-inbound` at run time (SPEC §16.6, D21).
//!
//! Owns: which client address the policy judges — the connection's (locally `127.0.0.1`), or
//! the last non-empty comma-separated value of `clientIpHeader` — and the verdict: `deny`
//! first, then `allow`; an address that is missing or does not parse counts as unknown, which
//! passes unless `allow` is set and `allowUnknownIpAddress` is not. A refusal is a 403 generic
//! problem without `detail`.

use crate::config::policies::ip_restriction::{IpRestriction, canonical};
use crate::web::problem::Problem;
use axum::http::{HeaderMap, StatusCode};
use std::net::IpAddr;

/// The address the policy judges, or `None` when it is unknown.
pub fn client_ip(p: &IpRestriction, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    let ip = match &p.client_ip_header {
        None => peer,
        Some(name) => headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty())
            .and_then(|s| s.parse::<IpAddr>().ok()),
    };
    ip.map(canonical)
}

/// Whether the request may pass.
pub fn allows(p: &IpRestriction, ip: Option<IpAddr>) -> bool {
    let Some(ip) = ip else {
        return p.allow.is_none() || p.allow_unknown_ip_address;
    };
    if p.deny
        .as_ref()
        .is_some_and(|deny| deny.iter().any(|r| r.contains(ip)))
    {
        return false;
    }
    p.allow
        .as_ref()
        .is_none_or(|allow| allow.iter().any(|r| r.contains(ip)))
}

/// `Ok` when the request may pass, else the 403 problem.
pub fn check(p: &IpRestriction, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<(), Problem> {
    if allows(p, client_ip(p, peer, headers)) {
        Ok(())
    } else {
        Err(Problem::without_detail(StatusCode::FORBIDDEN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policies::ip_restriction::IpRange;
    use axum::http::HeaderValue;

    fn policy(allow: &[&str], deny: &[&str], header: Option<&str>) -> IpRestriction {
        let list = |l: &[&str]| {
            (!l.is_empty()).then(|| l.iter().map(|e| IpRange::parse(e).unwrap()).collect())
        };
        IpRestriction {
            allow: list(allow),
            deny: list(deny),
            client_ip_header: header.map(str::to_string),
            allow_unknown_ip_address: false,
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn deny_wins_then_allow_decides() {
        let p = policy(&["10.0.0.0/8", "127.0.0.1"], &["10.1.0.0/16"], None);
        assert!(allows(&p, ip("10.2.3.4")));
        assert!(!allows(&p, ip("10.1.3.4")));
        assert!(!allows(&p, ip("192.0.2.1")));
        assert!(allows(&p, ip("127.0.0.1")));
        let deny_only = policy(&[], &["2001:db8::/32"], None);
        assert!(!allows(&deny_only, ip("2001:db8::5")));
        assert!(allows(&deny_only, ip("2001:db9::5")));
    }

    #[test]
    fn unknown_addresses_pass_only_without_allow_or_when_allowed() {
        let mut p = policy(&["127.0.0.1"], &[], None);
        assert!(!allows(&p, None));
        p.allow_unknown_ip_address = true;
        assert!(allows(&p, None));
        assert!(allows(&policy(&[], &["1.2.3.4"], None), None));
    }

    #[test]
    fn the_header_gives_its_last_non_empty_value() {
        let p = policy(&["203.0.113.0/24"], &[], Some("x-forwarded-for"));
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.1, 203.0.113.9, "),
        );
        assert_eq!(client_ip(&p, ip("127.0.0.1"), &h), ip("203.0.113.9"));
        assert!(check(&p, ip("127.0.0.1"), &h).is_ok());
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, not-an-ip"),
        );
        assert_eq!(client_ip(&p, ip("203.0.113.9"), &h), None);
        let refused = check(&p, ip("203.0.113.9"), &HeaderMap::new()).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body().get("detail").is_none());
    }

    #[test]
    fn mapped_peers_count_as_ipv4() {
        let p = policy(&["127.0.0.1"], &[], None);
        assert!(check(&p, ip("::ffff:127.0.0.1"), &HeaderMap::new()).is_ok());
        assert!(check(&p, ip("::1"), &HeaderMap::new()).is_err());
    }
}

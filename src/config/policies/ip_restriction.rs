//! Options of `ip-address-restriction-inbound` (SPEC §16.6, rules 96 and 97, D21).
//!
//! Owns: the typed options, with each `allow` / `deny` entry parsed into an [`IpRange`] (an
//! address is a range of one). The runtime checks these options strictly, so unknown keys, a
//! missing or empty list and a bad entry are errors (rule 96); an `allow` list that does not
//! admit `127.0.0.1` without `clientIpHeader` is a warning, since every local call then gets
//! 403 (rule 97). Written by hand rather than with a CIDR crate: parsing and matching are a
//! few lines over `std::net`, and the rules about zone ids and IPv4-mapped ranges are ours.

use super::reader::ObjReader;
use crate::config::jsonc::{Node, Value};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use std::net::{IpAddr, Ipv4Addr};

/// An address range: `addr` with its first `prefix` bits significant. IPv4-mapped IPv6
/// entries (`::ffff:a.b.c.d/96` and longer) are kept as IPv4 so that both spellings match the
/// same clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpRange {
    /// An entry as written: an address or `address/prefix`. `Err` says why it is not one.
    pub fn parse(entry: &str) -> Result<IpRange, String> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err("is empty".into());
        }
        if entry.contains('%') {
            return Err("has a zone id (%…), which cannot match a client address".into());
        }
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| "is not an IPv4 or IPv6 address".to_string())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && !p.starts_with('+') => n,
                _ => return Err(format!("has a bad prefix length /{p} (0 to {max})")),
            },
        };
        if let IpAddr::V6(v6) = addr
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            if prefix < 96 {
                return Err(format!(
                    "is an IPv4-mapped range shorter than /96 (/{prefix})"
                ));
            }
            return Ok(IpRange {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
        Ok(IpRange { addr, prefix })
    }

    /// Whether `ip` lies in the range (IPv4-mapped client addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask32(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask128(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:a.b.c.d` is the IPv4 client `a.b.c.d` (a dual-stack listener reports it so).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq)]
pub struct IpRestriction {
    pub allow: Option<Vec<IpRange>>,
    pub deny: Option<Vec<IpRange>>,
    /// The client address comes from the last value of this header instead of the connection.
    pub client_ip_header: Option<String>,
    pub allow_unknown_ip_address: bool,
}

const KNOWN: &[&str] = &["allow", "deny", "clientIpHeader", "allowUnknownIpAddress"];

/// The local client address under `zuplo dev` and `mcpgw dev` (§16.6).
pub const LOCAL_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub fn parse(name: &str, options: &Node, findings: &mut Findings) -> Option<IpRestriction> {
    let rule = &rules::IP_RESTRICTION_OPTIONS;
    let mut r = ObjReader::policy(name, options, rule, findings)?;
    r.strict(KNOWN, rule);
    let mut ok = r.members().iter().all(|m| KNOWN.contains(&m.key.as_str()));
    if !r.has("allow") && !r.has("deny") {
        let span = r.span();
        let note = format!("{}{}", r.unset_note("allow"), r.unset_note("deny"));
        r.err(
            rule,
            span,
            format!(
                "{}: set `allow` or `deny` (or both): a list of addresses or CIDR ranges{note}",
                r.ctx
            ),
        );
        ok = false;
    }
    let allow = list(&mut r, "allow", &mut ok);
    let deny = list(&mut r, "deny", &mut ok);
    let client_ip_header = r.opt_nonempty("clientIpHeader");
    if let Some(h) = &client_ip_header
        && !super::basic::header_name_ok(&h.value)
    {
        r.err(
            rule,
            h.span,
            format!("{}: {:?} is not a valid header name", r.ctx, h.value),
        );
        ok = false;
    }
    if r.has("clientIpHeader") && client_ip_header.is_none() {
        ok = false;
    }
    let allow_unknown = match r.get("allowUnknownIpAddress") {
        Some(_) => match r.opt_bool("allowUnknownIpAddress") {
            Some(b) => b.value,
            None => {
                ok = false;
                false
            }
        },
        None => false,
    };
    if !ok {
        return None;
    }
    // rule 97: only the connection's address counts, and locally that is 127.0.0.1
    if client_ip_header.is_none()
        && let Some(allow) = &allow
        && !allow.iter().any(|range| range.contains(LOCAL_CLIENT))
    {
        let span = r.value_span("allow");
        r.err(
            &rules::IP_RESTRICTION_LOCAL,
            span,
            format!(
                "{}: `allow` does not admit 127.0.0.1, the client address of every local request, and there is no `clientIpHeader`: every request gets 403 under mcpgw dev",
                r.ctx
            ),
        );
    }
    Some(IpRestriction {
        allow,
        deny,
        client_ip_header: client_ip_header.map(|h| h.value),
        allow_unknown_ip_address: allow_unknown,
    })
}

/// One of the lists, each entry checked; problems clear `ok`.
fn list(r: &mut ObjReader<'_, '_>, key: &str, ok: &mut bool) -> Option<Vec<IpRange>> {
    let rule = &rules::IP_RESTRICTION_OPTIONS;
    let node = r.get(key)?;
    let Some(items) = node.as_array() else {
        let found = node.kind_name();
        let note = r.unset_note(key);
        r.err(
            rule,
            node.span,
            format!(
                "{}: `{key}` must be a list of addresses or CIDR ranges, found {found}{note}",
                r.ctx
            ),
        );
        *ok = false;
        return None;
    };
    if items.is_empty() {
        r.err(
            rule,
            node.span,
            format!("{}: `{key}` must not be empty", r.ctx),
        );
        *ok = false;
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let why = match &item.value {
            Value::String(s) => match IpRange::parse(s) {
                Ok(range) => {
                    out.push(range);
                    continue;
                }
                Err(why) => format!("{s:?} {why}"),
            },
            Value::Unset => {
                let mut note = String::new();
                if let Some(origin) = &item.env {
                    let names: Vec<&str> = origin
                        .vars
                        .iter()
                        .filter(|v| !v.set)
                        .map(|v| v.name.as_str())
                        .collect();
                    note = format!(" ($env({}) is not set)", names.join("), $env("));
                }
                format!("an entry is undefined{note}")
            }
            _ => format!("an entry is {}, not a string", item.kind_name()),
        };
        r.err(rule, item.span, format!("{}: `{key}`: {why}", r.ctx));
        *ok = false;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policies::testing;

    fn run(text: &str) -> (Option<IpRestriction>, Vec<(String, String)>) {
        let (out, findings) = testing::parsed(text, |n, f| parse("ip", n, f));
        (out, testing::codes(&findings))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let r = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(r.contains(ip("10.200.3.4")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.1.2.3")));
        assert!(!r.contains(ip("2001:db8::1")));
        let one = IpRange::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        let all = IpRange::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let mapped = IpRange::parse("::ffff:192.0.2.0/120").unwrap();
        assert_eq!(mapped.prefix, 24);
        assert!(mapped.contains(ip("192.0.2.77")));
    }

    #[test]
    fn bad_entries_say_why() {
        for (entry, why) in [
            ("", "empty"),
            ("fe80::1%eth0", "zone id"),
            ("10.0.0.0/33", "bad prefix"),
            ("10.0.0.0/-1", "bad prefix"),
            ("::ffff:0.0.0.0/64", "shorter than /96"),
            ("example.com", "not an IPv4 or IPv6"),
        ] {
            let e = IpRange::parse(entry).unwrap_err();
            assert!(e.contains(why), "{entry}: {e}");
        }
    }

    #[test]
    fn strict_options_are_rule_96() {
        let (p, f) = run(r#"{"allow":["127.0.0.1"],"mode":"x"}"#);
        assert!(p.is_none());
        assert_eq!(f[0].0, "MCP096");
        assert!(f[0].1.contains("unknown option `mode`"));
        let (p, f) = run(r#"{"clientIpHeader":"x-real-ip"}"#);
        assert!(p.is_none() && f[0].0 == "MCP096" && f[0].1.contains("set `allow` or `deny`"));
        let (p, f) = run(r#"{"deny":[]}"#);
        assert!(p.is_none() && f[0].1.contains("must not be empty"), "{f:?}");
        let (p, f) = run(r#"{"deny":["1.2.3.4", "1.2.3.4/40", 7]}"#);
        assert!(p.is_none());
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|(c, _)| c == "MCP096"));
    }

    #[test]
    fn an_allow_list_without_loopback_warns_unless_a_header_is_used() {
        let (p, f) = run(r#"{"allow":["10.0.0.0/8"]}"#);
        assert!(p.is_some());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, "MCP097");
        let (_, f) = run(r#"{"allow":["10.0.0.0/8"],"clientIpHeader":"x-forwarded-for"}"#);
        assert!(f.is_empty(), "{f:?}");
        let (p, f) = run(r#"{"allow":["127.0.0.0/8"],"deny":["::1"]}"#);
        assert!(f.is_empty(), "{f:?}");
        let p = p.unwrap();
        assert_eq!(p.deny.unwrap().len(), 1);
        assert!(!p.allow_unknown_ip_address);
    }
}

//! The one address classifier: which hosts are loopback, and which are private, link-local,
//! broadcast, multicast or cloud-metadata addresses that a public fetch must never reach.
//!
//! Owns: the classification only. The SSRF guard that applies it lives in `net::outbound`;
//! config rules (`is_private_host`) and redirect-URI rules (`is_loopback_host`) ask here too,
//! so every part of the library draws the line in the same place.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Host;

/// Whether a host written as text is loopback (`localhost`, 127.0.0.0/8, `::1`, bracketed or not).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// Whether a host written as text is not public: loopback, a private, link-local, broadcast,
/// multicast or carrier-grade NAT address (IPv4-mapped IPv6 included), or a name that only
/// resolves inside a network (`*.localhost`, `*.internal`, `*.local`). Names are not resolved.
pub fn is_private_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if is_loopback_host(h) {
        return true;
    }
    let lower = h.to_ascii_lowercase();
    if lower.ends_with(".localhost") || lower.ends_with(".internal") || lower.ends_with(".local") {
        return true;
    }
    match h.parse::<IpAddr>() {
        Ok(ip) => refuse_private(ip).is_err(),
        Err(_) => false,
    }
}

/// Is `host` a loopback host (`localhost`, 127.0.0.0/8, ::1)?
pub fn host_is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

pub fn refuse_private(ip: IpAddr) -> Result<(), &'static str> {
    let private = match ip {
        IpAddr::V4(v4) => v4_is_private(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_is_private(v4),
            None => v6_is_private(v6),
        },
    };
    if private {
        Err("the host is a loopback, private, link-local or metadata address")
    } else {
        Ok(())
    }
}

fn v4_is_private(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // includes 169.254.169.254, the cloud metadata address
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
}

fn v6_is_private(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1", "[::2]", "localhost.example.com"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn private_hosts_include_broadcast_multicast_and_mapped_addresses() {
        for h in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "[::ffff:10.0.0.1]",
            "::ffff:127.0.0.1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "db.internal",
            "printer.local",
            "app.localhost",
        ] {
            assert!(is_private_host(h), "{h}");
        }
        for h in ["93.184.216.34", "example.com", "[2001:db8::1]", "8.8.8.8"] {
            assert!(!is_private_host(h), "{h}");
        }
    }
}

//! Which network addresses a webhook may target (the SSRF guard's rules, shared by setting time and delivery time).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a webhook must never reach an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden {
    /// What the deciding address is, with its article: `a private address`.
    pub kind: &'static str,
    /// The IPv6 form (`a NAT64 address`) and the IPv4 address it embeds, when that address decided.
    pub embedded: Option<(&'static str, Ipv4Addr)>,
}

impl fmt::Display for Forbidden {
    /// `a private address`, or `a NAT64 address embedding 10.0.0.5, a private address`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded {
            Some((form, v4)) => write!(f, "{form} embedding {v4}, {}", self.kind),
            None => f.write_str(self.kind),
        }
    }
}

/// Why `ip` is forbidden, or `None` when a webhook may reach it. Forbidden: loopback, private, shared
/// (CGNAT), link-local, multicast, broadcast and unspecified addresses. An IPv6 address that embeds
/// an IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) is judged by the IPv4 address:
/// that is where a packet sent to it ends up.
pub fn forbidden(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4).map(|kind| Forbidden { kind, embedded: None }),
        IpAddr::V6(v6) => {
            if let Some(kind) = forbidden_v6(v6) {
                return Some(Forbidden { kind, embedded: None });
            }
            let (form, v4) = embedded_v4(v6)?;
            match v4 {
                Some(v4) => forbidden_v4(v4).map(|kind| Forbidden { kind, embedded: Some((form, v4)) }),
                None => Some(Forbidden { kind: form, embedded: None }),
            }
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_private() {
        "a private address"
    } else if ip.is_link_local() {
        "a link-local address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if ip.is_broadcast() {
        "a broadcast address"
    } else if ip.is_unspecified() || a == 0 {
        "an unspecified (0.0.0.0/8) address"
    } else if a == 100 && (64..=127).contains(&b) {
        "a shared (carrier-grade NAT) address"
    } else {
        return None;
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() {
        "an unspecified address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if (first & 0xfe00) == 0xfc00 {
        "a unique-local (private) address"
    } else if (first & 0xffc0) == 0xfe80 {
        "a link-local address"
    } else if (first & 0xffc0) == 0xfec0 {
        "a site-local address"
    } else {
        return None;
    })
}

/// The IPv4 address an IPv6 form carries, with the form's name; `Some((form, None))` for a form whose
/// IPv4 address cannot be told from the address alone (judged forbidden: the guard fails closed).
fn embedded_v4(ip: Ipv6Addr) -> Option<(&'static str, Option<Ipv4Addr>)> {
    let s = ip.segments();
    let last32 = Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(("an IPv4-mapped address", Some(v4)));
    }
    match s {
        // ::a.b.c.d, deprecated but still routed by some stacks (:: and ::1 are judged as IPv6 before).
        [0, 0, 0, 0, 0, 0, _, _] => Some(("an IPv4-compatible address", Some(last32))),
        // The well-known NAT64 prefix: a translator on the path sends it to the IPv4 address.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(("a NAT64 address", Some(last32))),
        // The local-use NAT64 prefix (RFC 8215), read in the /96 form when bits 64..96 are zero (as in
        // a 64:ff9b:1::/96 translator). Otherwise the IPv4 address may sit in bits 48..88, 56..96 or
        // 72..104 (RFC 6052's shorter forms), where another form has subnet bits: it cannot be judged.
        [0x64, 0xff9b, 1, _, _, _, _, _] if s[4] == 0 && s[5] == 0 => Some(("a NAT64 address", Some(last32))),
        [0x64, 0xff9b, 1, _, _, _, _, _] => {
            Some(("a local-use NAT64 address not of the /96 form, whose IPv4 address cannot be told", None))
        }
        // 6to4: the IPv4 address is bits 16..48.
        [0x2002, high, low, _, _, _, _, _] => {
            Some(("a 6to4 address", Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)))))
        }
        // Teredo: the client's IPv4 address is the last 32 bits, inverted.
        [0x2001, 0, _, _, _, _, _, _] => Some(("a Teredo address", Some(Ipv4Addr::from(!u32::from(last32))))),
        _ => None,
    }
}

/// Why a URL's host is one a webhook must never reach, judged from the URL alone: a literal
/// forbidden address, or a name that always means this machine. `None` leaves any other name to be
/// judged by the addresses it resolves to, when a delivery connects. Setting time and delivery time
/// both ask this.
pub fn forbidden_host(host: &url::Host<&str>) -> Option<String> {
    match host {
        url::Host::Domain(domain) if is_local_hostname(domain) => Some(format!("{domain} is a name of this machine")),
        url::Host::Domain(_) => None,
        url::Host::Ipv4(ip) => forbidden((*ip).into()).map(|why| format!("{ip} is {why}")),
        url::Host::Ipv6(ip) => forbidden((*ip).into()).map(|why| format!("{ip} is {why}")),
    }
}

/// True for host names that always mean this machine.
pub fn is_local_hostname(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(ip: &str) -> Option<String> {
        forbidden(ip.parse().unwrap()).map(|f| f.to_string())
    }

    #[test]
    fn internal_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fec0::1",
            "fd00::1",
            "ff02::1",
        ] {
            assert!(forbidden(ip.parse().unwrap()).is_some(), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700::1111", "2a00:1450:4001::200e"] {
            assert!(forbidden(ip.parse().unwrap()).is_none(), "{ip}");
        }
    }

    #[test]
    fn each_forbidden_address_says_what_it_is() {
        assert_eq!(reason("10.0.0.5").unwrap(), "a private address");
        assert_eq!(reason("127.0.0.1").unwrap(), "a loopback address");
        assert_eq!(reason("169.254.169.254").unwrap(), "a link-local address");
        assert_eq!(reason("100.64.0.1").unwrap(), "a shared (carrier-grade NAT) address");
        assert_eq!(reason("::1").unwrap(), "a loopback address");
        assert_eq!(reason("fd00::1").unwrap(), "a unique-local (private) address");
    }

    /// Each IPv6 form that embeds an IPv4 address is judged by that address: forbidden when it
    /// embeds 10.0.0.5 or 127.0.0.1, allowed when it embeds 8.8.8.8.
    #[test]
    fn ipv6_forms_embedding_an_ipv4_address_are_judged_by_it() {
        let forms = [
            ("an IPv4-mapped address", "::ffff:10.0.0.5", "::ffff:127.0.0.1", "::ffff:8.8.8.8"),
            ("an IPv4-compatible address", "::10.0.0.5", "::127.0.0.1", "::8.8.8.8"),
            ("a NAT64 address", "64:ff9b::10.0.0.5", "64:ff9b::127.0.0.1", "64:ff9b::8.8.8.8"),
            ("a NAT64 address", "64:ff9b:1::10.0.0.5", "64:ff9b:1:abcd::7f00:1", "64:ff9b:1::8.8.8.8"),
            ("a 6to4 address", "2002:a00:5::1", "2002:7f00:1:42::1", "2002:808:808::1"),
            // Teredo: server 65.54.227.120, client port 40000, client address inverted.
            (
                "a Teredo address",
                "2001:0:4136:e378:8000:63bf:f5ff:fffa",
                "2001:0:4136:e378:8000:63bf:80ff:fffe",
                "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
            ),
        ];
        for (form, private, loopback, public) in forms {
            assert_eq!(reason(private).unwrap(), format!("{form} embedding 10.0.0.5, a private address"), "{private}");
            assert_eq!(
                reason(loopback).unwrap(),
                format!("{form} embedding 127.0.0.1, a loopback address"),
                "{loopback}"
            );
            assert_eq!(reason(public), None, "{public} embeds 8.8.8.8");
        }
    }

    #[test]
    fn a_local_use_nat64_address_not_of_the_96_form_is_refused() {
        // Here 10.0.0.5 could sit in bits 48..88 (/48) or 72..104 (/64): which, the address does not say.
        let reason = reason("64:ff9b:1:a00:5:0:808:808").unwrap();
        assert_eq!(reason, "a local-use NAT64 address not of the /96 form, whose IPv4 address cannot be told");
    }

    #[test]
    fn localhost_names_are_local() {
        assert!(is_local_hostname("localhost"));
        assert!(is_local_hostname("LOCALHOST."));
        assert!(is_local_hostname("api.localhost"));
        assert!(!is_local_hostname("localhost.example.com"));
    }
}

//! The SSRF guard at delivery time: names are resolved here, internal addresses are refused, and
//! the HTTP client connects only to the addresses that passed.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::net::{forbidden, forbidden_host, is_local_hostname, Forbidden};

/// How many refused addresses a refusal lists.
const LISTED: usize = 3;

/// The guard's refusal of a target. It is final (the delivery is dead at once: the operator's
/// switch, or the receiver's DNS, has to change first), and its message is the delivery's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused: {}; set WEBHOOK_ALLOW_PRIVATE=true for local development", self.0)
    }
}

impl std::error::Error for Refused {}

impl Refused {
    /// `host` resolved to `refused` only (none allowed).
    fn resolved(host: &str, refused: &[(IpAddr, Forbidden)]) -> Self {
        match refused {
            [] => Self(format!("{host} is a name of this machine")),
            [(ip, why)] => Self(format!("{host} resolves to {ip}, {why}")),
            _ => {
                let mut listed: Vec<String> =
                    refused.iter().take(LISTED).map(|(ip, why)| format!("{ip} ({why})")).collect();
                if refused.len() > LISTED {
                    listed.push(format!("{} more", refused.len() - LISTED));
                }
                let last = listed.pop().unwrap_or_default();
                Self(format!("{host} resolves to {} and {last}", listed.join(", ")))
            }
        }
    }

    /// The guard's refusal among an error's causes (the HTTP client wraps what the resolver said).
    pub fn in_chain<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e Refused> {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if let Some(refused) = error.downcast_ref::<Refused>() {
                return Some(refused);
            }
            cause = error.source();
        }
        None
    }
}

/// A DNS resolver for the webhook client that drops forbidden addresses (unless private targets are
/// allowed), and refuses a name left with none.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    allow_private: bool,
    lookup: Lookup,
}

#[derive(Debug, Clone)]
enum Lookup {
    /// The system's resolver.
    System,
    /// Every name resolves to these (tests).
    #[cfg(test)]
    Fixed(Vec<IpAddr>),
}

impl GuardedResolver {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private, lookup: Lookup::System }
    }

    /// A resolver for which every name resolves to `addresses`.
    #[cfg(test)]
    pub fn fixed(allow_private: bool, addresses: Vec<IpAddr>) -> Self {
        Self { allow_private, lookup: Lookup::Fixed(addresses) }
    }

    async fn lookup(&self, host: &str) -> std::io::Result<Vec<SocketAddr>> {
        match &self.lookup {
            Lookup::System => Ok(tokio::net::lookup_host((host, 0)).await?.collect()),
            #[cfg(test)]
            Lookup::Fixed(addresses) => Ok(addresses.iter().map(|ip| SocketAddr::new(*ip, 0)).collect()),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved = match resolver.lookup(&host).await {
                Ok(resolved) => resolved,
                // A local name is refused even when it does not resolve.
                Err(_) if !resolver.allow_private && is_local_hostname(&host) => Vec::new(),
                Err(error) => return Err(error.into()),
            };
            let allowed = judge(&host, resolved, resolver.allow_private)?;
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The addresses of `host` a webhook may connect to; a refusal when none is left, or when the name
/// always means this machine (`localhost`), whatever it resolves to.
fn judge(host: &str, resolved: Vec<SocketAddr>, allow_private: bool) -> Result<Vec<SocketAddr>, Refused> {
    if allow_private {
        return Ok(resolved);
    }
    let mut allowed = Vec::new();
    let mut refused: Vec<(IpAddr, Forbidden)> = Vec::new();
    for addr in resolved {
        match forbidden(addr.ip()) {
            Some(why) if !refused.iter().any(|(ip, _)| *ip == addr.ip()) => refused.push((addr.ip(), why)),
            Some(_) => {}
            None => allowed.push(addr),
        }
    }
    if is_local_hostname(host) {
        return Err(Refused::resolved(host, &refused));
    }
    if allowed.is_empty() && !refused.is_empty() {
        return Err(Refused::resolved(host, &refused));
    }
    Ok(allowed)
}

/// Checks a URL before sending: the resolver never sees literal addresses, so they are checked here,
/// by the rule setting time applies.
pub fn check_target(url: &url::Url, allow_private: bool) -> Result<(), Refused> {
    if allow_private {
        return Ok(());
    }
    match url.host() {
        // Names are judged by the resolver, on the addresses they resolve to.
        Some(url::Host::Domain(_)) => Ok(()),
        Some(literal) => forbidden_host(&literal).map_or(Ok(()), |why| Err(Refused(why))),
        None => Err(Refused("the URL names no host".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(ips: &[&str]) -> Vec<SocketAddr> {
        ips.iter().map(|ip| SocketAddr::new(ip.parse().unwrap(), 0)).collect()
    }

    #[test]
    fn literal_internal_targets_are_refused_with_the_reason_unless_allowed() {
        for (bad, reason) in [
            ("http://127.0.0.1/x", "127.0.0.1 is a loopback address"),
            (
                "http://[::ffff:10.0.0.1]/",
                "::ffff:10.0.0.1 is an IPv4-mapped address embedding 10.0.0.1, a private address",
            ),
            (
                "http://[64:ff9b::a9fe:a9fe]/",
                "64:ff9b::a9fe:a9fe is a NAT64 address embedding 169.254.169.254, a link-local address",
            ),
            ("http://169.254.169.254/", "169.254.169.254 is a link-local address"),
        ] {
            let url = url::Url::parse(bad).unwrap();
            let refused = check_target(&url, false).unwrap_err().to_string();
            assert_eq!(refused, format!("refused: {reason}; set WEBHOOK_ALLOW_PRIVATE=true for local development"));
            assert!(check_target(&url, true).is_ok(), "{bad}");
        }
        assert!(check_target(&url::Url::parse("https://8.8.8.8/hook").unwrap(), false).is_ok());
    }

    #[test]
    fn a_name_is_refused_when_every_address_it_resolves_to_is_forbidden() {
        let one = judge("crm.example.com", addrs(&["10.0.0.5"]), false).unwrap_err();
        assert_eq!(one.0, "crm.example.com resolves to 10.0.0.5, a private address");
        let several =
            judge("crm.example.com", addrs(&["10.0.0.5", "::1", "10.0.0.5", "fd00::1", "2002:a00:1::"]), false);
        assert_eq!(
            several.unwrap_err().0,
            "crm.example.com resolves to 10.0.0.5 (a private address), ::1 (a loopback address), \
             fd00::1 (a unique-local (private) address) and 1 more"
        );
        assert!(judge("crm.example.com", addrs(&["10.0.0.5"]), true).is_ok(), "allowed for local development");
    }

    #[test]
    fn a_name_with_public_addresses_keeps_only_those() {
        let kept = judge("crm.example.com", addrs(&["10.0.0.5", "8.8.8.8", "64:ff9b::808:808"]), false).unwrap();
        assert_eq!(kept, addrs(&["8.8.8.8", "64:ff9b::808:808"]));
    }

    #[tokio::test]
    async fn localhost_is_refused_whatever_it_resolves_to() {
        let refused = judge("localhost", addrs(&["8.8.8.8"]), false).unwrap_err();
        assert_eq!(refused.0, "localhost is a name of this machine");
        let resolver = GuardedResolver::new(false);
        let error = resolver.resolve("localhost".parse::<Name>().unwrap()).await.err().expect("refused");
        let refused = Refused::in_chain(error.as_ref()).expect("the refusal is the error").to_string();
        assert!(refused.starts_with("refused: localhost resolves to "), "{refused}");
        assert!(refused.contains("a loopback address"), "{refused}");
        let open = GuardedResolver::new(true);
        assert!(open.resolve("localhost".parse::<Name>().unwrap()).await.is_ok());
    }
}

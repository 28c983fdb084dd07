//! The SSRF guard at delivery time: names are resolved here, internal addresses are refused, and
//! the HTTP client connects only to the addresses that passed.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::net::{is_forbidden_ip, is_local_hostname};

/// A DNS resolver for the webhook client that drops forbidden addresses (unless private targets are allowed).
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            if !allow_private && is_local_hostname(&host) {
                return Err(refused(&host).into());
            }
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                resolved.into_iter().filter(|addr| allow_private || !is_forbidden_ip(addr.ip())).collect();
            if allowed.is_empty() {
                return Err(refused(&host).into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

fn refused(host: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!("{host} resolves only to loopback, private, link-local or multicast addresses"),
    )
}

/// Checks a URL before sending: the resolver never sees literal addresses, so they are checked here.
pub fn check_target(url: &url::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let forbidden = match url.host() {
        Some(url::Host::Ipv4(ip)) => is_forbidden_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_forbidden_ip(IpAddr::V6(ip)),
        Some(url::Host::Domain(domain)) => is_local_hostname(domain),
        None => true,
    };
    if forbidden {
        Err("the target is a loopback, private, link-local or multicast address".to_string())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_internal_targets_are_refused_unless_allowed() {
        for bad in
            ["http://127.0.0.1/x", "http://[::ffff:10.0.0.1]/", "http://localhost:8080/", "http://169.254.169.254/"]
        {
            let url = url::Url::parse(bad).unwrap();
            assert!(check_target(&url, false).is_err(), "{bad}");
            assert!(check_target(&url, true).is_ok(), "{bad}");
        }
        assert!(check_target(&url::Url::parse("https://8.8.8.8/hook").unwrap(), false).is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let resolver = GuardedResolver { allow_private: false };
        assert!(resolver.resolve("localhost".parse::<Name>().unwrap()).await.is_err());
        let open = GuardedResolver { allow_private: true };
        assert!(open.resolve("localhost".parse::<Name>().unwrap()).await.is_ok());
    }
}

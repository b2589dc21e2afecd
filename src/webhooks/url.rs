//! Which webhook endpoints may be called: `https` only (plain `http` only to loopback in
//! development), never a private, shared, link-local or unspecified address, never a URL with
//! credentials. Literal addresses are checked when the URL is set; names are checked again
//! when the worker resolves them, so a name that points inside the network is never called.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::ops::config::Environment;

/// `Ok` with the parsed URL, or why it may not be a webhook endpoint.
pub fn check(raw: &str, environment: Environment) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|_| "is not an absolute URL".to_owned())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    let host = url.host().ok_or_else(|| "has no host".to_owned())?;
    let loopback = match &host {
        Host::Domain(name) => is_localhost(name),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    };
    let development = environment == Environment::Development;
    match url.scheme() {
        "https" => {}
        "http" if development && loopback => {}
        "http" if development => return Err("must use https (http only to loopback)".into()),
        _ => return Err("must use https".into()),
    }
    let allowed = match host {
        Host::Domain(_) => !loopback || development,
        Host::Ipv4(ip) => address_allowed(IpAddr::V4(ip), environment),
        Host::Ipv6(ip) => address_allowed(IpAddr::V6(ip), environment),
    };
    if !allowed {
        return Err("must not point to a private, link-local or loopback address".into());
    }
    Ok(url)
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether the worker may connect to `ip`: public addresses, and loopback in development.
pub fn address_allowed(ip: IpAddr, environment: Environment) -> bool {
    if ip.is_loopback() {
        return environment == Environment::Development;
    }
    match ip {
        IpAddr::V4(ip) => v4_public(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => address_allowed(IpAddr::V4(v4), environment),
            None => v6_public(ip),
        },
    }
}

fn v4_public(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    !(ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || shared
        || a == 0)
}

fn v6_public(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    !(ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

/// Name resolution for the worker's HTTP client that drops every address the worker may not
/// call, and fails when none is left.
pub struct GuardedResolver {
    pub environment: Environment,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let environment = self.environment;
        let host = name.as_str().to_owned();
        let lookup: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| address_allowed(addr.ip(), environment))
                .collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to addresses webhooks may not reach").into();
                return Err(refused);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        });
        lookup
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Environment::{Development, Production};

    #[test]
    fn https_to_public_hosts_passes() {
        assert!(check("https://clinic.example.org/hooks", Production).is_ok());
        assert!(check("https://93.184.216.34/hooks", Production).is_ok());
        assert!(check("https://[2606:4700::1]/hooks", Production).is_ok());
    }

    #[test]
    fn plain_http_is_only_for_loopback_in_development() {
        assert!(check("http://127.0.0.1:9000/hooks", Development).is_ok());
        assert!(check("http://localhost:9000/hooks", Development).is_ok());
        assert!(check("http://127.0.0.1:9000/hooks", Production).is_err());
        assert!(check("http://clinic.example.org/hooks", Development).is_err());
        assert!(check("http://clinic.example.org/hooks", Production).is_err());
        assert!(check("ftp://clinic.example.org/hooks", Production).is_err());
    }

    #[test]
    fn private_link_local_loopback_and_credentials_are_refused() {
        for url in [
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://172.31.255.255/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://[fc00::1]/",
            "https://[fd12:3456::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://localhost/",
            "https://user:pass@clinic.example.org/",
            "https://user@clinic.example.org/",
            "not a url",
        ] {
            assert!(check(url, Production).is_err(), "{url}");
        }
        assert!(check("https://172.32.0.1/", Production).is_ok());
        assert!(check("https://100.128.0.1/", Production).is_ok());
    }
}

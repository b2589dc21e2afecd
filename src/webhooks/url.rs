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
    let [a, b, c, _] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10, carrier-grade NAT
    let benchmarking = a == 198 && (b == 18 || b == 19); // 198.18.0.0/15
    let ietf = a == 192 && b == 0 && c == 0; // 192.0.0.0/24, protocol assignments
    let reserved = a >= 240; // 240.0.0.0/4 and the broadcast address
    !(ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || shared
        || benchmarking
        || ietf
        || reserved
        || a == 0)
}

/// IPv6 addresses that are public and do not stand for an IPv4 address elsewhere: not
/// unique-local, link-local or site-local, and none of the forms that carry an IPv4 address a
/// gateway would connect to (NAT64, 6to4, Teredo, IPv4-compatible).
fn v6_public(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let first = segments[0];
    let unique_local = first & 0xfe00 == 0xfc00; // fc00::/7
    let link_local = first & 0xffc0 == 0xfe80; // fe80::/10
    let site_local = first & 0xffc0 == 0xfec0; // fec0::/10
    let nat64 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] // 64:ff9b::/96
        || segments[..3] == [0x64, 0xff9b, 1]; // 64:ff9b:1::/48, local-use NAT64
    let six_to_four = first == 0x2002; // 2002::/16
    let teredo = first == 0x2001 && segments[1] == 0; // 2001::/32
    let documentation = first == 0x2001 && segments[1] == 0x0db8; // 2001:db8::/32
    let ipv4_compatible = segments[..6] == [0; 6]; // ::/96 (also :: and ::1)
    !(ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || site_local
        || nat64
        || six_to_four
        || teredo
        || documentation
        || ipv4_compatible)
}

/// Name resolution for the worker's HTTP client that checks every address a name resolves
/// to, and refuses the name when any of them is one the worker may not call (a name that
/// answers with a public and a private address is not called at all).
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
            let found = screen(&host, found, environment)
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)?;
            Ok(Box::new(found.into_iter()) as Addrs)
        });
        lookup
    }
}

/// `found`, the addresses `host` resolved to, when every one of them may be called.
fn screen(
    host: &str,
    found: Vec<SocketAddr>,
    environment: Environment,
) -> Result<Vec<SocketAddr>, String> {
    if found.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    match found.iter().find(|a| !address_allowed(a.ip(), environment)) {
        Some(inside) => Err(format!(
            "{host} resolves to {}, an address webhooks may not reach",
            inside.ip()
        )),
        None => Ok(found),
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
    fn a_name_is_refused_when_any_address_it_resolves_to_is_refused() {
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 443);
        let public = vec![at("93.184.216.34"), at("2606:4700::1")];
        assert_eq!(screen("a.example", public.clone(), Production), Ok(public));
        for inside in ["10.0.0.1", "64:ff9b::a00:1", "::1"] {
            let mixed = vec![at("93.184.216.34"), at(inside)];
            let refused = screen("a.example", mixed, Production).unwrap_err();
            assert!(refused.contains(inside), "{refused}");
        }
        assert!(screen("a.example", vec![], Production).is_err());
        assert!(screen("localhost", vec![at("127.0.0.1"), at("::1")], Development).is_ok());
    }

    #[test]
    fn the_documented_pattern_admits_every_url_the_server_accepts() {
        let pattern = regex::Regex::new(crate::http::limits::WEBHOOK_URL_PATTERN).unwrap();
        for (url, environment) in [
            ("https://clinic.example.org/hooks", Production),
            (
                "https://clinic.example.org:8443/hooks?source=tandem#x",
                Production,
            ),
            ("https://93.184.216.34/hooks", Production),
            ("https://[2606:4700::1]:443/", Production),
            ("HTTPS://Clinic.Example.ORG/Hooks", Production),
            ("https://clinic.example.org", Production),
            ("  https://clinic.example.org/hooks ", Production),
            ("http://127.0.0.1:9000/hooks", Development),
            ("http://localhost:9000", Development),
            ("http://[::1]:9000/hooks", Development),
        ] {
            assert!(check(url.trim(), environment).is_ok(), "{url}");
            assert!(pattern.is_match(url), "{url}");
        }
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
            "https://[fec0::1]/",
            "https://[64:ff9b::a00:1]/",
            "https://[64:ff9b:1::1]/",
            "https://[2002:a00:1::1]/",
            "https://[2001:0:a00:1::1]/",
            "https://[2001:db8::1]/",
            "https://[::10.0.0.1]/",
            "https://[::8.8.8.8]/",
            "https://100.127.255.255/",
            "https://198.18.0.1/",
            "https://198.19.255.255/",
            "https://240.0.0.1/",
            "https://255.255.255.255/",
            "https://192.0.0.8/",
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
        assert!(check("https://198.20.0.1/", Production).is_ok());
        assert!(check("https://239.255.255.255/", Production).is_err());
        assert!(check("https://[2003::1]/", Production).is_ok());
        assert!(check("https://[2001:4860::8888]/", Production).is_ok());
    }
}

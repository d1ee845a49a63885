//! Which endpoint URLs a client may register (`webhooks.allowed_hosts`).
//!
//! An entry is one of:
//! - `*`: any host;
//! - `loopback`: 127.0.0.0/8, `::1` (also as `::ffff:127.x.y.z`) and the name `localhost`;
//! - a CIDR block, `10.0.0.0/8` or `fd00::/8`, and an IP literal, `192.0.2.7` or `::1`;
//! - `*.example.com`: any subdomain of example.com, at any depth, but not example.com itself;
//! - a host name, `hooks.example.com`, matched exactly and case-insensitively.
//!
//! The check is on the URL as written, after the WHATWG normalisation of the `url` crate (so
//! `http://2130706433/` is 127.0.0.1 and `http://[::ffff:7f00:1]/` is loopback too). Names are
//! not resolved: IP and CIDR entries match only URLs written with an IP literal, and a name entry
//! trusts whatever its name resolves to when the delivery is sent.

use std::net::IpAddr;
use url::{Host, Url};

/// One parsed entry of `webhooks.allowed_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Any,
    Loopback,
    Ip(IpAddr),
    Block(IpAddr, u8),
    /// The suffix after `*.`, lowercase.
    Subdomains(String),
    Name(String),
}

impl Rule {
    fn parse(entry: &str) -> Result<Rule, String> {
        let e = entry.trim();
        let bad = |why: &str| Err(format!("{entry:?} is not an allowed-host entry: {why}"));
        if e == "*" {
            return Ok(Rule::Any);
        }
        if e.eq_ignore_ascii_case("loopback") {
            return Ok(Rule::Loopback);
        }
        if let Some((addr, len)) = e.split_once('/') {
            let Ok(addr) = addr.parse::<IpAddr>() else {
                return bad("a CIDR block is an IP address, a slash and a prefix length");
            };
            let max = if addr.is_ipv4() { 32 } else { 128 };
            return match len.parse::<u8>() {
                Ok(len) if len <= max => Ok(Rule::Block(canonical(addr), len)),
                _ => bad(&format!("the prefix length must be 0 to {max}")),
            };
        }
        if let Some(suffix) = e.strip_prefix("*.") {
            return match name(suffix) {
                Some(s) => Ok(Rule::Subdomains(s)),
                None => bad("after \"*.\" comes a host name"),
            };
        }
        match Host::parse(e) {
            Ok(Host::Ipv4(a)) => Ok(Rule::Ip(IpAddr::V4(a))),
            Ok(Host::Ipv6(a)) => Ok(Rule::Ip(canonical(IpAddr::V6(a)))),
            Ok(Host::Domain(_)) => match name(e) {
                Some(n) => Ok(Rule::Name(n)),
                None => bad("not a host name"),
            },
            Err(_) if e.parse::<IpAddr>().is_ok() => Ok(Rule::Ip(canonical(e.parse().unwrap()))),
            Err(_) => {
                bad("write *, loopback, a host name, *.domain, an IP address or a CIDR block")
            }
        }
    }

    fn allows(&self, host: &Target) -> bool {
        match (self, host) {
            (Rule::Any, _) => true,
            (Rule::Loopback, Target::Ip(ip)) => ip.is_loopback(),
            (Rule::Loopback, Target::Name(n)) => n == "localhost",
            (Rule::Ip(a), Target::Ip(ip)) => a == ip,
            (Rule::Block(net, len), Target::Ip(ip)) => in_block(*net, *len, *ip),
            (Rule::Subdomains(s), Target::Name(n)) => {
                n.len() > s.len() + 1
                    && n.ends_with(s.as_str())
                    && n[..n.len() - s.len()].ends_with('.')
            }
            (Rule::Name(a), Target::Name(n)) => a == n,
            _ => false,
        }
    }
}

/// A host name as the URL parser would write it (lowercase, punycode), without a final dot;
/// `None` when it is not a plain domain.
fn name(text: &str) -> Option<String> {
    match Host::parse(text).ok()? {
        Host::Domain(d) if !d.is_empty() && !d.contains('*') => {
            Some(d.strip_suffix('.').unwrap_or(&d).to_string())
        }
        _ => None,
    }
}

/// An IPv4-mapped IPv6 address is its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_block(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The host of an endpoint URL, normalised for matching.
enum Target {
    Ip(IpAddr),
    Name(String),
}

/// Checks that `entry` is a well-formed `webhooks.allowed_hosts` entry (for config validation).
pub fn check_entry(entry: &str) -> Result<(), String> {
    Rule::parse(entry).map(drop)
}

/// Whether a client may register `url` as an endpoint: an absolute `http` or `https` URL, with
/// no user name or password, whose host one of `allowed` admits. The error is a sentence for
/// the 400 answer's detail. Malformed entries of `allowed` admit nothing.
pub fn check_url(url: &str, allowed: &[String]) -> Result<(), String> {
    let parsed = Url::parse(url.trim())
        .map_err(|e| format!("url is not an absolute http or https URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "url must use http or https, not {:?}",
            parsed.scheme()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("url must not contain a user name or password".into());
    }
    let target = match parsed.host() {
        Some(Host::Ipv4(a)) => Target::Ip(IpAddr::V4(a)),
        Some(Host::Ipv6(a)) => Target::Ip(canonical(IpAddr::V6(a))),
        Some(Host::Domain(d)) => Target::Name(d.strip_suffix('.').unwrap_or(d).to_string()),
        None => return Err("url has no host".into()),
    };
    let admitted = allowed
        .iter()
        .filter_map(|e| Rule::parse(e).ok())
        .any(|rule| rule.allows(&target));
    if admitted {
        Ok(())
    } else {
        Err(format!(
            "url's host {} is not one this server delivers to (webhooks.allowed_hosts)",
            parsed.host_str().unwrap_or_default()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|s| s.to_string()).collect()
    }

    fn ok(url: &str, entries: &[&str]) -> bool {
        check_url(url, &allowed(entries)).is_ok()
    }

    #[test]
    fn loopback_admits_the_loopback_range_localhost_and_nothing_else() {
        let lo = ["loopback"];
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://127.10.20.30/",
            "https://localhost/x",
            "http://LOCALHOST:1/",
            "http://localhost./",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(ok(url, &lo), "{url}");
        }
        for url in [
            "http://10.0.0.1/",
            "http://128.0.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://localhost.example.com/",
            "http://mylocalhost/",
            "http://example.com/",
            "http://[::2]/",
        ] {
            assert!(!ok(url, &lo), "{url}");
        }
    }

    #[test]
    fn only_http_and_https_without_userinfo() {
        let any = ["*"];
        assert!(ok("https://hooks.example.com/a?b=c", &any));
        for (url, needle) in [
            ("ftp://127.0.0.1/", "http or https"),
            ("file:///etc/passwd", "http or https"),
            ("javascript:alert(1)", "http or https"),
            ("/relative/path", "absolute"),
            ("http://", "absolute"),
            ("", "absolute"),
            ("not a url", "absolute"),
            ("http://user:pass@127.0.0.1/", "user name or password"),
            ("http://user@127.0.0.1/", "user name or password"),
            ("http://:pass@127.0.0.1/", "user name or password"),
        ] {
            let e = check_url(url, &allowed(&any)).unwrap_err();
            assert!(e.contains(needle), "{url}: {e}");
        }
    }

    #[test]
    fn names_match_exactly_and_case_insensitively() {
        let list = ["Hooks.Example.com"];
        assert!(ok("https://hooks.example.com/", &list));
        assert!(ok("https://HOOKS.EXAMPLE.COM:8443/x", &list));
        assert!(ok("https://hooks.example.com./", &list));
        assert!(!ok("https://example.com/", &list));
        assert!(!ok("https://a.hooks.example.com/", &list));
        assert!(!ok("https://hooks.example.com.evil.net/", &list));
        let e = check_url("https://evil.net/", &allowed(&list)).unwrap_err();
        assert!(e.contains("evil.net") && e.contains("allowed_hosts"), "{e}");
    }

    #[test]
    fn wildcards_admit_subdomains_only() {
        let list = ["*.example.com"];
        assert!(ok("https://a.example.com/", &list));
        assert!(ok("https://a.b.EXAMPLE.com/", &list));
        assert!(!ok("https://example.com/", &list));
        assert!(!ok("https://badexample.com/", &list));
        assert!(!ok("https://example.com.evil.net/", &list));
        assert!(!ok("https://a.example.org/", &list));
    }

    #[test]
    fn ip_literals_and_blocks() {
        let list = ["10.0.0.0/8", "192.0.2.7", "fd00::/8", "2001:db8::1"];
        assert!(ok("http://10.1.2.3/", &list));
        assert!(ok("http://10.255.255.255/", &list));
        assert!(!ok("http://11.0.0.1/", &list));
        assert!(ok("http://192.0.2.7/", &list));
        assert!(!ok("http://192.0.2.8/", &list));
        assert!(ok("http://[fd12:3456::1]/", &list));
        assert!(!ok("http://[fe80::1]/", &list));
        assert!(ok("http://[2001:DB8:0::1]/", &list));
        assert!(ok("http://[::ffff:10.9.9.9]/", &list), "v4-mapped is v4");
        assert!(ok("http://167772161/", &list), "10.0.0.1 as one number");
        // A name is not resolved, so an IP entry never admits one.
        assert!(!ok("http://ten.example/", &list));
        assert!(ok("http://[::1]/", &["[::1]"]));
        assert!(ok("http://1.2.3.4/", &["0.0.0.0/0"]));
        assert!(!ok("http://[::1]/", &["0.0.0.0/0"]));
        assert!(ok("http://[::1]/", &["::/0"]));
        assert!(ok("http://10.0.0.5/", &["10.0.0.0/24", "*.nope"]));
    }

    #[test]
    fn empty_list_admits_nothing_and_star_admits_all() {
        assert!(!ok("http://127.0.0.1/", &[]));
        assert!(ok("http://169.254.169.254/latest", &["*"]));
    }

    #[test]
    fn entries_are_checked() {
        for good in [
            "*",
            "loopback",
            "LOOPBACK",
            "localhost",
            "hooks.example.com",
            "*.example.com",
            "10.0.0.0/8",
            "::1",
            "[::1]",
            "fd00::/8",
            "192.0.2.7",
        ] {
            assert_eq!(check_entry(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "*.",
            "*.*.example.com",
            "**",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "host name",
            "http://example.com",
            "a/b",
        ] {
            let e = check_entry(bad).unwrap_err();
            assert!(e.contains("not an allowed-host entry"), "{bad}: {e}");
        }
        // A malformed entry admits nothing rather than everything.
        assert!(!ok("http://127.0.0.1/", &["10.0.0.0/99"]));
    }
}

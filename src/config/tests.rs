//! Unit tests of config loading: the shipped config, unknown keys, codes, ranges, TLS files.

use super::*;

const SHIPPED: &str = include_str!("../../config.toml");

#[test]
fn shipped_config_is_valid_and_a_useful_sandbox() {
    let c = Config::parse(SHIPPED).unwrap();
    let p = &c.programs[0];
    let gpr: Vec<_> = p
        .products
        .iter()
        .filter(|x| x.account_type == AccountType::Gpr)
        .collect();
    assert!(gpr.iter().any(|x| x.instant_issue));
    assert!(gpr.iter().any(|x| !x.instant_issue));
    assert!(p
        .products
        .iter()
        .any(|x| x.account_type == AccountType::Dda));
    assert!(!p.device_plans.is_empty());
    let today = time::OffsetDateTime::now_utc().date();
    assert!(p.promotion_plans.iter().any(|x| x.valid_on(today)));
    assert!(p.promotion_plans.iter().any(|x| !x.valid_on(today)));
    let same = p.wallet_plans.iter().enumerate().any(|(i, a)| {
        p.wallet_plans[i + 1..].iter().any(|b| {
            (a.currency.as_str(), a.usage, a.kind) == (b.currency.as_str(), b.usage, b.kind)
        })
    });
    assert!(same, "two wallet plans of one characteristic");
    assert!(c.client("sandbox").is_some());
    // The token endpoints are guarded out of the box.
    let s = &c.security;
    assert!(s.auth_rate_per_second > 0 && s.auth_failures_before_lockout > 0);
    assert_eq!(s.max_live_tokens, 100);
}

#[test]
fn unknown_keys_are_named() {
    let text = SHIPPED.replace("workers = 0", "workers = 0\nworkerz = 3");
    let e = Config::parse(&text).unwrap_err().to_string();
    assert!(e.contains("workerz"), "{e}");
    let text = SHIPPED.replace("bin = \"40000099\"", "bin = \"40000099\"\ncolour = \"red\"");
    let e = Config::parse(&text).unwrap_err().to_string();
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn bad_codes_are_refused_at_load() {
    for (from, to, needle) in [
        ("code = \"SANDBOX\"", "code = \"sandbox\"", "sandbox"),
        (
            "code = \"SANDBOX\"",
            "code = \"SANDBOXPROGRAM\"",
            "SANDBOXPROGRAM",
        ),
        ("code = \"GPR100\"", "code = \"GPR-100\"", "GPR-100"),
        ("code = \"WUSD\"", "code = \"\"", "wallet plan"),
        ("code = \"DP01\"", "code = \"DP 01\"", "DP 01"),
        ("code = \"PROMO1\"", "code = \"PROMOTION_1\"", "PROMOTION_1"),
    ] {
        let text = SHIPPED.replacen(from, to, 1);
        assert_ne!(text, SHIPPED, "{from}");
        let e = Config::parse(&text).unwrap_err().to_string();
        assert!(e.contains(needle), "{from} -> {e}");
    }
}

#[test]
fn ranges_and_references_are_checked() {
    for (from, to) in [
        ("bin = \"40000099\"", "bin = \"4000\""),
        ("pan_length = 16", "pan_length = 20"),
        ("upgrade_to = [\"DDA100\"]", "upgrade_to = [\"NOPE\"]"),
        ("review_threshold = 0.88", "review_threshold = 0.99"),
        ("durability = \"flush\"", "durability = \"sometimes\""),
        ("pan_key = \"", "pan_key = \"00"),
        ("header_timeout_ms = 5000", "header_timeout_ms = 0"),
        ("rate_limit_per_second = 0", "rate_limit_per_second = -1"),
        ("max_live_tokens = 100", "max_live_tokens = 0"),
        ("auth_lockout_seconds = 2", "auth_lockout_seconds = 0"),
        (
            "auth_lockout_max_seconds = 300",
            "auth_lockout_max_seconds = 1",
        ),
        (
            "sweep_interval_seconds = 3600",
            "sweep_interval_seconds = 0",
        ),
    ] {
        let text = SHIPPED.replacen(from, to, 1);
        assert_ne!(text, SHIPPED, "{from}");
        assert!(Config::parse(&text).is_err(), "{to} accepted");
    }
}

#[test]
fn tls_files_come_in_pairs_and_are_read_at_load() {
    let c = Config::parse(SHIPPED).unwrap();
    assert!(c.server.tls_cert_file.is_none() && c.server.tls_key_file.is_none());
    for (lines, needle) in [
        (
            "tls_cert_file = \"c.pem\"",
            "server.tls_key_file is missing",
        ),
        (
            "tls_key_file = \"k.pem\"",
            "server.tls_cert_file is missing",
        ),
        (
            "tls_cert_file = \"/nonexistent/c.pem\"\ntls_key_file = \"k.pem\"",
            "/nonexistent/c.pem: cannot read",
        ),
    ] {
        let text = SHIPPED.replacen("[storage]", &format!("{lines}\n[storage]"), 1);
        let e = Config::parse(&text).unwrap_err().to_string();
        assert!(e.contains(needle), "{lines}: {e}");
    }
}

#[test]
fn strict_dates() {
    assert!(parse_ymd("1990-01-31").is_some());
    assert!(parse_ymd("1990-02-30").is_none());
    assert!(parse_ymd("1990-1-31").is_none());
    assert!(parse_ymd("31/01/1990").is_none());
}

#[test]
fn webhooks_section_ships_loopback_only_and_defaults_when_absent() {
    let c = Config::parse(SHIPPED).unwrap();
    let w = &c.webhooks;
    assert_eq!(w.allowed_hosts, ["loopback"]);
    assert_eq!(
        (w.timeout_ms, w.disable_after_failures, w.max_in_flight),
        (5000, 5, 32)
    );
    assert_eq!(w.dispatch_interval_ms, 200);
    assert_eq!(
        w.schedule().unwrap(),
        crate::webhooks::RetrySchedule::default()
    );
    assert!(crate::webhooks::check_url("http://127.0.0.1:9/h", &w.allowed_hosts).is_ok());
    assert!(crate::webhooks::check_url("http://10.0.0.1/h", &w.allowed_hosts).is_err());

    // A config written before the section existed still loads, with the same defaults.
    let start = SHIPPED.find("[webhooks]").unwrap();
    let end = start + SHIPPED[start..].find("\n[[clients]]").unwrap();
    let without = format!("{}{}", &SHIPPED[..start], &SHIPPED[end..]);
    assert!(!without.contains("allowed_hosts"));
    let d = Config::parse(&without).unwrap().webhooks;
    assert_eq!(
        (d.allowed_hosts, d.timeout_ms, d.retry_schedule),
        (
            w.allowed_hosts.clone(),
            w.timeout_ms,
            w.retry_schedule.clone()
        )
    );
    assert_eq!(
        (
            d.disable_after_failures,
            d.max_in_flight,
            d.dispatch_interval_ms
        ),
        (5, 32, 200)
    );
}

#[test]
fn webhooks_settings_are_validated_at_load() {
    for (from, to, needle) in [
        (
            "\ntimeout_ms = 5000",
            "\ntimeout_ms = 0",
            "webhooks.timeout_ms",
        ),
        (
            "disable_after_failures = 5",
            "disable_after_failures = 0",
            "webhooks.disable_after_failures",
        ),
        (
            "max_in_flight = 32",
            "max_in_flight = 0",
            "webhooks.max_in_flight",
        ),
        (
            "dispatch_interval_ms = 200",
            "dispatch_interval_ms = 0",
            "webhooks.dispatch_interval_ms",
        ),
        (
            "retry_schedule = [\"5s\", \"5m\"",
            "retry_schedule = [\"5s\", \"5 minutes\"",
            "webhooks.retry_schedule[1]: \"5 minutes\" is not a duration",
        ),
        (
            "retry_schedule = [\"5s\"",
            "retry_schedule = [\"0s\"",
            "webhooks.retry_schedule[0]",
        ),
        (
            "allowed_hosts = [\"loopback\"]",
            "allowed_hosts = [\"loopback\", \"10.0.0.0/40\"]",
            "webhooks.allowed_hosts: \"10.0.0.0/40\"",
        ),
        (
            "allowed_hosts = [\"loopback\"]",
            "allowed_hosts = [\"https://hooks.example.com\"]",
            "webhooks.allowed_hosts",
        ),
        ("max_in_flight = 32", "max_in_flight = -1", "max_in_flight"),
        (
            "\ntimeout_ms = 5000",
            "\ntimeout_ms = 5000\ntimeout = 1",
            "unknown field `timeout`",
        ),
    ] {
        let text = SHIPPED.replacen(from, to, 1);
        assert_ne!(text, SHIPPED, "{from}");
        let e = Config::parse(&text).unwrap_err().to_string();
        assert!(e.contains(needle), "{to} -> {e}");
    }
    // The other entry forms are accepted, and an empty schedule means no retries.
    let text = SHIPPED
        .replacen(
            "allowed_hosts = [\"loopback\"]",
            "allowed_hosts = [\"*.example.com\", \"hooks.example.org\", \"10.0.0.0/8\", \"::1\", \"*\"]",
            1,
        )
        .replacen(
            "retry_schedule = [\"5s\", \"5m\", \"30m\", \"2h\", \"5h\", \"10h\", \"10h\"]",
            "retry_schedule = []",
            1,
        );
    let c = Config::parse(&text).unwrap();
    assert_eq!(c.webhooks.allowed_hosts.len(), 5);
    assert_eq!(c.webhooks.schedule().unwrap().max_attempts(), 1);
}

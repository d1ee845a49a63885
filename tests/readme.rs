//! The README's "Try it" walk-through, run as written against the real binary.
//!
//! Every fenced ```sh block preceded by a `<!-- try-it -->` line of README.md is read at run time,
//! joined in order and run with `bash -euo pipefail` and `BASE` set to a fresh server's URL. The
//! script checks its own answers (`expect`), so a wrong answer stops it with a non-zero exit; the
//! test then checks the summary lines it prints (`ENROLLED`, `PENDING`, `CLEARED`, `WALLETS`,
//! `REPLACED`, …) and asks the server itself whether the walk-through left what it says.
//!
//! The walk-through needs `bash`, `curl` and `python3`. A machine without one of them skips with a
//! loud message, except under `CI=true`, where the test fails.

mod common;
use common::*;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
const MARK: &str = "<!-- try-it -->";

/// The blocks marked `<!-- try-it -->`, in order: (line of the opening fence, the block's text).
fn try_it_blocks(readme: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == MARK {
            let fence = i + 1;
            assert_eq!(
                lines.get(fence).map(|l| l.trim_end()),
                Some("```sh"),
                "README.md line {}: `{MARK}` must come right before a ```sh block",
                i + 1
            );
            let mut text = String::new();
            let mut j = fence + 1;
            loop {
                let line = lines.get(j).unwrap_or_else(|| {
                    panic!("README.md line {}: the block never closes", fence + 1)
                });
                if line.trim_end() == "```" {
                    break;
                }
                text.push_str(line);
                text.push('\n');
                j += 1;
            }
            blocks.push((fence + 1, text));
            i = j;
        }
        i += 1;
    }
    blocks
}

/// Whether `tool --version` runs.
fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The words of the one output line that starts with `marker`, the marker left out.
fn marked<'a>(out: &'a str, marker: &str) -> Vec<&'a str> {
    let found: Vec<&str> = out
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(marker))
        .collect();
    assert_eq!(found.len(), 1, "one `{marker}` line expected in:\n{out}");
    found[0].split_whitespace().skip(1).collect()
}

fn is_identifier(s: &str) -> bool {
    s.len() == 22 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[test]
fn readme_try_it_runs_against_the_real_binary() {
    let missing: Vec<&str> = ["bash", "curl", "python3"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        let msg = format!(
            "readme: {} not found: the README walk-through did not run",
            missing.join(", ")
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("\n!!! {msg} !!!\n");
        return;
    }

    let readme = std::fs::read_to_string(README).expect("read README.md");
    let blocks = try_it_blocks(&readme);
    assert!(
        blocks.len() >= 5,
        "README.md has {} `{MARK}` blocks; the walk-through lost its markers",
        blocks.len()
    );
    let script: String = blocks
        .iter()
        .map(|(line, text)| format!("# README.md line {line}\n{text}"))
        .collect();
    assert!(
        script.contains("BASE=${BASE:-http://127.0.0.1:8080}"),
        "the walk-through must take its server from $BASE"
    );

    let s = Server::start();
    let work = tempfile::tempdir().unwrap();
    let script_path = work.path().join("try-it.sh");
    std::fs::write(&script_path, &script).unwrap();
    let out_path = work.path().join("stdout");
    let err_path = work.path().join("stderr");
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail"])
        .arg(&script_path)
        .current_dir(work.path())
        .env("BASE", &s.base)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("run bash");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let report = format!(
        "--- stdout\n{out}--- stderr\n{err}--- server log\n{}",
        s.log()
    );
    let status = status.unwrap_or_else(|| panic!("the walk-through hung for 120 s\n{report}"));
    assert!(
        status.success(),
        "the README walk-through failed ({status})\n{report}"
    );
    println!("{out}");

    // A new enrollment: an account, its card and the alias the walk-through asked for.
    let enrolled = marked(&out, "ENROLLED");
    let (account, card, alias) = match enrolled[..] {
        [account, "card", card, "alias", alias] => (account, card, alias),
        _ => panic!("ENROLLED line: {enrolled:?}"),
    };
    assert!(is_identifier(account), "account id: {account}");
    assert!(is_identifier(card), "card id: {card}");
    assert!(alias.starts_with("JANE-"), "alias: {alias}");

    // Instant issue: the kit's card.
    let instant = marked(&out, "INSTANT");
    assert!(
        matches!(instant[..], ["emv", "pack", pack] if pack.starts_with("PK")),
        "INSTANT line: {instant:?}"
    );

    // OFAC: pending with 1/31, then normal with a card once cleared.
    let pending = marked(&out, "PENDING");
    let held = match pending[..] {
        [acc, "1/31", "pending"] if is_identifier(acc) => acc,
        _ => panic!("PENDING line: {pending:?}"),
    };
    let cleared = marked(&out, "CLEARED");
    assert!(
        matches!(cleared[..], [acc, "normal", "card", pan]
            if acc == held && pan.starts_with("40000099******")),
        "CLEARED line: {cleared:?} (pending {held})"
    );

    // Wallets attached by alias: 201.
    assert_eq!(marked(&out, "WALLETS"), ["201", "WUSD", "WEUR"]);

    // The card replaced by a new one.
    let replaced = marked(&out, "REPLACED");
    let new_card = match replaced[..] {
        [old, "by", new] if old == card && is_identifier(new) && new != card => new,
        _ => panic!("REPLACED line: {replaced:?} (card {card})"),
    };

    // Events: the receiver of the README verified every delivery of the enrollment's four
    // events, and the account's history reads back.
    assert_eq!(
        marked(&out, "DELIVERED"),
        ["4", "verified", "0", "rejected"]
    );
    assert_eq!(
        marked(&out, "HISTORY"),
        ["account.created", "card.issued", "enrollment.completed"]
    );

    // And the server holds what the walk-through says it did.
    let api = Api::new(&s);
    let f = api.fetch(json!({ "alias": alias }));
    assert_eq!(f.status, 200, "{}", f.text);
    assert_eq!(f.body["device"]["identifier"], new_card, "{}", f.text);
    assert_eq!(f.body["device"]["status"], "NORMAL", "{}", f.text);
    let plans: Vec<&str> = f.body["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["planCode"].as_str().unwrap())
        .collect();
    assert_eq!(plans, ["WUSD", "WEUR"], "{}", f.text);
    let old = api.fetch(json!({ "identifier": card }));
    assert_eq!(old.body["device"]["status"], "REPLACED", "{}", old.text);
    let acc = send(
        "GET",
        &s.url(&format!("/programs/SANDBOX/accounts/{held}")),
        &[
            ("Authorization", &api.auth),
            ("X-GD-RequestId", "6f1c2a3e-8b7d-4e2f-9a1b-0c3d4e5f6a7b"),
        ],
        None,
    );
    assert_eq!(acc.status, 200, "{}", acc.text);
    assert_eq!(acc.body["account"]["status"], "normal", "{}", acc.text);
    assert_eq!(
        acc.body["account"]["accountHolders"][0]["paymentInstruments"][0]["status"], "activated",
        "{}",
        acc.text
    );
}

//! A scanner for card numbers and SSNs in text and raw bytes, written independently of the
//! server's own Luhn code so that a bug there cannot hide a leak here.
//!
//! Include it with `#[path = "common/leakscan.rs"] mod leakscan;`.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;

/// True when `d` (ASCII digits only) passes the Luhn check.
pub fn luhn(d: &str) -> bool {
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = d
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let v = (b - b'0') as u32;
            if i % 2 == 1 {
                let v2 = v * 2;
                if v2 > 9 {
                    v2 - 9
                } else {
                    v2
                }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A Luhn-valid number of `len` digits starting with `prefix`, the rest from `seed`.
pub fn luhn_number(prefix: &str, len: usize, seed: u64) -> String {
    let mut s = prefix.to_string();
    let mut x = seed | 1;
    while s.len() < len - 1 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push((b'0' + (x % 10) as u8) as char);
    }
    for d in 0..10u8 {
        let c = format!("{s}{}", (b'0' + d) as char);
        if luhn(&c) {
            return c;
        }
    }
    unreachable!("one check digit always completes a Luhn sum")
}

/// Maximal runs of ASCII digits in `text`.
pub fn digit_runs(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
}

/// What must never appear.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    /// Full card numbers: every one the API returned, and every one a test sent.
    pub numbers: BTreeSet<String>,
    /// Every SSN sent (nine digits).
    pub ssns: BTreeSet<String>,
    /// BINs of the configured programs: a Luhn-valid 13-19 digit run under one of them is a
    /// card number even when the test never saw it (cards of enrollments are never shown).
    pub bins: Vec<String>,
}

impl Secrets {
    /// Every leak in `text`, described (never empty when something leaked).
    pub fn leaks_in(&self, text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for run in digit_runs(text) {
            for n in &self.numbers {
                if run.contains(n.as_str()) {
                    found.push(format!("card number {n}"));
                }
            }
            if (13..=19).contains(&run.len())
                && luhn(run)
                && self.bins.iter().any(|b| run.starts_with(b.as_str()))
                && !self.numbers.contains(run)
            {
                found.push(format!("card number under a program BIN {run}"));
            }
            for s in &self.ssns {
                if run.contains(s.as_str()) {
                    found.push(format!("ssn {s}"));
                }
            }
        }
        found
    }

    /// How many times any secret occurs in `bytes` as ASCII digits.
    ///
    /// Every secret is all digits, so each occurrence lies inside one run of digits: one pass
    /// finds the runs, and only runs long enough to hold a secret are searched (a PostgreSQL
    /// data directory is tens of megabytes; searching it once per secret took minutes in a
    /// debug build).
    pub fn occurrences_in_bytes(&self, bytes: &[u8]) -> Vec<String> {
        let secrets: Vec<&String> = self.numbers.iter().chain(self.ssns.iter()).collect();
        let shortest = secrets.iter().map(|n| n.len()).min().unwrap_or(usize::MAX);
        let mut counts = vec![0usize; secrets.len()];
        for run in bytes.split(|b| !b.is_ascii_digit()) {
            if run.len() < shortest {
                continue;
            }
            for (n, c) in secrets.iter().zip(counts.iter_mut()) {
                *c += count(run, n.as_bytes());
            }
        }
        secrets
            .iter()
            .zip(counts)
            .filter(|(_, c)| *c > 0)
            .map(|(n, c)| format!("{n} x{c}"))
            .collect()
    }
}

/// Occurrences of `needle` in `hay`.
pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A file's bytes; none when it went between listing and reading (a live PostgreSQL removes
/// temporary and recycled files at any moment; what it removed holds nothing to scan any more).
pub fn read_if_there(f: &Path) -> Vec<u8> {
    match std::fs::read(f) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", f.display()),
    }
}

/// Scans every file under `dir`: (files, bytes, leaks as "file: secret xN").
pub fn scan_dir(dir: &Path, s: &Secrets) -> (usize, u64, Vec<String>) {
    let mut bytes = 0u64;
    let mut leaks = Vec::new();
    let files = files_under(dir);
    for f in &files {
        let data = read_if_there(f);
        bytes += data.len() as u64;
        for l in s.occurrences_in_bytes(&data) {
            leaks.push(format!("{}: {l}", f.display()));
        }
    }
    (files.len(), bytes, leaks)
}

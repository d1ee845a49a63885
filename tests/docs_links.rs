//! Every relative link and anchor in README.md and docs/*.md resolves: the file (or folder)
//! exists, and a `#fragment` is the GitHub slug of one of the target's headings. External
//! http(s) links are not fetched (no network here); the test prints them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The Markdown pages checked: README.md and every docs/*.md (and docs/*/*.md).
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![Path::new(ROOT).join("README.md")];
    let mut dirs = vec![Path::new(ROOT).join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read docs/") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// The text outside fenced code blocks and inline code spans, line by line.
fn prose(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push(String::new());
            continue;
        }
        if fenced {
            out.push(String::new());
            continue;
        }
        let mut kept = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                kept.push(c);
            }
        }
        out.push(kept);
    }
    out
}

/// `[text](target)` links of a line: their targets.
fn links(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        found.push(target.to_string());
        rest = &after[end..];
    }
    found
}

/// GitHub's anchor of a heading: lower case, spaces to dashes, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (duplicates numbered as GitHub does).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').replace('`', "");
        let base = slug(&heading);
        let mut anchor = base.clone();
        let mut n = 1;
        while seen.contains(&anchor) {
            anchor = format!("{base}-{n}");
            n += 1;
        }
        seen.insert(anchor);
    }
    seen
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(
        slug("Moving a kiosk's store to a central database"),
        "moving-a-kiosks-store-to-a-central-database"
    );
    assert_eq!(
        slug("Scaling out on PostgreSQL"),
        "scaling-out-on-postgresql"
    );
    assert_eq!(slug("Enroll (BaaS)"), "enroll-baas");
    assert_eq!(
        slug("`GET /events` and webhooks"),
        "get-events-and-webhooks"
    );
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut broken = Vec::new();
    let mut external = BTreeSet::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(ROOT).unwrap().display().to_string();
        for (n, line) in prose(&text).iter().enumerate() {
            for target in links(line) {
                let at = format!("{name}:{}: {target}", n + 1);
                if target.starts_with("http://") || target.starts_with("https://") {
                    external.insert(target);
                    continue;
                }
                if target.contains("://") || target.starts_with("mailto:") {
                    broken.push(format!("{at} (not a relative link)"));
                    continue;
                }
                checked += 1;
                let (file, fragment) = match target.split_once('#') {
                    Some((f, a)) => (f, Some(a)),
                    None => (target.as_str(), None),
                };
                let file_path = if file.is_empty() {
                    page.clone()
                } else {
                    page.parent().unwrap().join(file)
                };
                if !file_path.exists() {
                    broken.push(format!("{at} (no such file)"));
                    continue;
                }
                if let Some(fragment) = fragment {
                    let anchors = if file_path.is_file() {
                        anchors(&std::fs::read_to_string(&file_path).unwrap())
                    } else {
                        BTreeSet::new()
                    };
                    if !anchors.contains(fragment) {
                        broken.push(format!("{at} (no heading with that anchor)"));
                    }
                }
            }
        }
    }
    println!("{checked} relative links checked; external links, not fetched:");
    for url in &external {
        println!("  {url}");
    }
    assert!(
        checked > 10,
        "only {checked} relative links found: is the parser broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

//! Contract section 7: a store whose filesystem fills answers 503 in each dialect's envelope with
//! `Retry-After` to every request that must write, reads go on, nothing answered 2xx is lost,
//! and writes resume by themselves once space returns, without a restart.
//!
//! The store lives on a small tmpfs the test mounts (root and `mount` needed: CI runs as root).
//! A machine where the mount fails skips with a loud message, except under `CI=true`, where the
//! test fails.

mod common;
use common::baas::*;
use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FS_BYTES: u64 = 48 << 20;
const FLOOR: u64 = 12 << 20;

struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={FS_BYTES}")])
            .arg("tmpfs")
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Bytes free on the filesystem holding `p`.
fn free(p: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Fills the filesystem of `dir` with a file until `leave` bytes are free.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x5au8; 256 << 10];
    while free(dir) > leave + chunk.len() as u64 {
        f.write_all(&chunk).unwrap();
        f.sync_data().unwrap();
    }
    path
}

#[derive(Default)]
struct Seen {
    accounts: Vec<String>,
    ok: usize,
    unavailable: usize,
}

/// One answer of a write: 2xx, or 503 in its envelope with `Retry-After`; never anything else.
fn judge(a: &Answer, baas: bool, seen: &Mutex<Seen>) {
    let mut s = seen.lock().unwrap();
    match a.status {
        200 | 201 => {
            s.ok += 1;
            if let Some(id) = a.body["account"]["accountIdentifier"].as_str() {
                s.accounts.push(id.to_string());
            }
        }
        503 => {
            s.unavailable += 1;
            assert!(a.header("retry-after").is_some(), "{}", a.text);
            if baas {
                assert_row(a, 503, 503, 0, Some("Storage unavailable"));
            } else {
                assert_eq!(a.header("content-type"), Some("application/problem+json"));
                assert_eq!(a.body["code"], "SERVICE_UNAVAILABLE", "{}", a.text);
            }
        }
        _ => panic!("neither 2xx nor 503: {} {}", a.status, a.text),
    }
}

#[test]
fn a_full_disk_answers_503_keeps_every_2xx_and_recovers_without_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let Some(mnt) = Mount::tmpfs(&root.path().join("fs")) else {
        let msg = "disk_full: cannot mount a tmpfs (needs root): the full-disk test did not run";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("\n!!! {msg} !!!\n");
        return;
    };
    let data = mnt.0.join("db");
    let floor_edit = format!("min_free_bytes = {FLOOR}");
    let srv = Server::start_in(&data, &[("min_free_bytes = 67108864", &floor_edit)]);
    let b = Arc::new(Baas::on(srv));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    // Writers in both dialects while the disk fills.
    let mut workers = Vec::new();
    for w in 0..3 {
        let (b, seen, stop) = (b.clone(), seen.clone(), stop.clone());
        workers.push(std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                if w == 2 {
                    let r = b.sandbox(
                        "POST",
                        "/sandbox/programs/SANDBOX/packages",
                        &json!({"generate": {"count": 20, "productCode": "GPR100", "prefix": format!("F{}X", rand_u64() % 1_000_000)}}),
                    );
                    judge(&r, false, &seen);
                } else {
                    judge(&b.enroll(&body()), true, &seen);
                }
                if i % 50 == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    let filler = fill(&mnt.0, FLOOR / 2);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    // Now every write is refused in its envelope, reads go on.
    let a = b.enroll(&body());
    judge(&a, true, &seen);
    assert_eq!(a.status, 503, "{}", a.text);
    let k = b.sandbox(
        "POST",
        "/sandbox/programs/SANDBOX/packages",
        &json!({"packages": [{"mappingIdentifier": "FULLKIT1", "productCode": "GPR100"}]}),
    );
    judge(&k, false, &seen);
    assert_eq!(k.status, 503, "{}", k.text);
    let first = seen.lock().unwrap().accounts[0].clone();
    let r = b.get(&format!("/programs/SANDBOX/accounts/{first}"));
    assert_eq!(r.status, 200, "a read while the disk is full: {}", r.text);
    assert_eq!(send("GET", &b.s.url("/health"), &[], None).status, 200);
    // Space returns: writes succeed again without a restart.
    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    let recovered = loop {
        let a = b.enroll(&body());
        judge(&a, true, &seen);
        if a.status == 200 {
            break freed.elapsed();
        }
        assert!(
            freed.elapsed() < Duration::from_secs(10),
            "no recovery: {}",
            a.text
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let s = seen.lock().unwrap();
    eprintln!(
        "disk_full: {} answered 2xx, {} answered 503; writes resumed {} ms after space returned",
        s.ok,
        s.unavailable,
        recovered.as_millis()
    );
    assert!(s.unavailable > 0 && s.ok > 0);
    let accounts = s.accounts.clone();
    drop(s);
    // Every 2xx is there after a clean stop and a start, and the store verifies clean.
    let Ok(b) = Arc::try_unwrap(b) else {
        panic!("a worker still holds the client")
    };
    let mut srv = b.s;
    assert_eq!(srv.stop(), 0);
    let (code, out) = run_cli(&["verify", "--config", srv.config_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let srv = srv.respawn();
    let b = Baas::on(srv);
    for id in &accounts {
        let r = b.get(&format!("/programs/SANDBOX/accounts/{id}"));
        assert_eq!(
            r.status, 200,
            "account {id} answered 2xx before is gone: {}",
            r.text
        );
    }
}

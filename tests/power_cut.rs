//! Power cuts: the real server on a FUSE filesystem that keeps only what was fsynced
//! (`tests/support/powerfs.rs`), cut at random under a load that takes every write path, and
//! restarted on what the disk held.
//!
//! A SIGKILL cannot show a missing fsync (the page cache keeps whatever a killed process wrote);
//! a power cut can. The filesystem passes every operation through to a backing folder and keeps
//! a second, durable image that only `fsync`/`fdatasync` of a file updates (directory operations
//! are durable at once). **A cut** freezes that image — from that instant no fsync is answered,
//! so nothing the process is told afterwards can be acknowledged — then SIGKILLs the server,
//! unmounts, and turns the durable image into the store, in one of three modes:
//!
//! | mode | what of the unsynced writes reached the disk |
//! | --- | --- |
//! | `drop` | nothing: every file as its last fsync left it |
//! | `ordered` (ext4 `data=ordered`) | a random subset of the unsynced pages inside each file's durable size (overwrites), and a prefix of its appends: the committed size at a page boundary between the old and the new size, every appended page below it written |
//! | `writeback` (ext4 `data=writeback`) | the new size, but only a random subset of the unsynced pages: appended pieces past holes of zeros |
//!
//! After each cut: `issuebox verify` of (a copy of) the cut store must be clean; the server is
//! restarted on it (on a fresh mount of the filesystem) and must open it; every request
//! answered 2xx must be there; every request in flight is re-sent and must answer as a replay
//! or a first success. The load (two workers): new, instant-issue and OFAC-pending enrollments,
//! kit loads, wallet attaches, OFAC clear decisions (and the enrollment each completes), token
//! minting, and the sweeper deleting expired tokens every second; a webhook endpoint registered
//! before the first cut must, after the last restart, have every event delivered, and
//! `GET /events` must be gap-free and hold an event for every acknowledged change.
//!
//! `ISSUEBOX_POWER_CUTS` sets the cuts of a run over the three modes (default 9: 3 each);
//! `ISSUEBOX_POWER_SEED` replays a run's random choices. The harness can fail, and
//! `the_harness_reports_writes_lost_under_durability_os` shows it deterministically: under
//! `durability = "os"` a request is answered before its fsync, so requests answered after the
//! disk stopped syncing are lost in a `drop` cut, and the harness must report them.
//!
//! FUSE needs root and `/dev/fuse`. Without them the tests say so and pass, except under
//! `CI=true`, where they fail.

mod common;
#[path = "support/powerfs.rs"]
mod powerfs;

use common::baas::{body, instant, named, rand_u64, uuid};
use common::webhooks::{Behaviour, Receiver};
use common::*;
use powerfs::{Mode, PowerFs, Rng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------- the disk

/// A store on a [`PowerFs`] mount: `durable/` is the disk, `backing/` what the mounted
/// filesystem shows the server (a copy of the disk at each mount), `mnt/` the mount point.
struct Disk {
    root: tempfile::TempDir,
    session: Option<fuser::BackgroundSession>,
    handle: Option<powerfs::Handle>,
}

impl Disk {
    fn new() -> Disk {
        let root = tempfile::tempdir().expect("tempdir");
        for d in ["durable", "backing", "mnt"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        Disk {
            root,
            session: None,
            handle: None,
        }
    }

    fn durable(&self) -> PathBuf {
        self.root.path().join("durable")
    }

    fn mnt(&self) -> PathBuf {
        self.root.path().join("mnt")
    }

    /// The store's directory as the server sees it.
    fn data_dir(&self) -> PathBuf {
        self.mnt().join("db")
    }

    /// Mounts the filesystem over a fresh copy of the disk.
    fn mount(&mut self) {
        let backing = self.root.path().join("backing");
        let _ = std::fs::remove_dir_all(&backing);
        copy_tree(&self.durable(), &backing);
        let fs = PowerFs::new(&backing, &self.durable());
        self.handle = Some(fs.handle());
        self.session = Some(fs.mount(&self.mnt()).expect("mount the FUSE filesystem"));
    }

    /// The power cut: freezes the disk, SIGKILLs the server and waits for it, unmounts, and
    /// makes the durable image what `mode` says reached the disk.
    fn cut(&mut self, mode: Mode, rng: &mut Rng, server: &mut Server) -> powerfs::Applied {
        let handle = self.handle.take().expect("mounted");
        // The cut falls right after one of the next few writes: between a write and the fsync
        // that would make it durable. A store that writes nothing for 2 s is cut as it is.
        handle.arm(1 + rng.below(8));
        for _ in 0..400 {
            if handle.tripped() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let frozen = handle.cut();
        // `kill` returns once the signal is queued: SIGKILL then marks every thread of the
        // process for death at once, so none runs its own code again.
        signal(server.child.id() as i32, 9);
        handle.killed();
        let _ = server.child.wait();
        self.unmount();
        frozen.apply(mode, rng)
    }

    fn unmount(&mut self) {
        drop(self.session.take());
        // fuser unmounts with umount(2); make sure it is gone before the next mount.
        let mnt = self.mnt();
        for _ in 0..100 {
            if !is_mounted(&mnt) {
                return;
            }
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&mnt)
                .status();
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} is still mounted", mnt.display());
    }

    /// `issuebox verify` of a copy of the disk's store (the server then opens the cut store
    /// itself, untouched): (clean, output).
    fn verify(&self) -> (bool, String) {
        let copy = self.root.path().join("verify");
        let _ = std::fs::remove_dir_all(&copy);
        copy_tree(&self.durable(), &copy);
        let (code, out) = run_cli(&["verify", "--data-dir", copy.join("db").to_str().unwrap()]);
        let _ = std::fs::remove_dir_all(&copy);
        (code == 0, out)
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        if self.session.is_some() {
            self.unmount();
        }
    }
}

fn is_mounted(p: &Path) -> bool {
    let p = p.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(p.as_str()))
}

fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Whether this machine can mount a FUSE filesystem; under `CI=true` it must.
fn fuse_available() -> bool {
    let why = if !Path::new("/dev/fuse").exists() {
        Some("no /dev/fuse".to_string())
    } else {
        let d = Disk::new();
        let fs = PowerFs::new(&d.root.path().join("backing"), &d.durable());
        match fs.mount(&d.mnt()) {
            Ok(s) => {
                drop(s);
                None
            }
            Err(e) => Some(format!("mounting FUSE failed: {e}")),
        }
    };
    match why {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("power-cut tests need FUSE (root and /dev/fuse) under CI: {why}")
        }
        Some(why) => {
            eprintln!("power-cut tests skipped: {why}");
            false
        }
    }
}

// ------------------------------------------------------------------------------- the server

/// The shipped config with a sweeper every second, short-lived tokens for it to sweep, no cap
/// on live tokens (minting must never revoke one the ledger holds), fast webhook retries.
fn edits(durability: &str) -> Vec<(&'static str, String)> {
    vec![
        ("durability = \"flush\"", format!("durability = {durability:?}")),
        ("sweep_interval_seconds = 3600", "sweep_interval_seconds = 1".into()),
        ("token_ttl_seconds = 86400", format!("token_ttl_seconds = {TOKEN_TTL}")),
        ("max_live_tokens = 100", "max_live_tokens = 1000000".into()),
        (
            "retry_schedule = [\"5s\", \"5m\", \"30m\", \"2h\", \"5h\", \"10h\", \"10h\"]",
            "retry_schedule = [\"100ms\", \"200ms\", \"200ms\", \"200ms\", \"500ms\", \"500ms\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\"]".into(),
        ),
        ("disable_after_failures = 5", "disable_after_failures = 1000".into()),
        ("dispatch_interval_ms = 200", "dispatch_interval_ms = 50".into()),
    ]
}

const TOKEN_TTL: i64 = 8;

fn start_server(disk: &Disk, durability: &str) -> Server {
    let e = edits(durability);
    let e: Vec<(&str, &str)> = e.iter().map(|(a, b)| (*a, b.as_str())).collect();
    Server::start_in(&disk.data_dir(), &e)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A bearer token of the `sandbox` client, minted again before it can expire.
struct Token {
    base: String,
    cur: Mutex<Option<(String, Instant)>>,
}

impl Token {
    fn new(s: &Server) -> Token {
        Token {
            base: s.base.clone(),
            cur: Mutex::new(None),
        }
    }

    /// `Bearer …`, or Err when the server is gone.
    fn auth(&self) -> Result<String, String> {
        let mut cur = self.cur.lock().unwrap();
        if let Some((t, at)) = &*cur {
            if at.elapsed() < Duration::from_secs(TOKEN_TTL as u64 / 3) {
                return Ok(format!("Bearer {t}"));
            }
        }
        let (t, _) = mint(&self.base, "sandbox", "sandbox-secret")?;
        *cur = Some((t.clone(), Instant::now()));
        Ok(format!("Bearer {t}"))
    }
}

/// `POST /authentication`: (token, expiry in Unix seconds), or Err when the server is gone.
fn mint(base: &str, id: &str, secret: &str) -> Result<(String, i64), String> {
    let before = unix_now();
    let a = try_send_form(
        &format!("{base}/authentication"),
        &basic(id, secret),
        "grant_type=client_credentials",
    )?;
    if a.status != 200 {
        return Err(format!("minting a token answered {}: {}", a.status, a.text));
    }
    let t = a.body["access_token"].as_str().unwrap().to_string();
    Ok((t, before + a.body["expires_in"].as_i64().unwrap()))
}

fn try_send_form(url: &str, auth: &str, form: &str) -> Result<Answer, String> {
    let r = ureq::post(url)
        .timeout(Duration::from_secs(30))
        .set("Authorization", auth)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(form);
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = r.status();
    let text = r.into_string().unwrap_or_default();
    Ok(Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        headers: Vec::new(),
    })
}

// ------------------------------------------------------------------------------- the ledger

/// One write request.
#[derive(Debug, Clone)]
enum Op {
    /// A new enrollment (`kit`: instant issue of that kit; `ofac`: a name that waits for
    /// review).
    Enroll {
        rid: String,
        body: Value,
        kit: Option<String>,
        ofac: bool,
    },
    LoadKit {
        mapping: String,
    },
    Attach {
        card: String,
    },
    /// `clear` of a pending review: completes the enrollment.
    Decide {
        user: String,
        account: String,
    },
    Mint,
}

/// Everything acknowledged, what is left to use, and what was in flight at a cut.
#[derive(Default)]
struct Ledger {
    accounts: BTreeSet<String>,
    kits: BTreeSet<String>,
    /// Kits loaded and not yet taken by an instant issue.
    free_kits: Vec<String>,
    /// Kit → the account its instant issue created.
    assigned: BTreeMap<String, String>,
    /// Cards of acknowledged enrollments not yet given wallets.
    cards: Vec<String>,
    /// Card → its acknowledged wallets.
    wallets: BTreeMap<String, Vec<String>>,
    /// OFAC-pending enrollments to decide: (user, account).
    pending: Vec<(String, String)>,
    /// Cleared users → their account.
    cleared: BTreeMap<String, String>,
    /// Minted `branch` tokens: (token, expiry).
    tokens: Vec<(String, i64)>,
    in_flight: Vec<Op>,
    requests: usize,
    acknowledged: usize,
    /// Answers no request may get.
    wrong: Vec<String>,
}

#[derive(Debug, Default, Clone)]
struct Report {
    cuts: usize,
    requests: usize,
    acknowledged: usize,
    /// Acknowledged writes missing after a restart ("account X", "kit Y", …).
    lost: Vec<String>,
    resent: usize,
    verify_failures: usize,
    reopen_failures: Vec<String>,
    count_mismatches: usize,
    wrong_answers: Vec<String>,
    dirty_pages: usize,
    landed_pages: usize,
    lost_pages: usize,
    /// The filesystem's totals over the run.
    fs_writes: u64,
    fs_fsyncs: u64,
    events: u64,
    deliveries: usize,
}

const SDN_NAMES: [(&str, &str); 2] = [
    ("Gilberto", "Rodriguez Orejuela"),
    ("Nicolas", "Maduro Morso"),
];

/// Picks the next request from what the ledger has to offer.
fn next_op(l: &mut Ledger, rng: &mut Rng, kit_seq: &AtomicUsize) -> Op {
    loop {
        match rng.below(10) {
            0..=2 => {
                return Op::Enroll {
                    rid: uuid(),
                    body: body(),
                    kit: None,
                    ofac: false,
                }
            }
            3 => {
                if let Some(kit) = l.free_kits.pop() {
                    return Op::Enroll {
                        rid: uuid(),
                        body: instant(body(), &kit),
                        kit: Some(kit),
                        ofac: false,
                    };
                }
            }
            4 => {
                let (first, last) = SDN_NAMES[rng.below(2) as usize];
                return Op::Enroll {
                    rid: uuid(),
                    body: named(body(), first, None, last),
                    kit: None,
                    ofac: true,
                };
            }
            5 => {
                let n = kit_seq.fetch_add(1, Ordering::SeqCst);
                return Op::LoadKit {
                    mapping: format!("PWR{n:07}"),
                };
            }
            6 | 7 => {
                if let Some(card) = l.cards.pop() {
                    return Op::Attach { card };
                }
            }
            8 => {
                if let Some((user, account)) = l.pending.pop() {
                    return Op::Decide { user, account };
                }
            }
            _ => return Op::Mint,
        }
    }
}

struct Ctx<'a> {
    base: &'a str,
    token: &'a Token,
}

impl Ctx<'_> {
    fn send(
        &self,
        method: &str,
        path: &str,
        rid: Option<&str>,
        body: &Value,
    ) -> Result<Answer, String> {
        let auth = self.token.auth()?;
        let mut h = vec![("Authorization", auth.as_str())];
        if let Some(r) = rid {
            h.push(("X-GD-RequestId", r));
        }
        try_send(
            method,
            &format!("{}{path}", self.base),
            &h,
            Some(&body.to_string()),
        )
    }

    fn get(&self, path: &str) -> Result<Answer, String> {
        let auth = self.token.auth()?;
        let rid = uuid();
        try_send(
            "GET",
            &format!("{}{path}", self.base),
            &[("Authorization", &auth), ("X-GD-RequestId", &rid)],
            None,
        )
    }

    fn run(&self, op: &Op) -> Result<Answer, String> {
        match op {
            Op::Enroll { rid, body, .. } => {
                self.send("POST", "/programs/SANDBOX/enrollments", Some(rid), body)
            }
            Op::LoadKit { mapping } => self.send(
                "POST",
                "/sandbox/programs/SANDBOX/packages",
                None,
                &json!({"packages": [{"mappingIdentifier": mapping, "productCode": "GPR100"}]}),
            ),
            Op::Attach { card } => self.send(
                "POST",
                "/deviceapi/apis/v1/services/cardholder/accounts",
                None,
                &json!({"device": {"identifier": card},
                        "wallets": [{"planCode": "WUSD"}, {"planCode": "WEUR"}]}),
            ),
            Op::Decide { user, .. } => self.send(
                "POST",
                &format!("/sandbox/ofac/reviews/{user}"),
                None,
                &json!({"decision": "clear"}),
            ),
            Op::Mint => {
                let (t, exp) = mint(self.base, "branch", "branch-secret")?;
                Ok(Answer {
                    status: 200,
                    body: json!({"token": t, "expires": exp}),
                    text: String::new(),
                    headers: Vec::new(),
                })
            }
        }
    }

    /// The wallet ids a card shows.
    fn wallets_of(&self, card: &str) -> Result<Vec<String>, String> {
        let a = self.send(
            "POST",
            "/deviceapi/apis/v1/services/wallet/fetchwallet",
            None,
            &json!({"device": {"identifier": card}}),
        )?;
        if a.status != 200 {
            return Err(format!("fetchwallet {card}: {} {}", a.status, a.text));
        }
        Ok(a.body["wallets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["walletIdentifier"].as_str().unwrap().to_string())
            .collect())
    }
}

fn card_of(a: &Answer) -> Option<String> {
    a.body["account"]["accountHolders"][0]["paymentInstruments"][0]["paymentInstrumentIdentifier"]
        .as_str()
        .map(str::to_string)
}

fn code_of(a: &Answer) -> (u64, u64) {
    let d = &a.body["responseDetails"][0];
    (
        d["code"].as_u64().unwrap_or(99),
        d["subCode"].as_u64().unwrap_or(99),
    )
}

/// Records an answer of `op` (`resent`: the re-sent request of one in flight at a cut, which
/// may find its first send done).
fn settle(c: &Ctx, l: &mut Ledger, op: Op, a: &Answer, resent: bool) {
    let mut wrong = |what: String| l.wrong.push(what);
    match op {
        Op::Enroll { kit, ofac, rid, .. } => {
            let want = if ofac { (1, 31) } else { (0, 0) };
            if a.status != 200 || code_of(a) != want {
                return wrong(format!("enrollment {rid}: {} {}", a.status, a.text));
            }
            let acc = a.body["account"]["accountIdentifier"]
                .as_str()
                .unwrap()
                .to_string();
            l.accounts.insert(acc.clone());
            if ofac {
                let user = a.body["account"]["accountHolders"][0]["user"]["userIdentifier"]
                    .as_str()
                    .unwrap()
                    .to_string();
                l.pending.push((user, acc.clone()));
            } else if let Some(card) = card_of(a) {
                l.cards.push(card);
            }
            if let Some(kit) = kit {
                l.assigned.insert(kit, acc);
            }
        }
        Op::LoadKit { mapping } => {
            if a.status == 201 || (resent && a.status == 409) {
                l.kits.insert(mapping.clone());
                l.free_kits.push(mapping);
            } else {
                wrong(format!("kit load {mapping}: {} {}", a.status, a.text))
            }
        }
        Op::Attach { card } => {
            if a.status == 201 {
                let ids = a.body["wallets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w["walletIdentifier"].as_str().unwrap().to_string())
                    .collect();
                l.wallets.insert(card, ids);
            } else if resent && a.status == 400 && a.body["code"] == "GPRW009" {
                // The first send was done: its wallets are the card's.
                match c.wallets_of(&card) {
                    Ok(ids) => {
                        l.wallets.insert(card, ids);
                    }
                    Err(e) => wrong(e),
                }
            } else {
                wrong(format!("attach to {card}: {} {}", a.status, a.text))
            }
        }
        Op::Decide { user, account } => {
            if a.status == 200 || (resent && a.status == 409) {
                l.cleared.insert(user, account);
            } else {
                wrong(format!("clear {user}: {} {}", a.status, a.text))
            }
        }
        Op::Mint => {
            let t = a.body["token"].as_str().unwrap().to_string();
            l.tokens.push((t, a.body["expires"].as_i64().unwrap()));
        }
    }
    l.acknowledged += 1;
}

/// One worker: requests until `stop`, or until the server is gone (the request then is in
/// flight).
fn drive(c: &Ctx, ledger: &Mutex<Ledger>, stop: &AtomicBool, kit_seq: &AtomicUsize, seed: u64) {
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::SeqCst) {
        let op = next_op(&mut ledger.lock().unwrap(), &mut rng, kit_seq);
        let r = c.run(&op);
        let mut l = ledger.lock().unwrap();
        l.requests += 1;
        match r {
            Ok(a) => settle(c, &mut l, op, &a, false),
            Err(_) => {
                l.in_flight.push(op);
                return;
            }
        }
    }
}

/// Every acknowledged write the restarted server does not show.
fn missing(c: &Ctx, l: &Ledger) -> Vec<String> {
    let mut lost = Vec::new();
    let status = |path: &str| c.get(path).map(|a| a.status).unwrap_or(0);
    for acc in &l.accounts {
        if status(&format!("/programs/SANDBOX/accounts/{acc}")) != 200 {
            lost.push(format!("account {acc}"));
        }
    }
    for kit in &l.kits {
        let a = c.get(&format!("/sandbox/programs/SANDBOX/packages/{kit}"));
        match a {
            Ok(a) if a.status == 200 => {
                if l.assigned.contains_key(kit) && a.body["status"] != "assigned" {
                    lost.push(format!("assignment of kit {kit}: {}", a.body["status"]));
                }
            }
            _ => lost.push(format!("kit {kit}")),
        }
    }
    for (card, ids) in &l.wallets {
        match c.wallets_of(card) {
            Ok(have) => {
                for id in ids.iter().filter(|id| !have.contains(id)) {
                    lost.push(format!("wallet {id} of card {card}"));
                }
            }
            Err(e) => lost.push(format!("wallets of card {card}: {e}")),
        }
    }
    for (user, acc) in &l.cleared {
        let a = c.get(&format!("/programs/SANDBOX/accounts/{acc}"));
        let ok = a.as_ref().is_ok_and(|a| {
            a.body["account"]["status"] == "normal"
                && a.body["account"]["accountHolders"][0]["paymentInstruments"]
                    .as_array()
                    .is_some_and(|p| p.len() == 1)
        });
        if !ok {
            lost.push(format!("clearance of {user} (account {acc})"));
        }
    }
    for (t, expires) in &l.tokens {
        if *expires <= unix_now() + 1 {
            continue; // expired, or about to: the sweeper may take it
        }
        // `branch` has the baas scope: an unknown account answers 404 to a live token, 401
        // to one the server does not know.
        let rid = uuid();
        let a = try_send(
            "GET",
            &format!("{}/programs/SANDBOX/accounts/none", c.base),
            &[
                ("Authorization", &format!("Bearer {t}")),
                ("X-GD-RequestId", &rid),
            ],
            None,
        );
        // A 401 of a token the server saw unexpired is a lost token.
        if a.map(|a| a.status).unwrap_or(0) == 401 && unix_now() < *expires - 1 {
            lost.push(format!("token expiring at {expires}"));
        }
    }
    lost
}

// ------------------------------------------------------------------------------- a run

/// Every event of the store, page by page.
fn all_events(c: &Ctx) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = "0".to_string();
    loop {
        let a = c.get(&format!("/events?after={after}&limit=500")).unwrap();
        assert_eq!(a.status, 200, "{}", a.text);
        out.extend(a.body["data"].as_array().unwrap().iter().cloned());
        after = a.body["next"].as_str().unwrap_or("0").to_string();
        if !a.body["hasMore"].as_bool().unwrap_or(false) {
            return out;
        }
    }
}

fn all_deliveries(c: &Ctx, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = "0".to_string();
    loop {
        let a = c
            .get(&format!(
                "/webhooks/{id}/deliveries?after={after}&limit=500"
            ))
            .unwrap();
        assert_eq!(a.status, 200, "{}", a.text);
        out.extend(a.body["data"].as_array().unwrap().iter().cloned());
        after = a.body["next"].as_str().unwrap_or("0").to_string();
        if !a.body["hasMore"].as_bool().unwrap_or(false) {
            return out;
        }
    }
}

/// The events check after the last restart: sequences 1..N without a gap, an event for every
/// acknowledged change, and the endpoint's every delivery delivered (waiting for the delivery
/// loop, at most `DELIVERY_WAIT`), each to an event that exists.
fn check_events(c: &Ctx, l: &Ledger, hook: &str, rx: &Receiver, r: &mut Report) {
    let events = all_events(c);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["sequence"],
            json!(i as u64 + 1),
            "a gap in the events: {e}"
        );
    }
    r.events = events.len() as u64;
    let mut subjects = BTreeSet::new();
    for e in &events {
        if let Some(s) = e["subjects"].as_object() {
            for v in s.values().filter_map(Value::as_str) {
                subjects.insert((e["type"].as_str().unwrap().to_string(), v.to_string()));
            }
        }
        if e["type"] == "kit.loaded" {
            for k in e["data"]["packages"].as_array().unwrap() {
                let m = k["mappingIdentifier"].as_str().unwrap().to_string();
                subjects.insert(("kit.loaded".into(), m));
            }
        }
    }
    let has = |t: &str, id: &str| subjects.contains(&(t.to_string(), id.to_string()));
    for acc in &l.accounts {
        assert!(has("account.created", acc), "no account.created for {acc}");
    }
    for kit in &l.kits {
        assert!(has("kit.loaded", kit), "no kit.loaded for {kit}");
    }
    for kit in l.assigned.keys() {
        assert!(has("kit.assigned", kit), "no kit.assigned for {kit}");
    }
    for id in l.wallets.values().flatten() {
        assert!(has("wallet.created", id), "no wallet.created for {id}");
    }
    for (user, acc) in &l.cleared {
        assert!(
            has("ofac.review_decided", user),
            "no ofac.review_decided for {user}"
        );
        assert!(
            has("enrollment.completed", acc),
            "no enrollment.completed for {acc}"
        );
    }
    let ids: BTreeSet<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let until = Instant::now() + DELIVERY_WAIT;
    let ds = loop {
        let ds = all_deliveries(c, hook);
        let done = ds.len() == events.len() && ds.iter().all(|d| d["status"] == "delivered");
        if done || Instant::now() > until {
            break ds;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let delivered: BTreeSet<String> = ds
        .iter()
        .filter(|d| d["status"] == "delivered")
        .map(|d| d["eventId"].as_str().unwrap().to_string())
        .collect();
    let undelivered: Vec<&String> = ids.difference(&delivered).collect();
    assert!(
        undelivered.is_empty(),
        "{} of {} events not delivered: {:?}",
        undelivered.len(),
        ids.len(),
        undelivered.iter().take(10).collect::<Vec<_>>()
    );
    r.deliveries = ds.len();
    // At least once, and never an event that does not exist.
    for req in rx.requests() {
        let id = req.header("webhook-id").unwrap_or("?").to_string();
        assert!(
            ids.contains(&id),
            "a delivery of event {id}, which the store does not have"
        );
    }
}

const DELIVERY_WAIT: Duration = Duration::from_secs(120);

/// `cuts` power cuts in `mode` under `durability = "flush"`, on one store.
fn run(mode: Mode, cuts: usize, seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let mut disk = Disk::new();
    disk.mount();
    let rx = Receiver::start(Behaviour::Ok);
    let mut s = start_server(&disk, "flush");
    let ledger = Mutex::new(Ledger::default());
    let kit_seq = AtomicUsize::new(1);
    let mut report = Report::default();
    let hook = {
        let token = Token::new(&s);
        let c = Ctx {
            base: &s.base,
            token: &token,
        };
        let a = c
            .send(
                "POST",
                "/webhooks",
                None,
                &json!({"url": rx.url(), "eventTypes": ["*"]}),
            )
            .unwrap();
        assert_eq!(a.status, 201, "{}", a.text);
        a.body["id"].as_str().unwrap().to_string()
    };
    for cut in 0..cuts {
        let stop = AtomicBool::new(false);
        let token = Token::new(&s);
        let base = s.base.clone();
        let c = Ctx {
            base: &base,
            token: &token,
        };
        let delay = Duration::from_millis(100 + rng.below(400));
        let seeds = [rng.next(), rng.next()];
        let applied = std::thread::scope(|sc| {
            for seed in seeds {
                let (c, ledger, stop, kit_seq) = (&c, &ledger, &stop, &kit_seq);
                sc.spawn(move || drive(c, ledger, stop, kit_seq, seed));
            }
            std::thread::sleep(delay);
            let applied = disk.cut(mode, &mut rng, &mut s);
            stop.store(true, Ordering::SeqCst);
            applied
        });
        report.cuts += 1;
        report.dirty_pages += applied.dirty_pages;
        report.landed_pages += applied.landed_pages;
        report.lost_pages += applied.lost_pages;
        report.fs_writes += applied.stats.writes;
        report.fs_fsyncs += applied.stats.fsyncs;
        let (clean, out) = disk.verify();
        if !clean {
            eprintln!("{} cut {cut}: verify failed:\n{out}", mode.name());
            report.verify_failures += 1;
        }
        disk.mount();
        let old = s;
        s = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || old.respawn())) {
            Ok(s) => s,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "respawn panicked".into());
                eprintln!(
                    "{} cut {cut}: the server did not reopen the store:\n{msg}",
                    mode.name()
                );
                report.reopen_failures.push(msg);
                println!("power cuts ({}), seed {seed}: {report:?}", mode.name());
                return report;
            }
        };
        let token = Token::new(&s);
        let c = Ctx {
            base: &s.base,
            token: &token,
        };
        let mut l = ledger.lock().unwrap();
        for op in std::mem::take(&mut l.in_flight) {
            if matches!(op, Op::Mint) {
                continue; // a new token is a new request; nothing to re-send
            }
            let a = c.run(&op).expect("the restarted server answers");
            settle(&c, &mut l, op, &a, true);
            report.resent += 1;
        }
        report.lost = missing(&c, &l);
        if report.lost.is_empty() && s.entity_count("accounts") != l.accounts.len() as u64 {
            eprintln!(
                "{} cut {cut}: {} accounts, {} acknowledged",
                mode.name(),
                s.entity_count("accounts"),
                l.accounts.len()
            );
            report.count_mismatches += 1;
        }
        report.requests = l.requests;
        report.acknowledged = l.acknowledged;
        report.wrong_answers = l.wrong.clone();
        if !report.lost.is_empty() || !report.wrong_answers.is_empty() {
            break;
        }
        if (cut + 1) % 10 == 0 {
            eprintln!("power cuts ({}): {} cuts, {report:?}", mode.name(), cut + 1);
        }
    }
    if report.lost.is_empty() && report.wrong_answers.is_empty() {
        let token = Token::new(&s);
        let c = Ctx {
            base: &s.base,
            token: &token,
        };
        check_events(&c, &ledger.lock().unwrap(), &hook, &rx, &mut report);
        assert_eq!(s.stop(), 0, "clean stop");
        disk.unmount();
        let (clean, out) = disk.verify();
        assert!(clean, "verify after the last stop:\n{out}");
    }
    println!("power cuts ({}), seed {seed}: {report:?}", mode.name());
    report
}

fn cuts_per_mode() -> usize {
    let total: usize = std::env::var("ISSUEBOX_POWER_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    total.div_ceil(Mode::ALL.len()).max(1)
}

fn seed() -> u64 {
    std::env::var("ISSUEBOX_POWER_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand_u64)
}

fn assert_survives(mode: Mode) {
    if !fuse_available() {
        return;
    }
    let cuts = cuts_per_mode();
    let r = run(mode, cuts, seed());
    assert!(r.reopen_failures.is_empty(), "{r:?}");
    assert_eq!(r.cuts, cuts, "{r:?}");
    assert!(r.acknowledged > 0, "{r:?}");
    assert!(r.lost.is_empty(), "{r:?}");
    assert!(r.wrong_answers.is_empty(), "{r:?}");
    assert_eq!(r.verify_failures, 0, "{r:?}");
    assert_eq!(r.count_mismatches, 0, "{r:?}");
}

#[test]
fn nothing_acknowledged_is_lost_when_unsynced_writes_are_dropped() {
    assert_survives(Mode::Drop);
}

#[test]
fn nothing_acknowledged_is_lost_under_ext4_ordered_crash_semantics() {
    assert_survives(Mode::Ordered);
}

#[test]
fn nothing_acknowledged_is_lost_under_writeback_crash_semantics() {
    assert_survives(Mode::Writeback);
}

/// The harness can fail: under `durability = "os"` a request is answered before its writes
/// are fsynced. The disk stops syncing (the cut's freeze), `N` enrollments are answered 200
/// after it, then the server is killed and the unsynced writes dropped: the harness must
/// report acknowledged accounts lost — every one answered after the freeze.
#[test]
fn the_harness_reports_writes_lost_under_durability_os() {
    if !fuse_available() {
        return;
    }
    const N: usize = 20;
    let mut disk = Disk::new();
    disk.mount();
    let mut s = start_server(&disk, "os");
    let token = Token::new(&s);
    let base = s.base.clone();
    let c = Ctx {
        base: &base,
        token: &token,
    };
    let mut l = Ledger::default();
    let enroll = |l: &mut Ledger| {
        let op = Op::Enroll {
            rid: uuid(),
            body: body(),
            kit: None,
            ofac: false,
        };
        let a = c.run(&op).expect("the server answers");
        settle(&c, l, op, &a, false);
    };
    enroll(&mut l);
    let before = l.accounts.clone();
    let handle = disk.handle.take().expect("mounted");
    let frozen = handle.cut();
    for _ in 0..N {
        enroll(&mut l);
    }
    assert!(l.wrong.is_empty(), "{:?}", l.wrong);
    assert_eq!(
        l.accounts.len(),
        before.len() + N,
        "answered after the freeze"
    );
    signal(s.child.id() as i32, 9);
    handle.killed();
    let _ = s.child.wait();
    disk.unmount();
    frozen.apply(Mode::Drop, &mut Rng::new(1));
    let (clean, out) = disk.verify();
    assert!(clean, "{out}");
    disk.mount();
    let s = s.respawn();
    let token = Token::new(&s);
    let c = Ctx {
        base: &s.base,
        token: &token,
    };
    let lost = missing(&c, &l);
    println!(
        "durability os, {N} enrollments answered after the disk stopped syncing: lost {lost:?}"
    );
    assert!(!lost.is_empty(), "the harness must report the writes lost");
    let after: Vec<String> = l
        .accounts
        .difference(&before)
        .map(|a| format!("account {a}"))
        .collect();
    assert!(
        lost.iter()
            .all(|x| after.contains(x) || x.starts_with("account ")),
        "{lost:?}"
    );
    assert_eq!(
        lost.iter().filter(|x| after.contains(x)).count(),
        N,
        "every account answered after the freeze is lost: {lost:?}"
    );
}

/// A request whose writes make a journal record over a quarter of sled's segment (128 KiB) is
/// written by sled to a blob file of its own, which sled never fsyncs, and a blob missing at
/// recovery makes sled skip its log entry without a word. Here the trees' file never syncs
/// (its disk stalls), so a 1,000-kit load is on disk only through its journal record when it
/// is answered; then the power is cut: every kit must be there after the restart. Before the
/// store synced blob files, none was (the power-cut run found it as two enrollments and a kit
/// assignment lost, in a batch that held a large fan-out of webhook deliveries).
#[test]
fn a_batch_sled_writes_as_a_blob_survives_a_cut_right_after_it_is_acknowledged() {
    if !fuse_available() {
        return;
    }
    let mut disk = Disk::new();
    disk.mount();
    let mut s = start_server(&disk, "flush");
    let token = Token::new(&s);
    let base = s.base.clone();
    let c = Ctx {
        base: &base,
        token: &token,
    };
    let handle = disk.handle.take().expect("mounted");
    handle.stall_syncs(Path::new("db/db"));
    let a = c.send(
        "POST",
        "/sandbox/programs/SANDBOX/packages",
        None,
        &json!({"generate": {"count": 1000, "productCode": "GPR100", "prefix": "BLOB"}}),
    );
    // Cut and kill before any assertion: a panic with fsyncs held would leave the server's
    // threads waiting on the filesystem for good.
    let frozen = handle.cut();
    signal(s.child.id() as i32, 9);
    handle.killed();
    let _ = s.child.wait();
    disk.unmount();
    let a = a.expect("the load is answered (the journal syncs)");
    assert_eq!(a.status, 201, "{}", a.text);
    frozen.apply(Mode::Drop, &mut Rng::new(1));
    let (clean, out) = disk.verify();
    assert!(clean, "{out}");
    disk.mount();
    let s = s.respawn();
    let token = Token::new(&s);
    let c = Ctx {
        base: &s.base,
        token: &token,
    };
    let lost: Vec<String> = [1, 2, 500, 999, 1000]
        .iter()
        .map(|n| format!("BLOB{n:07}"))
        .filter(|kit| {
            c.get(&format!("/sandbox/programs/SANDBOX/packages/{kit}"))
                .map(|a| a.status)
                .unwrap_or(0)
                != 200
        })
        .collect();
    assert_eq!(lost, Vec::<String>::new(), "kits acknowledged, then lost");
    assert_eq!(s.entity_count("kits"), 1000);
}

/// A `conf` torn by a power cut (sled wrote it without an fsync when it created the store) is
/// rebuilt at the next start; the store opens and holds what was acknowledged.
#[test]
fn a_torn_conf_is_rebuilt_at_start() {
    if !fuse_available() {
        return;
    }
    let mut disk = Disk::new();
    disk.mount();
    let mut s = start_server(&disk, "flush");
    let token = Token::new(&s);
    let base = s.base.clone();
    let c = Ctx {
        base: &base,
        token: &token,
    };
    let mut l = Ledger::default();
    let op = Op::Enroll {
        rid: uuid(),
        body: body(),
        kit: None,
        ofac: false,
    };
    let a = c.run(&op).unwrap();
    settle(&c, &mut l, op, &a, false);
    let frozen = disk.cut(Mode::Drop, &mut Rng::new(7), &mut s);
    let _ = frozen;
    for db in ["db/conf", "db/journal/conf"] {
        let conf = disk.durable().join(db);
        let whole = std::fs::read(&conf).unwrap();
        // Half of it, then zeros: what a writeback filesystem leaves of an unsynced write.
        let mut torn = whole[..whole.len() / 2].to_vec();
        torn.resize(whole.len(), 0);
        std::fs::write(&conf, &torn).unwrap();
    }
    disk.mount();
    let s = s.respawn();
    assert!(
        s.log().contains("rebuilt from the storage parameters"),
        "{}",
        s.log()
    );
    let token = Token::new(&s);
    let c = Ctx {
        base: &s.base,
        token: &token,
    };
    assert_eq!(missing(&c, &l), Vec::<String>::new());
}

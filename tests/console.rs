//! The console (`/console`) in a real browser: headless Chromium through its WebDriver
//! (tests/support/browser.rs) against the real binary.
//!
//! - a session logs in, finds through search what the API enrolled, clears an OFAC partial match
//!   by clicking (the account is then `normal` with its card), uploads a kit manifest whose kit
//!   an instant-issue enrollment then uses, and cancels a card that the device API then refuses
//!   with GPR104; no page source holds a full card number or an SSN the test made;
//! - a client scoped to one program sees nothing of another, however the address is typed;
//! - a form posted without its CSRF token, or from another origin, changes nothing (403); the
//!   session cookie is `HttpOnly` and `SameSite=Strict`; every page has a CSP.
//!
//! With `ISSUEBOX_SCREENSHOTS=1` the tests write a screenshot of each page into `docs/console/`.

#[path = "support/browser.rs"]
mod browser;
mod common;

use common::baas::*;
use common::*;
use fantoccini::Locator;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Adds the client `limited` (SANDBOX only, every scope) to the shipped config.
const LIMITED_CLIENT: (&str, &str) = (
    "[[clients]]\nid = \"branch\"",
    "[[clients]]\nid = \"limited\"\nsecret = \"limited-secret\"\nprograms = [\"SANDBOX\"]\n\
     scopes = [\"baas\", \"device\", \"sandbox\"]\n\n[[clients]]\nid = \"branch\"",
);

/// A browser on the console of one server, remembering what no page may show.
struct Console {
    b: browser::Browser,
    base: String,
    /// Full card numbers and SSNs the test made.
    secrets: Vec<String>,
    /// Pages visited (path after the host), for the report of a failure.
    visited: Vec<String>,
}

fn shots() -> bool {
    std::env::var("ISSUEBOX_SCREENSHOTS").is_ok_and(|v| v == "1")
}

impl Console {
    async fn start(s: &Server, width: u32) -> Option<Console> {
        let b = browser::Browser::start(width, 1000, &[]).await?;
        Some(Console {
            b,
            base: s.base.clone(),
            secrets: Vec::new(),
            visited: Vec::new(),
        })
    }

    /// The current page's source, checked for secrets.
    async fn source(&mut self) -> String {
        let src = self.b.client.source().await.expect("page source");
        let url = self.b.client.current_url().await.expect("url").to_string();
        for secret in &self.secrets {
            assert!(!src.contains(secret.as_str()), "{url} shows {secret}");
        }
        no_full_pan(&src);
        self.visited.push(url);
        src
    }

    async fn open(&mut self, path: &str) -> String {
        self.b
            .client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        self.source().await
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.b
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    /// Clicks and answers the source of the page it leads to (once the clicked element's page
    /// has gone: a form answers with a new document, even when it shows the same page again).
    async fn click(&mut self, css: &str) -> String {
        let e = self.find(css).await;
        e.click().await.expect("click");
        self.gone(&e, &format!("clicking {css}")).await;
        self.source().await
    }

    /// Logs in by keyboard: types the id and secret, then Enter.
    async fn login(&mut self, id: &str, secret: &str) -> String {
        self.open("/console/login").await;
        self.fill("#client_id", id).await;
        self.fill("#secret", secret).await;
        let field = self.find("#secret").await;
        field.send_keys("\u{E007}").await.expect("Enter");
        self.gone(&field, "Enter in the secret field").await;
        self.source().await
    }

    /// Waits until `e`'s page has been replaced.
    async fn gone(&self, e: &fantoccini::elements::Element, what: &str) {
        let started = Instant::now();
        while e.tag_name().await.is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{what} led nowhere"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.find("body").await;
    }

    /// With `ISSUEBOX_SCREENSHOTS=1`: the window as `docs/console/<name>.png`.
    async fn shot(&self, name: &str) {
        if !shots() {
            return;
        }
        let png = self.b.client.screenshot().await.expect("screenshot");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/console");
        std::fs::create_dir_all(dir).expect("docs/console");
        std::fs::write(format!("{dir}/{name}.png"), png).expect("write screenshot");
    }

    async fn close(self) {
        self.b.close().await;
    }
}

/// An enrollment through the API into `program`; remembers its SSN.
fn enroll(s: &Server, auth: &str, c: &mut Console, program: &str, body: Value) -> Answer {
    c.secrets.push(
        body["userData"]["identifyingData"]["ssn"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let r = send(
        "POST",
        &s.url(&format!("/programs/{program}/enrollments")),
        &[("Authorization", auth), ("X-GD-RequestId", &uuid())],
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

/// A BaaS or sandbox GET.
fn get(s: &Server, auth: &str, path: &str) -> Answer {
    send(
        "GET",
        &s.url(path),
        &[("Authorization", auth), ("X-GD-RequestId", &uuid())],
        None,
    )
}

fn account_of(r: &Answer) -> String {
    r.body["account"]["accountIdentifier"]
        .as_str()
        .unwrap_or_else(|| panic!("no account in {}", r.text))
        .to_string()
}

fn card_of(r: &Answer) -> Value {
    r.body["account"]["accountHolders"][0]["paymentInstruments"][0].clone()
}

/// Waits (reloading) until the page at `path` holds `text`.
async fn until_page_holds(c: &mut Console, path: &str, text: &str) -> String {
    let started = Instant::now();
    loop {
        let src = c.open(path).await;
        if src.contains(text) {
            return src;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{path} never showed {text}: {src}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_finds_decides_loads_and_cancels_through_the_console() {
    let mut s = Server::start();
    let Some(mut c) = Console::start(&s, 1280).await else {
        return;
    };
    let api = Api::new(&s);
    let auth = api.auth.clone();
    let baas_here = |path: &str| get(&s, &auth, path);
    let post_here =
        |c: &mut Console, program: &str, body: Value| enroll(&s, &auth, c, program, body);

    // Log in; a wrong secret first, answered in words next to the field.
    c.open("/console/login").await;
    c.shot("login").await;
    c.fill("#client_id", "sandbox").await;
    c.fill("#secret", "wrong").await;
    let src = c.click("form button[type=submit]").await;
    assert!(
        src.contains("Unknown client id, or a wrong secret."),
        "{src}"
    );
    c.secrets.push("sandbox-secret".into());
    c.fill("#secret", "sandbox-secret").await;
    let src = c.click("form button[type=submit]").await;
    assert!(src.contains("<h1>Overview</h1>"), "{src}");

    // Enrolled through the API, found in the console by its account id and by last four.
    let r = post_here(&mut c, "SANDBOX", body());
    let account = account_of(&r);
    let last4 = card_of(&r)["last4Pan"].as_str().unwrap().to_string();
    c.open("/console/search").await;
    c.fill("#q", &account).await;
    let src = c.click("form[role=search] button").await;
    assert!(
        src.contains(&format!("/console/accounts/{account}")),
        "{src}"
    );
    c.shot("search").await;
    let src = c
        .click(&format!("a[href='/console/accounts/{account}']"))
        .await;
    assert!(
        src.contains("Jane") && src.contains(&format!("******{last4}")),
        "{src}"
    );
    assert!(
        src.contains("card.issued"),
        "the history lists its events: {src}"
    );
    c.shot("account").await;
    let src = c.open(&format!("/console/search?q={last4}")).await;
    assert!(src.contains(&format!("******{last4}")), "{src}");

    // An OFAC partial match, explained, cleared by clicking: the account is then normal with
    // its card.
    let r = post_here(
        &mut c,
        "SANDBOX",
        named(body(), "Gilberto", None, "Rodriguez Orejuela"),
    );
    assert_row(&r, 200, 1, 31, Some("OFAC Partial Match"));
    let pending = account_of(&r);
    let user = user_of(&r);
    let src = c.open("/console/ofac").await;
    assert!(
        src.contains("RODRIGUEZ OREJUELA"),
        "the matched entry: {src}"
    );
    assert!(src.contains("review threshold"), "why: {src}");
    c.shot("ofac").await;
    let src = c
        .click(&format!(
            "form[action='/console/ofac/{user}'] button[value=clear]"
        ))
        .await;
    assert!(src.contains("Cleared"), "{src}");
    let a = baas_here(&format!("/programs/SANDBOX/accounts/{pending}"));
    assert_eq!(a.body["account"]["status"], "normal", "{}", a.text);
    let cards = a.body["account"]["accountHolders"][0]["paymentInstruments"].clone();
    assert_eq!(cards.as_array().map(Vec::len), Some(1), "{}", a.text);
    let src = c.open(&format!("/console/accounts/{pending}")).await;
    assert!(src.contains(">normal<"), "{src}");

    // A kit manifest uploaded from a file (three chunks of the ops' largest load), its progress
    // shown; a kit of it then used by an instant-issue enrollment.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifest.csv");
    let mut csv = String::from("mappingIdentifier,productCode,packID\n");
    for i in 1..=2500 {
        csv.push_str(&format!("KITM{i:05},GPR100,\n"));
    }
    std::fs::write(&file, csv).unwrap();
    c.open("/console/kits?program=SANDBOX").await;
    c.find("#manifest")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .expect("choose the file");
    let src = c.click("form[action='/console/kits/upload'] button").await;
    assert!(src.contains("<progress"), "{src}");
    c.shot("kits-upload").await;
    let job = c.b.client.current_url().await.unwrap().path().to_string();
    let src = until_page_holds(&mut c, &job, "upload-done").await;
    assert!(src.contains("All 2500 kits loaded."), "{src}");
    let r = post_here(&mut c, "SANDBOX", instant(body(), "KITM00002"));
    assert_row(&r, 200, 0, 0, Some("Success"));
    // The kit list is paginated.
    let src = c.open("/console/kits?program=SANDBOX").await;
    assert!(
        src.contains("KITM00025") && !src.contains("KITM00026"),
        "{src}"
    );
    let src = c.click("nav.pager a").await;
    assert!(
        src.contains("KITM00026") && !src.contains("KITM00025"),
        "{src}"
    );
    let src = c
        .open("/console/kits?program=SANDBOX&status=assigned")
        .await;
    assert!(
        src.contains("KITM00002") && !src.contains("KITM00003"),
        "{src}"
    );
    c.shot("kits").await;
    // A bad manifest is refused in words next to the file field; nothing is loaded.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "mappingIdentifier,productCode\nKITB1,GPR100\nKITB1,GPR100\n",
    )
    .unwrap();
    c.open("/console/kits?program=SANDBOX").await;
    c.find("#manifest")
        .await
        .send_keys(bad.to_str().unwrap())
        .await
        .unwrap();
    let src = c.click("form[action='/console/kits/upload'] button").await;
    assert!(
        src.contains("Line 3: this mappingIdentifier is already on an earlier line."),
        "{src}"
    );
    let kit = baas_here("/sandbox/programs/SANDBOX/packages/KITB1");
    assert_eq!(kit.status, 404, "{}", kit.text);

    // A card cancelled in the console; the device API then answers GPR104.
    let made = api.new_card(json!({"alias": "CONSOLE-1"}));
    c.secrets.push(made["number"].as_str().unwrap().to_string());
    let loaded = api.call(
        "POST",
        "/sandbox/programs/SANDBOX/packages",
        Some(&json!({"packages": [{"mappingIdentifier": "KITN1", "productCode": "GPR100"}]})),
    );
    c.secrets.push(
        loaded.body["packages"][0]["number"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let id = made["identifier"].as_str().unwrap();
    let src = c.open(&format!("/console/cards/{id}")).await;
    assert!(src.contains("NORMAL"), "{src}");
    c.find("#status-card")
        .await
        .select_by_value("CANCELLED")
        .await
        .expect("choose CANCELLED");
    let src = c
        .click(&format!("form[action='/console/cards/{id}/status'] button"))
        .await;
    assert!(src.contains("Card status changed."), "{src}");
    assert!(src.contains(">CANCELLED<"), "{src}");
    let a = api.attach(json!({"device": {"identifier": id}, "wallets": [{"planCode": "WUSD"}]}));
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.body["code"], "GPR104", "{}", a.text);
    // Leaving a final status is refused in words next to the status field.
    c.find("#status-card")
        .await
        .select_by_value("NORMAL")
        .await
        .unwrap();
    let src = c
        .click(&format!("form[action='/console/cards/{id}/status'] button"))
        .await;
    assert!(src.contains("a final status that cannot be left"), "{src}");

    // A wallet's status set in the console, seen by the device API.
    let other = api.new_card(json!({"alias": "CONSOLE-2"}));
    c.secrets
        .push(other["number"].as_str().unwrap().to_string());
    let other_id = other["identifier"].as_str().unwrap();
    let w =
        api.attach(json!({"device": {"identifier": other_id}, "wallets": [{"planCode": "WUSD"}]}));
    assert_eq!(w.status, 201, "{}", w.text);
    let wallet = w.body["wallets"][0]["walletIdentifier"].as_str().unwrap();
    c.open(&format!("/console/cards/{other_id}")).await;
    c.find(&format!("[id='status-{wallet}']"))
        .await
        .select_by_value("INACTIVE")
        .await
        .unwrap();
    let src = c
        .click(&format!(
            "form[action='/console/wallets/{wallet}/status'] button"
        ))
        .await;
    assert!(src.contains("Wallet status changed."), "{src}");
    c.shot("card").await;
    let f = api.fetch(json!({"identifier": other_id}));
    assert_eq!(f.body["wallets"][0]["status"], "INACTIVE", "{}", f.text);

    // A card made in the console: shown masked only (no page source holds a card number, as
    // every visit checks), then kits generated.
    c.open("/console/cards?program=SANDBOX").await;
    c.fill("#c-alias", "MADE-IN-CONSOLE").await;
    let src = c
        .click("form[method=post][action='/console/cards'] button")
        .await;
    assert!(
        src.contains("Card created.") && src.contains("MADE-IN-CONSOLE"),
        "{src}"
    );
    assert!(src.contains("******"), "{src}");
    c.open("/console/kits?program=SANDBOX").await;
    c.fill("#gen-count", "3").await;
    c.fill("#gen-prefix", "GENK").await;
    let src = c
        .click("form[action='/console/kits/generate'] button")
        .await;
    assert!(src.contains("3 kits generated."), "{src}");
    let kit = baas_here("/sandbox/programs/SANDBOX/packages/GENK0000003");
    assert_eq!(kit.body["status"], "available", "{}", kit.text);
    // Refused in words next to the fields: a prefix of the wrong shape.
    c.fill("#gen-prefix", "no spaces allowed").await;
    let src = c
        .click("form[action='/console/kits/generate'] button")
        .await;
    assert!(src.contains("id=\"generate-error\""), "{src}");

    // The other pages, each checked and pictured.
    let src = c.open("/console/cards?program=SANDBOX").await;
    assert!(src.contains(id), "{src}");
    c.shot("cards").await;
    let src = c.open("/console/faults").await;
    assert!(src.contains("packageLookup"), "{src}");
    c.shot("faults").await;
    let src = c.open("/console/accounts?program=SANDBOX").await;
    assert!(src.contains(&account) && src.contains(&pending), "{src}");
    c.shot("accounts").await;
    // A webhook endpoint that answers nothing: its deliveries, attempts, and a retry by click.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let hook = api.call(
        "POST",
        "/webhooks",
        Some(
            &json!({"url": format!("http://127.0.0.1:{port}/hook"), "eventTypes": ["card.issued"]}),
        ),
    );
    assert_eq!(hook.status, 201, "{}", hook.text);
    c.secrets
        .push(hook.body["secret"].as_str().unwrap().to_string());
    let wid = hook.body["id"].as_str().unwrap().to_string();
    let later = api.new_card(json!({}));
    c.secrets
        .push(later["number"].as_str().unwrap().to_string());
    let src = c.open("/console/webhooks").await;
    assert!(src.contains(&wid), "{src}");
    until_page_holds(&mut c, &format!("/console/webhooks/{wid}"), " ms</td>").await;
    let src = c.click("form[action*='/retry'] button").await;
    assert!(src.contains("Retried") && src.contains("(retry)"), "{src}");
    c.shot("webhook").await;
    let src = c.open("/console/").await;
    assert!(
        src.contains("PARTNER2") && src.contains("card.status_changed"),
        "{src}"
    );
    c.shot("overview").await;

    // The overview's live list: an event made now appears without a reload.
    c.find("#live-state").await;
    let started = Instant::now();
    while !c
        .find("#live-state")
        .await
        .text()
        .await
        .unwrap()
        .starts_with("Live")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no live stream"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = post_here(&mut c, "PARTNER2", body());
    let fresh = account_of(&r);
    let started = Instant::now();
    loop {
        let text = c.find("#live-events").await.text().await.unwrap();
        if text.contains(&fresh) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the new account never appeared live: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.source().await;

    // Logging out ends the session: the console asks to log in again.
    c.click("form.logout button").await;
    let src = c.open("/console/").await;
    assert!(src.contains("Log in"), "{src}");
    c.close().await;
    assert_eq!(s.stop(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scoped_client_sees_nothing_of_another_program() {
    let mut s = Server::start_with(&[LIMITED_CLIENT]);
    let Some(mut c) = Console::start(&s, 800).await else {
        return;
    };
    let api = Api::new(&s);
    let auth = api.auth.clone();
    let post = |c: &mut Console, program: &str, body: Value| enroll(&s, &auth, c, program, body);
    // PARTNER2: an account with a card, an OFAC review, a kit, a sandbox card with an alias.
    let theirs = post(&mut c, "PARTNER2", body());
    let account = account_of(&theirs);
    let user = user_of(&theirs);
    let card = card_of(&theirs);
    let card_id = card["paymentInstrumentIdentifier"]
        .as_str()
        .unwrap()
        .to_string();
    let last4 = card["last4Pan"].as_str().unwrap().to_string();
    let review = post(
        &mut c,
        "PARTNER2",
        named(body(), "Gilberto", None, "Rodriguez Orejuela"),
    );
    let review_user = user_of(&review);
    let kit = api.call(
        "POST",
        "/sandbox/programs/PARTNER2/packages",
        Some(&json!({"packages": [{"mappingIdentifier": "P2KIT0001", "productCode": "GPR100", "packID": "P2PACK00001"}]})),
    );
    assert_eq!(kit.status, 201, "{}", kit.text);
    c.secrets.push(
        kit.body["packages"][0]["number"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let made = api.new_card_in(
        "PARTNER2",
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": "P2-ALIAS"}),
    );
    c.secrets.push(made["number"].as_str().unwrap().to_string());
    let made_id = made["identifier"].as_str().unwrap().to_string();
    // SANDBOX: one of its own, so the pages are not empty by accident.
    let mine = post(&mut c, "SANDBOX", body());
    let my_account = account_of(&mine);

    let src = c.login("limited", "limited-secret").await;
    assert!(src.contains("<h1>Overview</h1>"), "{src}");
    c.shot("tablet-overview").await;
    let foreign = [
        account.as_str(),
        user.as_str(),
        card_id.as_str(),
        review_user.as_str(),
        made_id.as_str(),
        "P2KIT0001",
        "P2PACK00001",
        "P2-ALIAS",
        "PARTNER2",
    ];
    let paths = [
        "/console/".to_string(),
        format!("/console/accounts/{account}"),
        format!("/console/cards/{card_id}"),
        format!("/console/cards/{made_id}"),
        "/console/accounts?program=PARTNER2".into(),
        "/console/cards?program=PARTNER2".into(),
        "/console/kits?program=PARTNER2".into(),
        "/console/kits?program=PARTNER2&status=available".into(),
        "/console/ofac".into(),
        "/console/accounts".into(),
        "/console/kits".into(),
        "/console/cards".into(),
        format!("/console/search?q={account}"),
        format!("/console/search?q={user}"),
        format!("/console/search?q={card_id}"),
        format!("/console/search?q={made_id}"),
        "/console/search?q=P2KIT0001".into(),
        "/console/search?q=P2PACK00001".into(),
        "/console/search?q=P2-ALIAS".into(),
        format!("/console/search?q={last4}"),
        format!("/console/accounts/{account}?history_after=0"),
    ];
    for p in &paths {
        let mut src = c.open(p).await;
        if let Some(term) = p.strip_prefix("/console/search?q=") {
            // The search box keeps what was typed; nothing else may show it.
            assert!(src.contains("no-hits"), "{p}: {src}");
            src = src.replace(&format!("value=\"{term}\""), "");
        }
        for f in foreign {
            assert!(!src.contains(f), "{p} shows {f}: {src}");
        }
    }
    c.open(&format!("/console/search?q={account}")).await;
    c.shot("scoped-search").await;
    // Its own program is there.
    let src = c.open(&format!("/console/search?q={my_account}")).await;
    assert!(src.contains(&my_account), "{src}");
    // Acting on another program's card or review by its address changes nothing.
    let src = c.open(&format!("/console/cards/{}", my_card(&mine))).await;
    let csrf = csrf_of(&src);
    let cookie =
        c.b.client
            .get_named_cookie("issuebox_console")
            .await
            .expect("the session cookie");
    let cookie = format!("issuebox_console={}", cookie.value());
    for (path, form) in [
        (
            format!("/console/cards/{made_id}/status"),
            format!("csrf={csrf}&status=CANCELLED"),
        ),
        (
            format!("/console/cards/{made_id}/replace"),
            format!("csrf={csrf}"),
        ),
        (
            format!("/console/ofac/{review_user}"),
            format!("csrf={csrf}&decision=clear"),
        ),
    ] {
        let a = post_form(&s, &path, &cookie, None, &form);
        assert_eq!(a.status, 404, "{path}: {}", a.text);
    }
    let fetched = api.fetch(json!({"identifier": made_id}));
    assert_eq!(
        fetched.body["device"]["status"], "NORMAL",
        "{}",
        fetched.text
    );
    let still = api.call("GET", "/sandbox/ofac/reviews", None);
    assert!(still.text.contains(&review_user), "{}", still.text);
    c.close().await;
    assert_eq!(s.stop(), 0);
}

fn my_card(r: &Answer) -> String {
    card_of(r)["paymentInstrumentIdentifier"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The CSRF token in a page's forms.
fn csrf_of(src: &str) -> String {
    let at = src.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    src[at..at + src[at..].find('"').unwrap()].to_string()
}

/// An agent that does not follow redirects (to see a login's `Set-Cookie`).
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(30))
        .build()
}

fn answer_of(r: Result<ureq::Response, ureq::Error>) -> (u16, Vec<String>, String) {
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = r.status();
    let cookies = r.all("set-cookie").iter().map(|s| s.to_string()).collect();
    (status, cookies, r.into_string().unwrap_or_default())
}

/// A form POST with a cookie and an optional `Origin`.
fn post_form(s: &Server, path: &str, cookie: &str, origin: Option<&str>, form: &str) -> Answer {
    let mut req = agent()
        .post(&s.url(path))
        .set("Cookie", cookie)
        .set("Content-Type", "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        req = req.set("Origin", o);
    }
    let (status, _, text) = answer_of(req.send_string(form));
    Answer {
        status,
        body: Value::Null,
        text,
        headers: Vec::new(),
    }
}

/// Logs in through `agent` at `base` (sending `Origin: base`): answers the session cookie
/// (`name=value`) and the `Set-Cookie`s of the login page and of the login.
fn http_login(
    agent: &ureq::Agent,
    base: &str,
    id: &str,
    secret: &str,
) -> (String, Vec<String>, Vec<String>) {
    let (status, page_cookies, page) =
        answer_of(agent.get(&format!("{base}/console/login")).call());
    assert_eq!(status, 200);
    let pre = page_cookies[0].split(';').next().unwrap().to_string();
    let form = format!("csrf={}&client_id={id}&secret={secret}", csrf_of(&page));
    let (status, cookies, text) = answer_of(
        agent
            .post(&format!("{base}/console/login"))
            .set("Cookie", &pre)
            .set("Origin", base)
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(&form),
    );
    assert_eq!(status, 303, "{text}");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("issuebox_console="))
        .expect("a session cookie");
    let pair = session.split(';').next().unwrap().to_string();
    (pair, page_cookies, cookies)
}

fn flags(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .map(|f| f.trim().to_string())
        .collect()
}

#[test]
fn forged_forms_change_nothing_and_pages_carry_their_headers() {
    let mut s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({}));
    let id = card["identifier"].as_str().unwrap();
    let (cookie, _, set) = http_login(&agent(), &s.base, "sandbox", "sandbox-secret");
    for c in set.iter().filter(|c| c.starts_with("issuebox_console")) {
        let f = flags(c);
        for want in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(f.iter().any(|x| x == want), "{want} in {c}");
        }
        assert!(!f.iter().any(|x| x == "Secure"), "plain HTTP: {c}");
    }

    // Every console page, error pages included, has its policy.
    for path in [
        "/console/login",
        "/console/",
        "/console/nope",
        "/console/static/console.js",
    ] {
        let a = send("GET", &s.url(path), &[("Cookie", &cookie)], None);
        let csp = a.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("script-src 'self'"), "{path}: {:?}", a.headers);
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }

    let page = send(
        "GET",
        &s.url(&format!("/console/cards/{id}")),
        &[("Cookie", &cookie)],
        None,
    );
    let csrf = csrf_of(&page.text);
    let path = format!("/console/cards/{id}/status");
    let origin = s.base.clone();
    for (why, form, origin) in [
        (
            "no token",
            "status=CANCELLED".to_string(),
            Some(origin.as_str()),
        ),
        (
            "another token",
            "csrf=00ff&status=CANCELLED".to_string(),
            None,
        ),
        (
            "another origin",
            format!("csrf={csrf}&status=CANCELLED"),
            Some("http://evil.example"),
        ),
    ] {
        let a = post_form(&s, &path, &cookie, origin, &form);
        assert_eq!(a.status, 403, "{why}: {}", a.text);
        let f = api.fetch(json!({"identifier": id}));
        assert_eq!(f.body["device"]["status"], "NORMAL", "{why}: {}", f.text);
    }
    // The login form too: without its pre-login cookie's value, nothing happens.
    let a = post_form(
        &s,
        "/console/login",
        "",
        None,
        "client_id=sandbox&secret=sandbox-secret",
    );
    assert_eq!(a.status, 403, "{}", a.text);
    // The same POST with its token and the console's own origin works.
    let a = post_form(
        &s,
        &path,
        &cookie,
        Some(&origin),
        &format!("csrf={csrf}&status=BLOCKED"),
    );
    assert_eq!(a.status, 303, "{}", a.text);
    let f = api.fetch(json!({"identifier": id}));
    assert_eq!(f.body["device"]["status"], "BLOCKED", "{}", f.text);
    // A client without the sandbox scope sees the sandbox pages refused in words, and its
    // POSTs there change nothing.
    let (branch, _, _) = http_login(&agent(), &s.base, "branch", "branch-secret");
    for path in [
        "/console/kits",
        "/console/ofac",
        "/console/faults",
        "/console/cards",
    ] {
        let a = send("GET", &s.url(path), &[("Cookie", &branch)], None);
        assert_eq!(a.status, 403, "{path}: {}", a.text);
        assert!(a.text.contains("no `sandbox` scope"), "{path}: {}", a.text);
    }
    let page = send(
        "GET",
        &s.url("/console/search"),
        &[("Cookie", &branch)],
        None,
    );
    let branch_csrf = csrf_of(&page.text);
    let form = format!("csrf={branch_csrf}&packageLookup=on");
    let a = post_form(&s, "/console/faults", &branch, None, &form);
    assert_eq!(a.status, 403, "{}", a.text);
    let faults = api.call("GET", "/sandbox/faults", None);
    assert_eq!(faults.body["packageLookup"], false, "{}", faults.text);

    // Logged out, the cookie is dead.
    let a = post_form(
        &s,
        "/console/logout",
        &cookie,
        None,
        &format!("csrf={csrf}"),
    );
    assert_eq!(a.status, 303);
    let a = agent()
        .get(&s.url("/console/"))
        .set("Cookie", &cookie)
        .call();
    let (status, _, _) = answer_of(a);
    assert_eq!(status, 303, "a revoked session goes to the login page");
    assert_eq!(s.stop(), 0);
}

/// A self-signed certificate for 127.0.0.1, as PEM files: (dir, cert DER, cert path, key path).
fn pki() -> (
    tempfile::TempDir,
    rustls::pki_types::CertificateDer<'static>,
    String,
    String,
) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("self-signed certificate");
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("console.pem");
    let key = dir.path().join("console.key");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let path = |p: std::path::PathBuf| p.display().to_string();
    (dir, ck.cert.der().clone(), path(cert), path(key))
}

#[test]
fn under_tls_the_console_cookies_are_secure() {
    let (_dir, der, cert, key) = pki();
    let lines = format!("tls_cert_file = {cert:?}\ntls_key_file = {key:?}\n\n[storage]");
    let mut s = Server::start_with(&[("[storage]", &lines)]);
    let https = s.base.replacen("http://", "https://", 1);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let agent = ureq::AgentBuilder::new()
        .tls_config(std::sync::Arc::new(tls))
        .redirects(0)
        .timeout(Duration::from_secs(30))
        .build();
    let (_, page_cookies, set) = http_login(&agent, &https, "sandbox", "sandbox-secret");
    for c in page_cookies.iter().chain(&set) {
        let f = flags(c);
        for want in ["Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(f.iter().any(|x| x == want), "{want} in {c}");
        }
    }
    assert_eq!(s.stop(), 0);
}

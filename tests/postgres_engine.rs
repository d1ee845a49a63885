//! The same API on `storage.engine = "postgres"`: one process, then three processes over one
//! database with requests spread over them, every rule held across them (contract section 9).
//! Needs PostgreSQL's server binaries (see tests/common/postgres.rs); under `CI=true` a machine
//! without them fails these tests.

mod common;

use common::baas::*;
use common::*;
use serde_json::json;
use std::sync::Barrier;

/// `n` servers on one fresh database, or none when there is no PostgreSQL (outside CI).
fn servers(n: usize, extra: &[(&str, &str)]) -> Option<(String, Vec<Server>)> {
    let url = common::postgres::fresh_database()?;
    let (from, to) = postgres_engine_edit(&url);
    let mut edits: Vec<(&str, &str)> = vec![(from, &to)];
    edits.extend_from_slice(extra);
    let all = (0..n).map(|_| Server::start_with(&edits)).collect();
    Some((url, all))
}

/// Runs `f(i)` on `n` threads released at once; answers in thread order.
fn at_once<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let (f, barrier) = (&f, &barrier);
                sc.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn verify_clean(config: &std::path::Path) {
    let (code, out) = run_cli(&["verify", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store is clean"), "{out}");
}

#[test]
fn one_process_on_postgres_enrolls_replays_issues_kits_and_attaches_wallets() {
    let Some((_, mut all)) = servers(1, &[]) else {
        return;
    };
    let b = Baas::on(all.remove(0));
    let rid = uuid();
    let req = with(body(), "/requestPhysicalCard", json!(true));
    let first = b.post("SANDBOX", &rid, &req);
    assert_row(&first, 200, 0, 0, Some("Success"));
    let again = b.post("SANDBOX", &rid, &req);
    assert_eq!(again.text, first.text, "a replay answers the same bytes");
    let acc = first.body["account"]["accountIdentifier"].as_str().unwrap();
    let read = b.get(&format!("/programs/SANDBOX/accounts/{acc}"));
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["account"], first.body["account"]);
    let reused = b.post("SANDBOX", &rid, &body());
    assert_eq!(reused.status, 409, "{}", reused.text);

    b.load_kit("PGKIT", "GPR100");
    let kit = b.enroll(&instant(body(), "PGKIT"));
    assert_row(&kit, 200, 0, 0, Some("Success"));
    let taken = b.enroll(&instant(body(), "PGKIT"));
    assert_row(&taken, 400, 5020, 5023, None);

    let api = Api::new(&b.s);
    let card = api.new_card(json!({"alias": "PG-ALIAS-1", "packID": "PGPACK00001"}));
    for (i, device) in [
        json!({"identifier": card["identifier"]}),
        json!({"number": card["number"]}),
        json!({"packID": "PGPACK00001"}),
        json!({"alias": "PG-ALIAS-1"}),
    ]
    .into_iter()
    .enumerate()
    {
        let plan = ["WUSD", "WGBP", "WEUR", "WUSD"][i];
        let a = api.attach(json!({"device": device, "wallets": [{"planCode": plan}]}));
        assert!(a.status == 201 || a.status == 400, "{}", a.text);
    }
    let fetched = api.fetch(json!({"identifier": card["identifier"]}));
    assert_eq!(fetched.status, 200, "{}", fetched.text);
    assert!(!fetched.body["wallets"].as_array().unwrap().is_empty());
    assert_eq!(b.s.entity_count("accounts"), 2);
    let config = b.s.config_path.clone();
    verify_clean(&config);
}

#[test]
fn three_processes_on_one_database_hold_every_rule() {
    let (from, to) = many_plans_edit(24);
    let Some((_, all)) = servers(3, &[(from, &to)]) else {
        return;
    };
    // A token minted by one process works on the others.
    let token = all[0].token();
    let clients: Vec<Baas> = all
        .into_iter()
        .map(|s| Baas {
            s,
            auth: format!("Bearer {token}"),
        })
        .collect();
    let on = |i: usize| &clients[i % clients.len()];
    for c in &clients {
        assert_eq!(c.get("/programs/SANDBOX/accounts/none").status, 404);
    }

    // One requestId on all three at once: one account, byte-identical answers.
    let rid = uuid();
    let req = body();
    let answers = at_once(9, |i| loop {
        let a = on(i).post("SANDBOX", &rid, &req);
        if a.status != 409 {
            return a;
        }
        assert_row(&a, 409, 4091, 0, Some("API is locked"));
        std::thread::sleep(std::time::Duration::from_millis(20));
    });
    for a in &answers {
        assert_row(a, 200, 0, 0, Some("Success"));
        assert_eq!(a.text, answers[0].text);
    }
    assert_eq!(clients[0].s.entity_count("accounts"), 1);

    // One SSN on all three at once (distinct requestIds): one user.
    let person = body();
    let answers = at_once(9, |i| on(i).enroll(&person));
    assert_eq!(
        answers.iter().filter(|a| a.status == 200).count(),
        1,
        "{answers:?}"
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        let code = a.body["responseDetails"][0]["code"].as_u64().unwrap();
        assert!(code == 4091 || code == 4010, "{}", a.text);
    }
    assert_eq!(clients[0].s.entity_count("users"), 2);

    // Twelve instant issues of one kit: one 200, the rest 5023.
    clients[0].load_kit("RACEKIT", "GPR100");
    let answers = at_once(12, |i| on(i).enroll(&instant(body(), "RACEKIT")));
    assert_eq!(
        answers.iter().filter(|a| a.status == 200).count(),
        1,
        "{answers:?}"
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        assert_row(a, 400, 5020, 5023, None);
    }

    // 24 one-wallet attaches to one card by id, number, pack ID and alias: exactly 15.
    let api = Api {
        base: clients[0].s.base.clone(),
        auth: format!("Bearer {token}"),
    };
    let card = api.new_card(json!({"alias": "RACE-ALIAS", "packID": "RACEPACK0001"}));
    let keys = [
        json!({"identifier": card["identifier"]}),
        json!({"number": card["number"]}),
        json!({"packID": "RACEPACK0001"}),
        json!({"alias": "RACE-ALIAS"}),
    ];
    let answers = at_once(24, |i| {
        let api = Api {
            base: on(i).s.base.clone(),
            auth: format!("Bearer {token}"),
        };
        api.attach(json!({"device": keys[i % 4], "wallets": [{"planCode": format!("WX{i:02}")}]}))
    });
    assert_eq!(
        answers.iter().filter(|a| a.status == 201).count(),
        15,
        "{answers:?}"
    );
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(a.status, 400, "{}", a.text);
        assert_eq!(a.body["code"], "GPRW010", "{}", a.text);
    }
    let fetched = api.fetch(json!({"identifier": card["identifier"]}));
    assert_eq!(fetched.body["wallets"].as_array().unwrap().len(), 15);

    // Two OFAC clears at once on two processes: one completion, one card.
    let r = clients[0].enroll(&named(body(), "Gilberto", None, "Rodriguez Orejuela"));
    assert_row(&r, 200, 1, 31, None);
    let user = user_of(&r);
    let path = format!("/sandbox/ofac/reviews/{user}");
    let cards_before = clients[0].s.entity_count("devices");
    let answers = at_once(2, |i| {
        on(i).sandbox("POST", &path, &json!({"decision": "clear"}))
    });
    assert_eq!(
        answers.iter().filter(|a| a.status == 200).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|a| a.status == 409).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(clients[0].s.entity_count("devices"), cards_before + 1);

    // A fault switch set through one process applies on the others.
    let api_on = |i: usize| Api {
        base: clients[i].s.base.clone(),
        auth: format!("Bearer {token}"),
    };
    api_on(0).set_faults(json!({"walletLink": true}));
    let other = api_on(1).new_card(json!({}));
    let faulted = api_on(2).attach(
        json!({"device": {"identifier": other["identifier"]}, "wallets": [{"planCode": "WX00"}]}),
    );
    assert_eq!(faulted.status, 400, "{}", faulted.text);
    assert_eq!(faulted.body["code"], "GPRW014", "{}", faulted.text);
    api_on(1).set_faults(json!({}));
    let healed = api_on(0).attach(
        json!({"device": {"identifier": other["identifier"]}, "wallets": [{"planCode": "WX00"}]}),
    );
    assert_eq!(healed.status, 201, "{}", healed.text);

    // A token revoked through one process is refused by the others at once.
    let doomed = clients[0].s.token();
    let as_doomed = |i: usize| {
        send(
            "GET",
            &clients[i].s.url("/programs/SANDBOX/accounts/none"),
            &[
                ("Authorization", &format!("Bearer {doomed}")),
                ("X-GD-RequestId", &uuid()),
            ],
            None,
        )
        .status
    };
    assert_eq!((as_doomed(1), as_doomed(2)), (404, 404));
    let revoked = ureq::post(&clients[2].s.url("/authentication/revoke"))
        .set("Authorization", &basic("sandbox", "sandbox-secret"))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&format!("token={doomed}"))
        .expect("revoke");
    assert_eq!(revoked.status(), 200);
    assert_eq!((as_doomed(0), as_doomed(1)), (401, 401));

    let config = clients[0].s.config_path.clone();
    verify_clean(&config);
}

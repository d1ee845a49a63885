//! The test receiver (`tests/common/webhooks.rs`) and its independent verifier, checked on their
//! own and against issuebox's signer and delivery client.

mod common;
use common::webhooks;

use issuebox::webhooks::{signature_header, Secret, Sender};
use std::time::Duration;
use webhooks::{unix_now, verify, Behaviour, Receiver};

const SECS: Duration = Duration::from_secs(5);

fn headers(id: &str, ts: &str, sig: &str) -> Vec<(String, String)> {
    [
        ("Webhook-Id", id),
        ("webhook-timestamp", ts),
        ("WEBHOOK-SIGNATURE", sig),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The specification's vector, so that the verifier is known right before it judges issuebox.
#[test]
fn verifier_accepts_the_standard_webhooks_vector_and_refuses_tampering() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (id, ts) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330);
    let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let body = br#"{"test": 2432232314}"#;
    let h = headers(id, "1614265330", sig);
    assert_eq!(verify(secret, &h, body, ts, 300), Ok(()));
    assert_eq!(verify(secret, &h, body, ts + 300, 300), Ok(()));
    assert_eq!(verify(secret, &h, body, ts - 300, 300), Ok(()));

    let tampered = verify(secret, &h, br#"{"test": 2432232315}"#, ts, 300).unwrap_err();
    assert!(tampered.contains("no v1 signature"), "{tampered}");
    let stale = verify(secret, &h, body, ts + 301, 300).unwrap_err();
    assert!(stale.contains("tolerance"), "{stale}");
    assert!(verify(secret, &h, body, ts - 301, 300).is_err(), "future");
    let other = "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==";
    assert!(verify(other, &h, body, ts, 300).is_err(), "another secret");
    for (id2, ts2) in [("msg_other", "1614265330"), (id, "1614265331")] {
        assert!(verify(secret, &headers(id2, ts2, sig), body, ts, 300).is_err());
    }
    // One good signature among others is enough; other versions and junk are skipped.
    let many = format!("v1a,AAAA v1,bm9wZQ== junk {sig} v1,!!");
    assert_eq!(
        verify(secret, &headers(id, "1614265330", &many), body, ts, 300),
        Ok(())
    );
    let v2 = sig.replacen("v1,", "v2,", 1);
    assert!(verify(secret, &headers(id, "1614265330", &v2), body, ts, 300).is_err());
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let h: Vec<_> = h
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(missing))
            .cloned()
            .collect();
        let e = verify(secret, &h, body, ts, 300).unwrap_err();
        assert!(e.contains(missing), "{e}");
    }
}

#[tokio::test]
async fn a_delivery_signed_by_issuebox_arrives_and_verifies_with_each_live_secret() {
    let receiver = Receiver::start(Behaviour::Ok);
    let (new, old, stranger) = (Secret::generate(), Secret::generate(), Secret::generate());
    let body = br#"{"id":"evt_1","type":"card.issued"}"#.to_vec();
    let now = unix_now();
    let signature = signature_header(&[&new, &old], "evt_1", now, &body);
    let out = Sender::new(2000)
        .send(&receiver.url(), "evt_1", now, &signature, body.clone())
        .await;
    assert!(out.delivered(), "{out:?}");
    assert_eq!(out.response_prefix, "ok");

    let got = receiver.wait_for(1, SECS).remove(0);
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        ("POST", "/webhook")
    );
    assert_eq!(got.body, body);
    assert_eq!(got.json()["type"], "card.issued");
    assert_eq!(got.header("Content-Type"), Some("application/json"));
    assert_eq!(got.header("webhook-id"), Some("evt_1"));
    assert_eq!(got.header("webhook-timestamp"), Some(&*now.to_string()));
    assert!(got.header("user-agent").unwrap().starts_with("issuebox/"));
    assert_eq!(got.verify(&new.to_whsec()), Ok(()));
    assert_eq!(got.verify(&old.to_whsec()), Ok(()));
    assert!(got.verify(&stranger.to_whsec()).is_err());

    let mut tampered = got.body.clone();
    tampered[2] ^= 1;
    assert!(verify(&new.to_whsec(), &got.headers, &tampered, now, 300).is_err());
    assert!(verify(&new.to_whsec(), &got.headers, &got.body, now + 301, 300).is_err());
}

#[tokio::test]
async fn fail_first_fails_then_answers_over_one_kept_alive_connection() {
    let receiver = Receiver::start(Behaviour::FailFirst(2));
    let sender = Sender::new(2000);
    let mut statuses = Vec::new();
    for i in 0..3 {
        let out = sender
            .send(
                &receiver.url(),
                &format!("evt_{i}"),
                unix_now(),
                "v1,x",
                b"{}".to_vec(),
            )
            .await;
        statuses.push(out.status);
    }
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    let got = receiver.wait_for(3, SECS);
    assert!(got.iter().all(|r| r.connection == got[0].connection));
    assert_eq!(
        receiver.connections(),
        1,
        "the sender's pool reuses the connection"
    );
}

#[tokio::test]
async fn statuses_and_replies_as_set_and_redirects_are_not_followed() {
    let receiver = Receiver::start(Behaviour::Status(302));
    let sender = Sender::new(2000);
    let out = sender
        .send(&receiver.url(), "e", unix_now(), "v1,x", vec![])
        .await;
    assert_eq!(out.status, Some(302));
    assert!(!out.delivered());
    receiver.set_behaviour(Behaviour::Reply(410, "gone for good".into()));
    let out = sender
        .send(&receiver.url(), "e", unix_now(), "v1,x", vec![])
        .await;
    assert_eq!(
        (out.status, out.response_prefix.as_str()),
        (Some(410), "gone for good")
    );
    std::thread::sleep(Duration::from_millis(200));
    let paths: Vec<_> = receiver.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/webhook", "/webhook"], "no request to /redirected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_endpoint_times_out_while_other_connections_are_served() {
    let receiver = Receiver::start(Behaviour::Hang);
    let sender = Sender::new(300);
    let out = sender
        .send(&receiver.url(), "e1", unix_now(), "v1,x", vec![])
        .await;
    assert_eq!(out.status, None);
    assert_eq!(out.error.as_deref(), Some("timed out after 300 ms"));
    assert_eq!(
        receiver.wait_for(1, SECS)[0].header("webhook-id"),
        Some("e1")
    );

    // The hung connection is still open on its own thread; a new one is answered.
    receiver.set_behaviour(Behaviour::Ok);
    let out = sender
        .send(&receiver.url(), "e2", unix_now(), "v1,x", vec![])
        .await;
    assert_eq!(out.status, Some(200), "{out:?}");
    let got = receiver.wait_for(2, SECS);
    assert_ne!(got[0].connection, got[1].connection);
    assert!(got[1].at > got[0].at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_are_all_recorded() {
    let receiver = Receiver::start(Behaviour::Ok);
    let sender = Sender::new(2000);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (sender, url) = (sender.clone(), receiver.url());
            tokio::spawn(async move {
                sender
                    .send(
                        &url,
                        &format!("evt_{i}"),
                        unix_now(),
                        "v1,x",
                        vec![b'x'; i * 1000],
                    )
                    .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().status, Some(200));
    }
    let mut got = receiver.wait_for(8, SECS);
    got.sort_by_key(|r| r.body.len());
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.header("webhook-id"), Some(&*format!("evt_{i}")));
        assert_eq!(r.body.len(), i * 1000);
    }
}

#[test]
#[should_panic(expected = "receiver got 0 of 1 requests")]
fn wait_for_gives_up_after_its_timeout() {
    Receiver::start(Behaviour::Ok).wait_for(1, Duration::from_millis(100));
}

/// One `Sender` outlives the runtime that opened its pooled connection: the next runtime's
/// attempt still goes through (the sender's doc promises as much).
#[test]
fn a_sender_outlives_the_runtime_that_opened_its_connection() {
    let receiver = Receiver::start(Behaviour::Ok);
    let sender = Sender::new(2000);
    for flavour in ["current", "multi", "current"] {
        let rt = match flavour {
            "current" => tokio::runtime::Builder::new_current_thread(),
            _ => tokio::runtime::Builder::new_multi_thread(),
        }
        .enable_all()
        .build()
        .unwrap();
        let out = rt.block_on(sender.send(&receiver.url(), "e", unix_now(), "v1,x", vec![]));
        assert_eq!(out.status, Some(200), "{flavour}: {out:?}");
        drop(rt);
    }
    assert_eq!(receiver.wait_for(3, SECS).len(), 3);
}

//! The SQL engine's connections, which the thread that waits on one drives itself
//! (`src/store/postgres/conn.rs`): a statement or an answer larger than the socket's buffers
//! goes through whole, and a connection the server ended while it sat in the pool is replaced
//! rather than handed to a request. Needs PostgreSQL's server binaries (see
//! tests/common/postgres.rs); under `CI=true` a machine without them fails these tests.

mod common;

use issuebox::domain::model::{ResponseKey, StoredResponse};
use issuebox::store::{Reader, Store};

fn store(pool: usize) -> Option<(String, Store)> {
    let url = common::postgres::fresh_database()?;
    let s = Store::open_postgres(&url, pool).expect("open the postgres store");
    Some((url, s))
}

fn response(body: Vec<u8>) -> StoredResponse {
    StoredResponse {
        request_digest: [7; 32],
        upgrade_account: None,
        status: 200,
        body,
        account_id: None,
        created_at: 1,
    }
}

/// Runs `f` on `n` threads at once; answers in thread order.
fn on_threads<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                sc.spawn({
                    let f = &f;
                    move || f(i)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn a_statement_and_an_answer_larger_than_the_socket_buffers_go_through_whole() {
    let Some((_, s)) = store(2) else { return };
    // 24 MiB: more than a loopback socket's send and receive buffers together, so the write
    // finds the socket full (the driver then waits until it is writable) and the answer comes
    // in many reads.
    let body: Vec<u8> = (0..24u32 << 20).map(|i| (i % 251) as u8).collect();
    let key = ResponseKey::new("client", "PROGRAM", "big");
    s.transact(|tx| tx.put_response(&key, &response(body.clone()), true))
        .expect("a large write commits");
    let back = s.response(&key).expect("read").expect("stored");
    assert_eq!(back.body.len(), body.len());
    assert!(back.body == body, "the bytes read are the bytes written");
}

#[test]
fn a_connection_the_server_ended_in_the_pool_is_replaced_not_handed_out() {
    let Some((url, s)) = store(4) else { return };
    let key = |i: usize| ResponseKey::new("client", "PROGRAM", &format!("r{i}"));
    for i in 0..4 {
        s.transact(|tx| tx.put_response(&key(i), &response(vec![i as u8; 16]), true))
            .unwrap();
    }
    // Four at once: the pool holds up to four connections.
    let read = |i: usize| s.response(&key(i)).map(|r| r.map(|r| r.body));
    for (i, r) in on_threads(4, read).into_iter().enumerate() {
        assert_eq!(r.unwrap(), Some(vec![i as u8; 16]));
    }
    // The server ends every connection of the store (an administrator, a failover, a restart).
    let db = url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let cluster = common::postgres::shared().expect("the cluster");
    let ended = cluster.psql(
        db,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert!(ended.trim().parse::<u32>().unwrap() >= 1, "{ended}");
    // Gone once their backends exited (the signal is asynchronous): each connection then has
    // the server's goodbye waiting on its socket.
    let others = "SELECT count(*) FROM pg_stat_activity \
                  WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cluster.psql(db, others).trim() != "0" {
        assert!(std::time::Instant::now() < deadline, "backends still there");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Every request still gets an open connection: none answers with the ended one.
    for _ in 0..3 {
        for (i, r) in on_threads(4, read).into_iter().enumerate() {
            assert_eq!(r.unwrap(), Some(vec![i as u8; 16]));
        }
    }
}

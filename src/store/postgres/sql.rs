//! Every statement of the SQL engine, in plain SQL that PostgreSQL, CockroachDB and YugabyteDB
//! accept (see the module doc of [`super`]). Each is prepared once per connection.

// --- reads: the record's body first ---
pub const USER: &str = "SELECT body FROM users WHERE id = $1";
pub const USER_BY_SSN: &str = "SELECT body FROM users WHERE program = $1 AND ssn_fp = $2";
pub const ACCOUNT: &str = "SELECT body FROM accounts WHERE id = $1";
pub const CARD: &str = "SELECT body FROM cards WHERE id = $1";
pub const WALLET: &str = "SELECT body FROM wallets WHERE id = $1";
pub const KIT: &str = "SELECT body FROM kits WHERE program = $1 AND mapping_id = $2";
pub const REVIEW: &str = "SELECT body FROM reviews WHERE user_id = $1";
pub const RESPONSE: &str =
    "SELECT body FROM stored_responses WHERE client = $1 AND program = $2 AND request_id = $3";
pub const TOKEN: &str = "SELECT body FROM tokens WHERE hash = $1";
/// Oldest first, in minting order.
pub const CLIENT_TOKENS: &str =
    "SELECT hash, expires_at FROM tokens WHERE client = $1 ORDER BY minted, hash";
pub const ALIAS_CARDS: &str = "SELECT id FROM cards WHERE alias = $1 ORDER BY id";
pub const PACK_OWNER: &str =
    "SELECT card_id, kit_mapping_id FROM pack_ids WHERE program = $1 AND pack_id = $2";
pub const NUMBER_OWNER: &str =
    "SELECT card_id, kit_mapping_id, kit_program FROM number_owners WHERE number_fp = $1";
pub const WALLETS_OF: &str = "SELECT body FROM wallets WHERE card_id = $1 ORDER BY seq";

// --- writes, in the order a transaction sends them ---
pub const INSERT_USER: &str =
    "INSERT INTO users (id, program, ssn_fp, body) VALUES ($1, $2, $3, $4)";
pub const UPDATE_USER: &str = "UPDATE users SET program = $2, ssn_fp = $3, body = $4 WHERE id = $1";
pub const INSERT_ACCOUNT: &str =
    "INSERT INTO accounts (id, program, user_id, product, body) VALUES ($1, $2, $3, $4, $5)";
pub const UPDATE_ACCOUNT: &str =
    "UPDATE accounts SET program = $2, user_id = $3, product = $4, body = $5 WHERE id = $1";
pub const INSERT_CARD: &str =
    "INSERT INTO cards (id, program, account_id, alias, body) VALUES ($1, $2, $3, $4, $5)";
pub const UPDATE_CARD: &str =
    "UPDATE cards SET program = $2, account_id = $3, alias = $4, body = $5 WHERE id = $1";
pub const INSERT_KIT: &str =
    "INSERT INTO kits (program, mapping_id, status, card_id, body) VALUES ($1, $2, $3, $4, $5)";
pub const UPDATE_KIT: &str = "UPDATE kits SET status = $3, card_id = $4, body = $5 \
     WHERE program = $1 AND mapping_id = $2";
pub const INSERT_KIT_PACK: &str =
    "INSERT INTO pack_ids (program, pack_id, kit_mapping_id) VALUES ($1, $2, $3)";
pub const INSERT_KIT_NUMBER: &str =
    "INSERT INTO number_owners (number_fp, kit_program, kit_mapping_id) VALUES ($1, $2, $3)";
/// A new card holds its number; a kit that held it (instant issue) lets go.
pub const OWN_NUMBER: &str = "INSERT INTO number_owners (number_fp, card_id) VALUES ($1, $2) \
     ON CONFLICT (number_fp) DO UPDATE \
     SET card_id = excluded.card_id, kit_program = NULL, kit_mapping_id = NULL";
/// A new card holds its pack ID; a kit that held it (instant issue) lets go.
pub const OWN_PACK: &str = "INSERT INTO pack_ids (program, pack_id, card_id) VALUES ($1, $2, $3) \
     ON CONFLICT (program, pack_id) DO UPDATE \
     SET card_id = excluded.card_id, kit_mapping_id = NULL";
/// A new wallet goes last in its card's creation order.
pub const INSERT_WALLET: &str = "INSERT INTO wallets (id, card_id, seq, is_open, body) \
     VALUES ($1, $2, (SELECT COALESCE(MAX(seq), -1) + 1 FROM wallets WHERE card_id = $2), $3, $4)";
pub const UPDATE_WALLET: &str =
    "UPDATE wallets SET card_id = $2, is_open = $3, body = $4 WHERE id = $1";
/// A wallet moved to another card (card replacement) goes last in that card's order.
pub const MOVE_WALLET: &str = "UPDATE wallets SET card_id = $2, is_open = $3, body = $4, \
     seq = (SELECT COALESCE(MAX(w.seq), -1) + 1 FROM wallets w WHERE w.card_id = $2) \
     WHERE id = $1";
/// The card's count of wallets not closed, under the schema's 15-wallet CHECK.
pub const COUNT_OPEN_WALLETS: &str = "UPDATE cards SET open_wallets = \
     (SELECT count(*) FROM wallets WHERE card_id = $1 AND is_open) WHERE id = $1";
pub const INSERT_REVIEW: &str =
    "INSERT INTO reviews (user_id, program, state, body) VALUES ($1, $2, $3, $4)";
pub const UPDATE_REVIEW: &str =
    "UPDATE reviews SET program = $2, state = $3, body = $4 WHERE user_id = $1";
pub const INSERT_RESPONSE: &str = "INSERT INTO stored_responses \
     (client, program, request_id, account_id, created_at, body) VALUES ($1, $2, $3, $4, $5, $6)";
pub const UPDATE_RESPONSE: &str = "UPDATE stored_responses \
     SET account_id = $4, created_at = $5, body = $6 \
     WHERE client = $1 AND program = $2 AND request_id = $3";
pub const DELETE_RESPONSE: &str =
    "DELETE FROM stored_responses WHERE client = $1 AND program = $2 AND request_id = $3";
pub const PUT_TOKEN: &str = "INSERT INTO tokens (hash, client, expires_at, body, minted) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO UPDATE \
     SET client = excluded.client, expires_at = excluded.expires_at, body = excluded.body";
pub const DELETE_TOKEN: &str = "DELETE FROM tokens WHERE hash = $1";

// --- the store outside a transaction ---
pub const REVIEWS: &str = "SELECT body FROM reviews ORDER BY user_id";
pub const EXPIRED_TOKENS: &str =
    "SELECT hash FROM tokens WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2";
pub const RESPONSES_BEFORE: &str = "SELECT client, program, request_id, body \
     FROM stored_responses WHERE created_at < $1 ORDER BY created_at LIMIT $2";

pub const FAULTS: &str = "SELECT name, enabled FROM faults";
pub const SET_FAULT: &str = "INSERT INTO faults (name, enabled) VALUES ($1, $2) \
     ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled";

/// Claims of requests in flight across processes: taken when free or stale, all or none.
/// Claims every key of `$2` (sorted, so that two claimers of overlapping keys lock them in one
/// order) for holder `$3` at `$4`, taking over claims older than `$5`; answers the keys it got.
/// One statement, so one round trip and one commit (`unnest` of an array parameter: PostgreSQL,
/// CockroachDB and YugabyteDB all have it).
pub const CLAIM: &str = "INSERT INTO claims (kind, claim_key, holder, claimed_at) \
     SELECT $1, k, $3, $4 FROM unnest($2::bytea[]) AS k \
     ON CONFLICT (kind, claim_key) DO UPDATE \
     SET holder = excluded.holder, claimed_at = excluded.claimed_at \
     WHERE claims.claimed_at < $5 RETURNING claim_key";
/// Deletes every claim of holder `$2` (a request's one or two keys), found by the holder's index
/// (migration 0007): one statement, its whole condition the index's. (Before, one statement per
/// key: `claim_key = ANY($2)` was not the index condition: PostgreSQL's generic plan, believing
/// the churned table nearly empty, scanned every index entry of the kind, dead ones included,
/// and this one statement took more of the database's time than all the rest of an enrollment;
/// `tests/postgres_plans.rs` checks the plan of this one on a churned table.)
pub const RELEASE_HOLDER: &str = "DELETE FROM claims WHERE kind = $1 AND holder = $2";

// --- `issuebox copy`: the store's records in export order, a page at a time ---

/// A read of every row of a table in key order, a page at a time: `first` takes the page size
/// (`$1`); `next` takes the last row's key, then the page size.
pub struct Paged {
    pub first: &'static str,
    pub next: &'static str,
}

/// One snapshot for the whole export, so that a page never sees a later write that an earlier
/// page missed.
pub const EXPORT_BEGIN: &str = "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
pub const EXPORT_USERS: Paged = Paged {
    first: "SELECT id, body FROM users ORDER BY id LIMIT $1",
    next: "SELECT id, body FROM users WHERE id > $1 ORDER BY id LIMIT $2",
};
pub const EXPORT_ACCOUNTS: Paged = Paged {
    first: "SELECT id, body FROM accounts ORDER BY id LIMIT $1",
    next: "SELECT id, body FROM accounts WHERE id > $1 ORDER BY id LIMIT $2",
};
/// Each card with the kit it was issued from, if any (`kits_card_once`: at most one).
pub const EXPORT_CARDS: Paged = Paged {
    first: "SELECT c.id, c.body, k.body FROM cards c LEFT JOIN kits k ON k.card_id = c.id \
            ORDER BY c.id LIMIT $1",
    next: "SELECT c.id, c.body, k.body FROM cards c LEFT JOIN kits k ON k.card_id = c.id \
           WHERE c.id > $1 ORDER BY c.id LIMIT $2",
};
/// Kits not assigned: the assigned ones travel with their cards.
pub const EXPORT_KITS: Paged = Paged {
    first: "SELECT program, mapping_id, body FROM kits WHERE card_id IS NULL \
            ORDER BY program, mapping_id LIMIT $1",
    next: "SELECT program, mapping_id, body FROM kits WHERE card_id IS NULL \
           AND (program, mapping_id) > ($1, $2) ORDER BY program, mapping_id LIMIT $3",
};
/// Each card's wallets in creation order.
pub const EXPORT_WALLETS: Paged = Paged {
    first: "SELECT card_id, seq, body FROM wallets ORDER BY card_id, seq LIMIT $1",
    next: "SELECT card_id, seq, body FROM wallets WHERE (card_id, seq) > ($1, $2) \
           ORDER BY card_id, seq LIMIT $3",
};
pub const EXPORT_REVIEWS: Paged = Paged {
    first: "SELECT user_id, body FROM reviews ORDER BY user_id LIMIT $1",
    next: "SELECT user_id, body FROM reviews WHERE user_id > $1 ORDER BY user_id LIMIT $2",
};
pub const EXPORT_RESPONSES: Paged = Paged {
    first: "SELECT client, program, request_id, body FROM stored_responses \
            ORDER BY client, program, request_id LIMIT $1",
    next: "SELECT client, program, request_id, body FROM stored_responses \
           WHERE (client, program, request_id) > ($1, $2, $3) \
           ORDER BY client, program, request_id LIMIT $4",
};
pub const EXPORT_TOKENS: Paged = Paged {
    first: "SELECT hash, body FROM tokens ORDER BY hash LIMIT $1",
    next: "SELECT hash, body FROM tokens WHERE hash > $1 ORDER BY hash LIMIT $2",
};
pub const TOKEN_COUNT: &str = "SELECT count(*) FROM tokens";
/// Whether any table of records (or of their lookups) holds a row.
pub const ANY_RECORD: &str =
    "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM accounts) \
     OR EXISTS (SELECT 1 FROM cards) OR EXISTS (SELECT 1 FROM kits) \
     OR EXISTS (SELECT 1 FROM wallets) OR EXISTS (SELECT 1 FROM reviews) \
     OR EXISTS (SELECT 1 FROM stored_responses) OR EXISTS (SELECT 1 FROM tokens) \
     OR EXISTS (SELECT 1 FROM pack_ids) OR EXISTS (SELECT 1 FROM number_owners)";

// --- events, webhook endpoints, deliveries (see `super::events`) ---

/// An event's columns, in the order [`super::events`] reads them.
macro_rules! event_columns {
    () => {
        "seq, id, kind, occurred_at_ms, program, request_id, subject_user, \
         subject_account, subject_card, subject_wallet, subject_kit, data"
    };
}
pub(super) use event_columns;

/// The rows of the one-row tables, by every process that opens the store: the first wins.
/// The counter starts past any event already there (its row lost, events kept: new events must
/// not collide with them).
pub const SEED_COUNTER: &str = "INSERT INTO event_counter (id, last) \
     SELECT 1, COALESCE(max(seq), 0) FROM events ON CONFLICT (id) DO NOTHING";
pub const SEED_FANOUT: &str =
    "INSERT INTO fanout_cursor (id, seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING";
pub const SEED_PREFIX: &str =
    "INSERT INTO event_prefix (id, prefix) VALUES (1, $1) ON CONFLICT (id) DO NOTHING";
pub const EVENT_PREFIX: &str = "SELECT prefix FROM event_prefix WHERE id = 1";

/// The committed last sequence (read without a lock: see `PgTx::last_event_sequence`).
pub const LAST_EVENT_SEQUENCE: &str = "SELECT last FROM event_counter WHERE id = 1";
/// The fan-out cursor (locked inside a transaction, so fan-outs take turns).
pub const FANOUT_CURSOR: &str = "SELECT seq FROM fanout_cursor WHERE id = 1";
pub const EVENT: &str = concat!("SELECT ", event_columns!(), " FROM events WHERE seq = $1");
pub const EVENTS_AFTER: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
);
pub const WEBHOOK: &str = "SELECT body FROM webhooks WHERE id = $1";
/// Oldest first.
pub const WEBHOOK_IDS: &str = "SELECT id FROM webhooks ORDER BY listed, id";
pub const WEBHOOKS: &str = "SELECT body FROM webhooks ORDER BY listed, id";
pub const DELIVERY: &str =
    "SELECT body FROM deliveries WHERE webhook_id = $1 AND event_sequence = $2";
/// An endpoint's deliveries after an event, of one status if `$3` is not NULL.
pub const DELIVERIES_OF: &str = "SELECT body FROM deliveries \
     WHERE webhook_id = $1 AND event_sequence > $2 AND ($3::text IS NULL OR status = $3::text) \
     ORDER BY event_sequence LIMIT $4";

/// Claims the pending deliveries due at `$1` that no live lease holds, soonest first, at most
/// `$2`, for `$3` ms: `SKIP LOCKED` passes over rows another claimer is taking at this moment,
/// and a row claimed since this statement's snapshot is checked again once locked (its lease
/// then excludes it), so two claimers never take one delivery. The rows are picked in a CTE:
/// PostgreSQL runs a CTE that locks rows once, where an `IN (SELECT … LIMIT …)` subquery may be
/// run again for each row the UPDATE scans and so claim more than `$2`.
pub const CLAIM_DUE_DELIVERIES: &str = "WITH picked AS ( \
       SELECT webhook_id, event_sequence FROM deliveries \
       WHERE status = 'pending' AND next_attempt_ms <= $1::bigint \
         AND (claimed_until_ms IS NULL OR claimed_until_ms <= $1::bigint) \
       ORDER BY next_attempt_ms, webhook_id, event_sequence LIMIT $2::bigint \
       FOR UPDATE SKIP LOCKED) \
     UPDATE deliveries SET claimed_until_ms = $1::bigint + $3::bigint \
     WHERE (webhook_id, event_sequence) IN (SELECT webhook_id, event_sequence FROM picked) \
     RETURNING webhook_id, event_sequence, next_attempt_ms";
/// When the soonest pending delivery can be taken: when it is due, or when the lease on it
/// ends. Looks at the 1000 due soonest (leases are few: a claimer takes a handful at a time).
pub const NEXT_DUE: &str = "SELECT min(GREATEST(next_attempt_ms, \
     COALESCE(claimed_until_ms, next_attempt_ms))) FROM ( \
       SELECT next_attempt_ms, claimed_until_ms FROM deliveries WHERE status = 'pending' \
       ORDER BY next_attempt_ms LIMIT 1000) d";
pub const EVENT_COUNTS: &str = "SELECT (SELECT count(*) FROM events), \
     (SELECT count(*) FROM webhooks), (SELECT count(*) FROM deliveries)";

/// A transaction's events, unnumbered, into the inbox as one row (see [`super::events`]): `$1`
/// the run's random key, `$2` the time; the arrays (`$3`-`$11`) are the events' fields, in
/// order. `written_at` is the database's clock when the statement began (the processes' clocks
/// need not agree): a transaction that waited for another's row lock writes its events after
/// that one committed, so the sequencer numbers the two in the order they committed.
pub const INBOX_EVENTS: &str = "INSERT INTO event_batches (txn, written_at, occurred_at_ms, \
       kinds, programs, request_ids, subject_users, subject_accounts, subject_cards, \
       subject_wallets, subject_kits, datas) \
     VALUES ($1::bytea, (extract(epoch FROM statement_timestamp()) * 1000000)::bigint, \
       $2::bigint, $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
       $9::text[], $10::text[], $11::bytea[])";
/// Whether any event waits to be numbered, in the inbox or in the previous version's
/// (`event_inbox`). The inbox through its index: it is a queue whose heap holds the dead rows of
/// numbered transactions until a vacuum, and a plain `LIMIT 1` scan read them all (over a
/// thousand pages a call under enrollment load; `tests/postgres_plans.rs`). Not `EXISTS`, which
/// would drop the `ORDER BY` that makes the index scan.
pub const INBOX_ANY: &str = "SELECT 1 FROM \
     (SELECT 1 FROM event_batches ORDER BY written_at, txn LIMIT 1) AS waiting \
     UNION ALL SELECT 1 FROM (SELECT 1 FROM event_inbox LIMIT 1) AS legacy LIMIT 1";
/// Whether events wait in the previous version's inbox (`event_inbox`, one row per event).
pub const LEGACY_INBOX_ANY: &str = "SELECT 1 FROM event_inbox LIMIT 1";
/// Moves the events waiting in the previous version's inbox into `event_batches`, one row per
/// transaction, in their order; run under the counter's lock, which that version's sequencer
/// takes too, so an event is numbered once, by one of them.
pub const ADOPT_LEGACY_INBOX: &str = "WITH moved AS (DELETE FROM event_inbox RETURNING *) \
     INSERT INTO event_batches (txn, written_at, occurred_at_ms, kinds, programs, request_ids, \
       subject_users, subject_accounts, subject_cards, subject_wallets, subject_kits, datas) \
     SELECT txn, min(written_at), min(occurred_at_ms), array_agg(kind ORDER BY ord), \
       array_agg(program ORDER BY ord), array_agg(request_id ORDER BY ord), \
       array_agg(subject_user ORDER BY ord), array_agg(subject_account ORDER BY ord), \
       array_agg(subject_card ORDER BY ord), array_agg(subject_wallet ORDER BY ord), \
       array_agg(subject_kit ORDER BY ord), array_agg(data ORDER BY ord) \
     FROM moved GROUP BY txn";
/// The sequencer's lock: one sequencer at a time, each seeing where the last one stopped.
pub const LOCK_COUNTER: &str = "SELECT last FROM event_counter WHERE id = 1 FOR UPDATE";
/// Numbers the events of the oldest `$3` waiting transactions after `$1` (the locked counter)
/// with the store's prefix `$2`, in the order they were written, in one statement: moved from
/// the inbox into `events` (a transaction's arrays unnested in their order), the counter set
/// past them. Answers the new counter (no row: nothing waited). (`d` runs though the main
/// statement does not read it: a data-modifying `WITH` always runs to completion, on
/// PostgreSQL and CockroachDB alike; `b`'s order is total, so a second evaluation of it would
/// pick the same rows.)
pub const NUMBER_EVENTS: &str = "WITH b AS ( \
       SELECT txn, written_at, occurred_at_ms, kinds, programs, request_ids, subject_users, \
         subject_accounts, subject_cards, subject_wallets, subject_kits, datas \
       FROM event_batches ORDER BY written_at, txn LIMIT $3), \
     e AS (SELECT b.txn, b.written_at, b.occurred_at_ms, u.* \
       FROM b, unnest(b.kinds, b.programs, b.request_ids, b.subject_users, b.subject_accounts, \
         b.subject_cards, b.subject_wallets, b.subject_kits, b.datas) WITH ORDINALITY \
         AS u (kind, program, request_id, su, sa, sc, sw, sk, data, ord)), \
     n AS (SELECT e.*, $1::bigint + row_number() OVER (ORDER BY written_at, txn, ord) AS s \
       FROM e), \
     d AS (DELETE FROM event_batches WHERE txn IN (SELECT txn FROM b) RETURNING 1), \
     i AS (INSERT INTO events (seq, id, kind, occurred_at_ms, program, request_id, subject_user, \
       subject_account, subject_card, subject_wallet, subject_kit, data) \
       SELECT s, 'evt_' || $2::text || '_' || s::text, kind, occurred_at_ms, program, \
         request_id, su, sa, sc, sw, sk, data FROM n RETURNING seq) \
     UPDATE event_counter SET last = (SELECT max(seq) FROM i) \
     WHERE id = 1 AND EXISTS (SELECT 1 FROM i) \
     RETURNING last";
/// Events of another store as they are (`issuebox copy`).
pub const RESTORE_EVENTS: &str = "INSERT INTO events (seq, id, occurred_at_ms, kind, \
       program, request_id, subject_user, subject_account, subject_card, subject_wallet, \
       subject_kit, data) \
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
       $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bytea[])";
/// The counter past restored events.
pub const COUNTER_PAST: &str =
    "UPDATE event_counter SET last = GREATEST(last, $1::bigint) WHERE id = 1";
pub const SET_FANOUT_CURSOR: &str = "INSERT INTO fanout_cursor (id, seq) VALUES (1, $1) \
     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq";
/// A new webhook endpoint, listed at `$3` (after every endpoint before it).
pub const INSERT_WEBHOOK: &str = "INSERT INTO webhooks (id, client, listed, body) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE \
     SET client = excluded.client, body = excluded.body";
/// A changed endpoint keeps its place; one deleted meanwhile stays deleted.
pub const UPDATE_WEBHOOK: &str = "UPDATE webhooks SET client = $2, body = $3 WHERE id = $1";
pub const DELETE_WEBHOOK: &str = "DELETE FROM webhooks WHERE id = $1";
/// A delivery, new or changed; writing it ends any lease on it.
pub const PUT_DELIVERY: &str = "INSERT INTO deliveries \
     (webhook_id, event_sequence, status, next_attempt_ms, claimed_until_ms, body) \
     VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT (webhook_id, event_sequence) DO UPDATE \
     SET status = excluded.status, next_attempt_ms = excluded.next_attempt_ms, \
     claimed_until_ms = NULL, body = excluded.body";

/// `issuebox copy`: events in sequence order, then endpoints, deliveries and the cursor.
pub const EXPORT_EVENTS: Paged = Paged {
    first: concat!(
        "SELECT ",
        event_columns!(),
        " FROM events ORDER BY seq LIMIT $1"
    ),
    next: concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
    ),
};
pub const EXPORT_WEBHOOKS: Paged = Paged {
    first: "SELECT listed, id, body FROM webhooks ORDER BY listed, id LIMIT $1",
    next: "SELECT listed, id, body FROM webhooks WHERE (listed, id) > ($1, $2) \
           ORDER BY listed, id LIMIT $3",
};
pub const EXPORT_DELIVERIES: Paged = Paged {
    first: "SELECT webhook_id, event_sequence, body FROM deliveries \
            ORDER BY webhook_id, event_sequence LIMIT $1",
    next: "SELECT webhook_id, event_sequence, body FROM deliveries \
           WHERE (webhook_id, event_sequence) > ($1, $2) \
           ORDER BY webhook_id, event_sequence LIMIT $3",
};

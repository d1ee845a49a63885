-- 0005_event_batches: the events of one writing transaction wait as one row (their columns as
-- arrays, in their order) instead of one row each: a writer inserts one row and two index
-- entries instead of one row and two entries per event, and the sequencer deletes one row per
-- transaction (src/store/postgres/events.rs). Never edit this file once released.
--
-- `txn` is random per transaction run; `written_at` the database's clock (microseconds) at the
-- statement that wrote the row, the order in which the sequencer numbers what it finds
-- committed (ties: by `txn`; within a row, by place in the arrays). Every array holds one
-- element per event; a subject or request id an event lacks is a NULL element.
CREATE TABLE IF NOT EXISTS event_batches (
    txn              bytea    NOT NULL,
    written_at       bigint   NOT NULL,
    occurred_at_ms   bigint   NOT NULL,
    kinds            text[]   NOT NULL,
    programs         text[]   NOT NULL,
    request_ids      text[]   NOT NULL,
    subject_users    text[]   NOT NULL,
    subject_accounts text[]   NOT NULL,
    subject_cards    text[]   NOT NULL,
    subject_wallets  text[]   NOT NULL,
    subject_kits     text[]   NOT NULL,
    datas            bytea[]  NOT NULL,
    CONSTRAINT event_batches_pkey PRIMARY KEY (txn),
    CONSTRAINT event_batches_not_empty CHECK (cardinality(kinds) > 0)
);
CREATE INDEX IF NOT EXISTS event_batches_order ON event_batches (written_at, txn);

-- Events that waited in the old inbox move over, one row per transaction, in their order. The
-- old table stays (CockroachDB refuses DDL after a write in one transaction): a process of the
-- previous version still running writes there, and its own sequencer numbers what it writes
-- under the same counter lock, so sequences stay gap-free while both run.
INSERT INTO event_batches (txn, written_at, occurred_at_ms, kinds, programs, request_ids,
    subject_users, subject_accounts, subject_cards, subject_wallets, subject_kits, datas)
SELECT txn, min(written_at), min(occurred_at_ms),
    array_agg(kind ORDER BY ord), array_agg(program ORDER BY ord),
    array_agg(request_id ORDER BY ord), array_agg(subject_user ORDER BY ord),
    array_agg(subject_account ORDER BY ord), array_agg(subject_card ORDER BY ord),
    array_agg(subject_wallet ORDER BY ord), array_agg(subject_kit ORDER BY ord),
    array_agg(data ORDER BY ord)
FROM event_inbox GROUP BY txn
ON CONFLICT (txn) DO NOTHING;
DELETE FROM event_inbox;

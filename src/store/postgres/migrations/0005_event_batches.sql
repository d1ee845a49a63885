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

-- `event_inbox` stays: the sequencer moves what waits there (events committed by this version's
-- predecessor, before the upgrade or by a process of it still running) into this table under the
-- counter's lock, before it numbers (src/store/postgres/events.rs, `sql::ADOPT_LEGACY_INBOX`).

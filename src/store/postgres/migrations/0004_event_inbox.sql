-- 0004_event_inbox: events wait here, unnumbered, from the commit of the transaction that wrote
-- them until a sequencer numbers them into `events` (src/store/postgres/events.rs). Writers no
-- longer touch event_counter, so they commit side by side (and share WAL flushes); the counter
-- row is locked only by the sequencer, one at a time. Never edit this file once released.
--
-- `txn` is random per transaction run and `ord` an event's place in it; `written_at` is the
-- database's clock (microseconds) at the statement that wrote the events, the order in which
-- the sequencer numbers what it finds committed (ties: by `txn`, then `ord`, so the events of
-- one transaction stay contiguous and in their order).
CREATE TABLE IF NOT EXISTS event_inbox (
    txn             bytea  NOT NULL,
    ord             bigint NOT NULL,
    written_at      bigint NOT NULL,
    occurred_at_ms  bigint NOT NULL,
    kind            text   NOT NULL,
    program         text   NOT NULL,
    request_id      text   NULL,
    subject_user    text   NULL,
    subject_account text   NULL,
    subject_card    text   NULL,
    subject_wallet  text   NULL,
    subject_kit     text   NULL,
    data            bytea  NOT NULL,
    CONSTRAINT event_inbox_pkey PRIMARY KEY (txn, ord)
);
CREATE INDEX IF NOT EXISTS event_inbox_order ON event_inbox (written_at, txn, ord);

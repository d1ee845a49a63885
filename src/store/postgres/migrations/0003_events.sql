-- 0003_events: events (the outbox), webhook endpoints, their deliveries and the fan-out cursor.
-- Never edit this file once released (see 0001_init.sql). Every statement is idempotent.
--
-- No foreign keys here: an event names entities only as text (they may be gone or copied
-- without them), and a delivery outlives its endpoint (deleted: its deliveries stay, cancelled).
--
-- The one-row tables (event_counter, event_prefix, fanout_cursor) get their row from the engine
-- when it opens the store (INSERT ... ON CONFLICT DO NOTHING, by every process, so the first one
-- wins and all agree): the prefix is random, which a migration's fixed text cannot draw.

-- The last event sequence of the store. The one row every transaction that writes events
-- updates, as its last statement before COMMIT: its lock orders those commits, so sequences are
-- gap-free and in commit order (see src/store/postgres/mod.rs for what it costs).
CREATE TABLE IF NOT EXISTS event_counter (
    id   bigint NOT NULL,
    last bigint NOT NULL,
    CONSTRAINT event_counter_pkey PRIMARY KEY (id),
    CONSTRAINT event_counter_one_row CHECK (id = 1),
    CONSTRAINT event_counter_not_negative CHECK (last >= 0)
);

-- The store's event id prefix (domain::event::event_id), drawn once.
CREATE TABLE IF NOT EXISTS event_prefix (
    id     bigint NOT NULL,
    prefix text   NOT NULL,
    CONSTRAINT event_prefix_pkey PRIMARY KEY (id),
    CONSTRAINT event_prefix_one_row CHECK (id = 1),
    CONSTRAINT event_prefix_not_empty CHECK (prefix <> '')
);

-- One row per event, its fields as columns (no codec body: the sequence `seq` and the id are given
-- by the statement that inserts the row, under the counter's lock). `kind` is the type's dotted
-- name; `data` the JSON the use case wrote. (`seq`, not `sequence`: migrate.rs's tests keep the
-- word SEQUENCE out of every migration.)
CREATE TABLE IF NOT EXISTS events (
    seq             bigint NOT NULL,
    id              text   NOT NULL,
    kind            text   NOT NULL,
    occurred_at_ms  bigint NOT NULL,
    program         text   NOT NULL,
    request_id      text   NULL,
    subject_user    text   NULL,
    subject_account text   NULL,
    subject_card    text   NULL,
    subject_wallet  text   NULL,
    subject_kit     text   NULL,
    data            bytea  NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (seq),
    CONSTRAINT events_seq_positive CHECK (seq > 0)
);
-- The history of one subject (GET /events?subject=): any of the five columns, in order.
CREATE INDEX IF NOT EXISTS events_by_user ON events (subject_user, seq)
    WHERE subject_user IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_account ON events (subject_account, seq)
    WHERE subject_account IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_card ON events (subject_card, seq)
    WHERE subject_card IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_wallet ON events (subject_wallet, seq)
    WHERE subject_wallet IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_kit ON events (subject_kit, seq)
    WHERE subject_kit IS NOT NULL;

-- Webhook endpoints. `listed` (Unix nanoseconds of the insert) keeps them oldest first, as the
-- embedded engine's list does; `body` is the codec-encoded domain::webhook::Webhook.
CREATE TABLE IF NOT EXISTS webhooks (
    id     text   NOT NULL,
    client text   NOT NULL,
    listed bigint NOT NULL,
    body   bytea  NOT NULL,
    CONSTRAINT webhooks_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS webhooks_in_order ON webhooks (listed, id);

-- Deliveries, one per (endpoint, event). `claimed_until_ms` is a process's lease on a pending
-- delivery it is attempting (Store::due_deliveries), cleared whenever the delivery is written.
CREATE TABLE IF NOT EXISTS deliveries (
    webhook_id       text   NOT NULL,
    event_sequence   bigint NOT NULL,
    status           text   NOT NULL,
    next_attempt_ms  bigint NOT NULL,
    claimed_until_ms bigint NULL,
    body             bytea  NOT NULL,
    CONSTRAINT deliveries_pkey PRIMARY KEY (webhook_id, event_sequence),
    CONSTRAINT deliveries_status CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled'))
);
-- The pending deliveries by when they are due.
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_ms)
    WHERE status = 'pending';

-- The last event whose deliveries exist (the fan-out has handled every event up to it).
CREATE TABLE IF NOT EXISTS fanout_cursor (
    id       bigint NOT NULL,
    seq bigint NOT NULL,
    CONSTRAINT fanout_cursor_pkey PRIMARY KEY (id),
    CONSTRAINT fanout_cursor_one_row CHECK (id = 1),
    CONSTRAINT fanout_cursor_not_negative CHECK (seq >= 0)
);

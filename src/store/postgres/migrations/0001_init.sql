-- 0001_init: the first schema of the PostgreSQL-protocol engine (PostgreSQL, CockroachDB,
-- YugabyteDB). Never edit this file once released: schema_migrations keeps its SHA-256 and
-- `migrate` refuses a database whose applied migration differs. Change the schema in a new file.
--
-- Every statement is idempotent (IF NOT EXISTS), so a migration that stopped halfway (on an
-- engine whose DDL is not transactional) or raced another process converges when run again.
--
-- Layout: each entity is one row whose `body` is the codec-encoded record
-- (crate::store::codec::encode of the struct in crate::domain::model); the other columns are
-- copies of the record's fields that keys, lookups and constraints need. The engine writes
-- both from the same struct in the same statement.
--
-- Numbers are bigint and kinds are text: CockroachDB's `integer` is 64 bits wide, so only
-- bigint binds to the same Rust type (i64) on every engine.
--
-- Foreign keys are checked at once (CockroachDB has no DEFERRABLE constraints), so a
-- transaction writes parents before children: users, accounts, cards, kits, wallets, pack_ids,
-- number_owners, reviews, stored_responses.
--
-- No counter rows: `SELECT count(*)` per table answers /metrics and verify, so no single row is
-- rewritten by every write.

-- A cardholder. Its id derives from (program, SSN fingerprint), and UNIQUE(program, ssn_fp)
-- holds the SSN lock across processes also for users of older stores with random ids.
CREATE TABLE IF NOT EXISTS users (
    id      text  NOT NULL,
    program text  NOT NULL,
    ssn_fp  bytea NOT NULL,
    body    bytea NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_ssn_once UNIQUE (program, ssn_fp),
    CONSTRAINT users_ssn_fp_len CHECK (octet_length(ssn_fp) = 32)
);

CREATE TABLE IF NOT EXISTS accounts (
    id      text  NOT NULL,
    program text  NOT NULL,
    user_id text  NOT NULL,
    product text  NOT NULL,
    body    bytea NOT NULL,
    CONSTRAINT accounts_pkey PRIMARY KEY (id),
    CONSTRAINT accounts_user FOREIGN KEY (user_id) REFERENCES users (id)
);

-- A card. Its id derives from its number. `open_wallets` counts its wallets that are not
-- CLOSED (the 15-wallet cap counts those, ops::attach_wallets::MAX_WALLETS): the engine adds
-- to it in the transaction that adds a wallet, and the CHECK refuses a 16th even if two
-- transactions raced past the rule.
CREATE TABLE IF NOT EXISTS cards (
    id           text   NOT NULL,
    program      text   NOT NULL,
    account_id   text   NULL,
    alias        text   NULL,
    open_wallets bigint NOT NULL DEFAULT 0,
    body         bytea  NOT NULL,
    CONSTRAINT cards_pkey PRIMARY KEY (id),
    CONSTRAINT cards_account FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT cards_wallet_cap CHECK (open_wallets BETWEEN 0 AND 15)
);
-- One alias may name several cards.
CREATE INDEX IF NOT EXISTS cards_by_alias ON cards (alias);

-- A pre-printed kit. `card_id` is set when it is assigned, and one card comes from one kit.
CREATE TABLE IF NOT EXISTS kits (
    program    text  NOT NULL,
    mapping_id text  NOT NULL,
    status     text  NOT NULL,
    card_id    text  NULL,
    body       bytea NOT NULL,
    CONSTRAINT kits_pkey PRIMARY KEY (program, mapping_id),
    CONSTRAINT kits_card FOREIGN KEY (card_id) REFERENCES cards (id),
    CONSTRAINT kits_card_once UNIQUE (card_id),
    CONSTRAINT kits_status CHECK (status IN ('available', 'reserved', 'assigned')),
    CONSTRAINT kits_assigned_has_card CHECK ((status = 'assigned') = (card_id IS NOT NULL))
);

-- A wallet. `seq` orders a card's wallets (creation order, as the sled engine keeps them): the
-- next after the card's highest. `is_open` is false once the wallet is CLOSED.
CREATE TABLE IF NOT EXISTS wallets (
    id      text    NOT NULL,
    card_id text    NOT NULL,
    seq     bigint  NOT NULL,
    is_open boolean NOT NULL,
    body    bytea   NOT NULL,
    CONSTRAINT wallets_pkey PRIMARY KEY (id),
    CONSTRAINT wallets_card FOREIGN KEY (card_id) REFERENCES cards (id),
    CONSTRAINT wallets_seq_once UNIQUE (card_id, seq),
    CONSTRAINT wallets_seq_positive CHECK (seq >= 0)
);

-- Card pack IDs, unique within a program among its cards and kits: a kit's row until it is
-- assigned, then its card's (the engine moves the row). Exactly one owner column is set.
CREATE TABLE IF NOT EXISTS pack_ids (
    program        text NOT NULL,
    pack_id        text NOT NULL,
    card_id        text NULL,
    kit_mapping_id text NULL,
    CONSTRAINT pack_ids_pkey PRIMARY KEY (program, pack_id),
    CONSTRAINT pack_ids_card FOREIGN KEY (card_id) REFERENCES cards (id),
    CONSTRAINT pack_ids_kit FOREIGN KEY (program, kit_mapping_id)
        REFERENCES kits (program, mapping_id),
    CONSTRAINT pack_ids_one_owner CHECK ((card_id IS NULL) <> (kit_mapping_id IS NULL))
);

-- Card numbers (their keyed fingerprints), each held by one card or one kit: every card and
-- every kit has its row; assigning a kit moves the row to its card.
CREATE TABLE IF NOT EXISTS number_owners (
    number_fp      bytea NOT NULL,
    card_id        text  NULL,
    kit_program    text  NULL,
    kit_mapping_id text  NULL,
    CONSTRAINT number_owners_pkey PRIMARY KEY (number_fp),
    CONSTRAINT number_owners_card FOREIGN KEY (card_id) REFERENCES cards (id),
    CONSTRAINT number_owners_kit FOREIGN KEY (kit_program, kit_mapping_id)
        REFERENCES kits (program, mapping_id),
    CONSTRAINT number_owners_one_owner CHECK (
        (card_id IS NULL) <> (kit_mapping_id IS NULL)
        AND (kit_program IS NULL) = (kit_mapping_id IS NULL)
    ),
    CONSTRAINT number_owners_fp_len CHECK (octet_length(number_fp) = 32)
);

-- OFAC reviews, one per user (keyed by the user's id, as in the sled engine). Listing and
-- start-up recovery look for the undecided ones by state.
CREATE TABLE IF NOT EXISTS reviews (
    user_id text  NOT NULL,
    program text  NOT NULL,
    state   text  NOT NULL,
    body    bytea NOT NULL,
    CONSTRAINT reviews_pkey PRIMARY KEY (user_id),
    CONSTRAINT reviews_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT reviews_state CHECK (state IN ('pending', 'clearing', 'cleared', 'declined'))
);
CREATE INDEX IF NOT EXISTS reviews_by_state ON reviews (state);

-- Stored BaaS outcomes (idempotency), one per (client, program, requestId). The sweeper
-- removes them by age; `account_id` is the account the request created or changed.
CREATE TABLE IF NOT EXISTS stored_responses (
    client     text   NOT NULL,
    program    text   NOT NULL,
    request_id text   NOT NULL,
    account_id text   NULL,
    created_at bigint NOT NULL,
    body       bytea  NOT NULL,
    CONSTRAINT stored_responses_pkey PRIMARY KEY (client, program, request_id),
    CONSTRAINT stored_responses_account FOREIGN KEY (account_id) REFERENCES accounts (id)
);
CREATE INDEX IF NOT EXISTS stored_responses_by_age ON stored_responses (created_at);

-- Claims on work in flight across processes (a requestId being answered, an SSN being
-- enrolled): inserted with ON CONFLICT DO NOTHING, deleted when the work ends; one older than
-- the claim timeout was left by a process that died, and may be taken over.
CREATE TABLE IF NOT EXISTS claims (
    kind       text   NOT NULL,
    claim_key  bytea  NOT NULL,
    holder     text   NOT NULL,
    claimed_at bigint NOT NULL,
    CONSTRAINT claims_pkey PRIMARY KEY (kind, claim_key),
    CONSTRAINT claims_kind CHECK (kind <> '')
);
CREATE INDEX IF NOT EXISTS claims_by_age ON claims (claimed_at);

-- Bearer tokens by the SHA-256 of the token. Minting lists a client's tokens oldest first;
-- the sweeper removes the expired ones.
CREATE TABLE IF NOT EXISTS tokens (
    hash       bytea  NOT NULL,
    client     text   NOT NULL,
    expires_at bigint NOT NULL,
    body       bytea  NOT NULL,
    CONSTRAINT tokens_pkey PRIMARY KEY (hash),
    CONSTRAINT tokens_hash_len CHECK (octet_length(hash) = 32)
);
CREATE INDEX IF NOT EXISTS tokens_by_client ON tokens (client, expires_at);
CREATE INDEX IF NOT EXISTS tokens_by_expiry ON tokens (expires_at);

-- Sandbox fault switches, one row per switch (ops::faults::FaultSwitches' field names), so a
-- fault set through one process applies to all. A missing row is a switch that is off.
CREATE TABLE IF NOT EXISTS faults (
    name    text    NOT NULL,
    enabled boolean NOT NULL,
    CONSTRAINT faults_pkey PRIMARY KEY (name)
);

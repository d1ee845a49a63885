-- 0007_claims_by_holder: a request's claims are given back by their holder, in one statement.
-- A request holds one or two claims (its requestId, its SSN), all under one random holder; the
-- transaction that commits its writes deleted them one statement per key (see sql::RELEASE_HOLDER
-- for why not `claim_key = ANY(...)`). With this index one statement finds them all by the whole
-- condition, and the renewal of a process's live claims (`holder = ANY(...)`) reads the index
-- instead of the table. On PostgreSQL the index of an unlogged table is unlogged too.
-- Never edit this file once released. Idempotent.
CREATE INDEX IF NOT EXISTS claims_by_holder ON claims (holder);

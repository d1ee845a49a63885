-- 0006_unlogged_claims: claims of requests in flight are written to no WAL. A claim lives for
-- one request (inserted by its own statement, deleted by the request's transaction); every
-- enrollment took one and paid a WAL flush for it, about 13% of its WAL. What a claim guards is
-- also held by constraints that are logged (one stored response per requestId, one user per
-- SSN), so losing claims loses no rule: after a crash of the database the table comes back
-- empty (the requests that held claims died with their connections), and a standby has none
-- (a promoted standby starts with every key free, as after a crash). CockroachDB and
-- YugabyteDB accept the statement and keep the table as it is (see src/store/postgres/mod.rs).
-- Never edit this file once released.
ALTER TABLE claims SET UNLOGGED;

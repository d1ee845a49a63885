-- When each token was minted (Unix nanoseconds): a client's token list is oldest first, and
-- tokens minted in one second share their expiry, so expiry alone cannot order them.
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS minted bigint NOT NULL DEFAULT 0;

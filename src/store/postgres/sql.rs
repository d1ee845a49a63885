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
pub const CLAIM: &str = "INSERT INTO claims (kind, claim_key, holder, claimed_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (kind, claim_key) DO UPDATE \
     SET holder = excluded.holder, claimed_at = excluded.claimed_at \
     WHERE claims.claimed_at < $5 RETURNING claim_key";
pub const RELEASE: &str = "DELETE FROM claims WHERE kind = $1 AND claim_key = $2 AND holder = $3";

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

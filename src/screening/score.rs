//! Scoring a query against the index: candidate names from the token keys, an upper bound per
//! name, and the token-alignment and whole-string scores described in the module above.

use super::index::{for_each_key, hash_str, Name, NS_CONCAT};
use super::normalize::Tokens;
use super::SdnList;
use std::cell::RefCell;

/// Minimum Jaro-Winkler similarity for two tokens to be aligned.
pub const TOKEN_SIM_MIN: f64 = 0.80;
/// Penalty per aligned token pair that is not identical: `P_INEXACT + slope·(1−s)`, the
/// slope being [`P_INEXACT_SLOPE_SHORT`] when the shorter token has at most
/// [`SHORT_TOKEN_CHARS`] characters (`mary`/`mark` are different names more often than
/// typos) and [`P_INEXACT_SLOPE`] otherwise.
pub const P_INEXACT: f64 = 0.02;
/// See [`P_INEXACT`].
pub const P_INEXACT_SLOPE: f64 = 0.35;
/// See [`P_INEXACT`].
pub const P_INEXACT_SLOPE_SHORT: f64 = 0.6;
/// See [`P_INEXACT`].
pub const SHORT_TOKEN_CHARS: u32 = 4;
/// Penalty for missing middle names (given-name tokens after the first of a
/// `LAST, First Middle` listed name): `min(0.04 + 0.01·k, 0.08)` for `k` of them.
pub const P_MISSING_MIDDLE: f64 = 0.04;
/// See [`P_MISSING_MIDDLE`].
pub const P_MISSING_MIDDLE_EACH: f64 = 0.01;
/// See [`P_MISSING_MIDDLE`].
pub const P_MISSING_MIDDLE_MAX: f64 = 0.08;
/// Penalty when the aligned tokens are in a different order.
pub const P_REORDERED: f64 = 0.04;
/// Penalty per other listed token left unaligned (first given name, surname tokens, tokens
/// of a listed name without a comma).
pub const P_MISSING: f64 = 0.05;
/// Further penalty per missing token beyond the first (missing middle names count once).
pub const P_MISSING_MORE: f64 = 0.04;
/// Penalty per part of a `LAST, First` listed name (surname, given names) with no token aligned.
pub const P_PART_UNMATCHED: f64 = 0.10;
/// Penalty per query token left unaligned.
pub const P_EXTRA: f64 = 0.06;
/// Penalty of the whole-string (concatenated) comparison.
pub const P_WHOLE: f64 = 0.08;
/// Highest score of a match that is not exact after normalisation.
pub const NEAR_EXACT_CAP: f64 = 0.965;

thread_local! {
    /// Per-thread scratch: per-name bitmask of the query tokens that hit it.
    static HITS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

const CONCAT_BIT: u32 = 1 << 31;

impl SdnList {
    /// Similar vocabulary tokens per query token: `(vocab id, similarity)` sorted by id.
    fn similar_vocab(&self, token: &str) -> Vec<(u32, f64)> {
        let mut ids: Vec<u32> = Vec::new();
        for_each_key(token, |key| {
            if let Some(v) = self.keys.get(&key) {
                ids.extend_from_slice(v);
            }
        });
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| {
                let t = &*self.vocab[id as usize];
                let s = if t == token {
                    1.0
                } else {
                    strsim::jaro_winkler(token, t)
                };
                (s >= TOKEN_SIM_MIN).then_some((id, s))
            })
            .collect()
    }

    pub(super) fn best_match(&self, q: &Tokens) -> (f64, Option<u32>) {
        let sims: Vec<Vec<(u32, f64)>> = q.folded.iter().map(|t| self.similar_vocab(t)).collect();
        let q_concat: &str = &q.concat;
        let q_chars: Vec<u32> = q.folded.iter().map(|t| t.chars().count() as u32).collect();
        let q_concat_chars = q_concat.chars().count();
        let n = q.folded.len();

        HITS.with(|cell| {
            let mut hits = cell.borrow_mut();
            if hits.len() < self.names.len() {
                hits.resize(self.names.len(), 0);
            }
            let mut touched: Vec<u32> = Vec::new();
            for (i, s) in sims.iter().enumerate() {
                for &(v, _) in s {
                    for &name in &self.postings[v as usize] {
                        let h = &mut hits[name as usize];
                        if *h == 0 {
                            touched.push(name);
                        }
                        *h |= 1 << i;
                    }
                }
            }
            if let Some(ids) = self.concat.get(&hash_str(NS_CONCAT, q_concat)) {
                for &name in ids {
                    let h = &mut hits[name as usize];
                    if *h == 0 {
                        touched.push(name);
                    }
                    *h |= CONCAT_BIT;
                }
            }

            // Filter, then score in order of decreasing upper bound until no remaining
            // name can reach the best score so far.
            let mut cands: Vec<(f64, u32)> = Vec::new();
            for &id in &touched {
                let mask = std::mem::take(&mut hits[id as usize]);
                let name = &self.names[id as usize];
                let h = (mask & !CONCAT_BIT).count_ones() as usize;
                let concat_hit = mask & CONCAT_BIT != 0;
                if h < 2.min(n).min(name.tokens.len()) && !concat_hit {
                    continue;
                }
                cands.push((self.upper_bound(name, n, h, concat_hit, q_concat_chars), id));
            }
            cands.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));

            let cand = Candidate {
                q,
                q_chars: &q_chars,
                q_concat,
                q_concat_chars,
                sims: &sims,
            };
            let mut best_score = 0.0f64;
            let mut best: Option<u32> = None;
            let mut scratch = Scratch::default();
            for &(bound, id) in &cands {
                if bound < best_score {
                    break;
                }
                let name = &self.names[id as usize];
                let score = self.score_name(&cand, name, best_score, &mut scratch);
                let better = match best {
                    None => score > 0.0,
                    Some(b) => {
                        let b_alt = self.names[b as usize].alt_type.is_some();
                        score > best_score
                            || (score == best_score && (b_alt, b) > (name.alt_type.is_some(), id))
                    }
                };
                if better {
                    best_score = score;
                    best = Some(id);
                }
            }
            (best_score, best)
        })
    }

    /// An upper bound of [`Self::score_name`] for a name `h` of whose query tokens hit.
    fn upper_bound(&self, name: &Name, n: usize, h: usize, concat_hit: bool, q_len: usize) -> f64 {
        let m = name.tokens.len();
        let a = h.min(m);
        if a == n && a == m {
            return 1.0;
        }
        if concat_hit {
            return 1.0;
        }
        if a < 2 {
            return NEAR_EXACT_CAP;
        }
        let k = m - a;
        let middles = (name.given_mask & !1).count_ones() as usize;
        let k_mid = k.min(middles) as u32;
        let k_other = (k as u32) - k_mid;
        let token = 1.0 - missing_penalty(k_mid, k_other) - P_EXTRA * (n - a) as f64;
        let whole = jaro_winkler_max(q_len, name.concat_chars as usize) - P_WHOLE;
        token.max(whole).min(NEAR_EXACT_CAP)
    }

    fn score_name(&self, c: &Candidate<'_>, name: &Name, best: f64, sc: &mut Scratch) -> f64 {
        // The same letters in the same order are the same name, however they are spaced or
        // punctuated (`Sad-dam Hus sein`).
        if *name.concat == *c.q_concat {
            return 1.0;
        }
        let n = c.q.folded.len();
        let m = name.tokens.len();
        sc.pairs.clear();
        for (i, s) in c.sims.iter().enumerate() {
            for (j, &v) in name.tokens.iter().enumerate() {
                if let Ok(k) = s.binary_search_by_key(&v, |&(id, _)| id) {
                    sc.pairs.push((s[k].1, i as u32, j as u32));
                }
            }
        }
        // Ties: prefer a listed token whose absence would cost more (not a middle name),
        // then the closest position.
        let middle = name.given_mask & !1;
        let is_middle = |j: u32| middle & (1 << j) != 0;
        sc.pairs.sort_unstable_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| is_middle(a.2).cmp(&is_middle(b.2)))
                .then_with(|| a.1.abs_diff(a.2).cmp(&b.1.abs_diff(b.2)))
                .then_with(|| a.1.cmp(&b.1))
                .then_with(|| a.2.cmp(&b.2))
        });
        let mut used_q = 0u64;
        let mut used_c = 0u64;
        sc.aligned.clear();
        for &(s, i, j) in &sc.pairs {
            if used_q & (1 << i) == 0 && used_c & (1 << j) == 0 {
                used_q |= 1 << i;
                used_c |= 1 << j;
                sc.aligned.push((i, j, s));
            }
        }
        let mut num = 0.0;
        let mut den = 0.0;
        let mut inexact = 0.0;
        let mut q_cov = 0u32;
        let mut c_cov = 0u32;
        for &(i, j, s) in &sc.aligned {
            let vc = name.tokens[j as usize] as usize;
            let w = f64::from(c.q_chars[i as usize] + self.vocab_chars[vc]);
            q_cov += c.q_chars[i as usize];
            c_cov += self.vocab_chars[vc];
            num += s * w;
            den += w;
            if s < 1.0 {
                let shortest = c.q_chars[i as usize].min(self.vocab_chars[vc]);
                let slope = if shortest <= SHORT_TOKEN_CHARS {
                    P_INEXACT_SLOPE_SHORT
                } else {
                    P_INEXACT_SLOPE
                };
                inexact += P_INEXACT + slope * (1.0 - s);
            }
        }
        let a = sc.aligned.len();
        let exact_tokens = inexact == 0.0;
        sc.aligned.sort_unstable_by_key(|&(i, _, _)| i);
        let reordered = sc.aligned.windows(2).any(|w| w[1].1 < w[0].1);
        if a == n && a == m && exact_tokens && !reordered {
            return 1.0;
        }
        let mut token = 0.0;
        if a > 0 {
            let quality = num / den;
            let unaligned = !used_c & ((1u64 << m) - 1);
            let k_mid = (unaligned & middle).count_ones();
            let k_other = (unaligned & !middle).count_ones();
            let parts_unmatched = [name.given_mask, name.surname_mask]
                .iter()
                .filter(|&&part| part != 0 && part & used_c == 0)
                .count();
            token = quality
                - inexact
                - if reordered { P_REORDERED } else { 0.0 }
                - missing_penalty(k_mid, k_other)
                - P_PART_UNMATCHED * parts_unmatched as f64
                - P_EXTRA * (n - a) as f64;
            if a == 1 && (n > 1 || m > 1) {
                let q_total: u32 = c.q_chars.iter().sum();
                let c_total: u32 = name
                    .tokens
                    .iter()
                    .map(|&v| self.vocab_chars[v as usize])
                    .sum();
                let cov_q = f64::from(q_cov) / f64::from(q_total.max(1));
                let cov_c = f64::from(c_cov) / f64::from(c_total.max(1));
                token = token.min(quality * cov_q.min(cov_c));
            }
        }
        let mut score = token;
        // The whole-string comparison can only help when it could beat both the token
        // score and the best so far; bound Jaro-Winkler by the length ratio first.
        let floor = score.max(best);
        if floor < NEAR_EXACT_CAP
            && jaro_winkler_max(c.q_concat_chars, name.concat_chars as usize) - P_WHOLE > floor
        {
            let whole = strsim::jaro_winkler(c.q_concat, &name.concat) - P_WHOLE;
            score = score.max(whole);
        }
        score.clamp(0.0, NEAR_EXACT_CAP)
    }
}

/// Penalty for `k_mid` missing middle names and `k_other` other missing listed tokens.
pub(super) fn missing_penalty(k_mid: u32, k_other: u32) -> f64 {
    let middle = if k_mid > 0 {
        (P_MISSING_MIDDLE + P_MISSING_MIDDLE_EACH * f64::from(k_mid)).min(P_MISSING_MIDDLE_MAX)
    } else {
        0.0
    };
    middle
        + P_MISSING * f64::from(k_other)
        + P_MISSING_MORE * f64::from((k_other + k_mid.min(1)).saturating_sub(1))
}

/// The highest Jaro-Winkler similarity two strings of these lengths (chars) can have.
fn jaro_winkler_max(la: usize, lb: usize) -> f64 {
    if la == 0 || lb == 0 {
        return 0.0;
    }
    let (la, lb) = (la as f64, lb as f64);
    let short = la.min(lb);
    let jaro = (short / la + short / lb + 1.0) / 3.0;
    jaro + 0.4 * (1.0 - jaro)
}

struct Candidate<'a> {
    q: &'a Tokens,
    q_chars: &'a [u32],
    q_concat: &'a str,
    q_concat_chars: usize,
    sims: &'a [Vec<(u32, f64)>],
}

#[derive(Default)]
struct Scratch {
    pairs: Vec<(f64, u32, u32)>,
    aligned: Vec<(u32, u32, f64)>,
}

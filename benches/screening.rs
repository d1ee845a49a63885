//! Screening benches: a deterministic synthetic list of 20,000 individuals in Treasury's
//! sdn.csv layout, and the real full list in `data/ofac/full/`.
//!
//! `cargo bench --bench screening`; the median (p50) per screening is in
//! `target/criterion/<group>/<case>/new/estimates.json`.
//!
//! Before timing, every individual name of the full list (primary and alt) is disguised
//! (look-alike letters of other scripts, accents, case, spaces and punctuation inside tokens;
//! `tests/support/evasion.rs`) and screened: the run fails if any disguise is screened milder
//! than the listed spelling. `ISSUEBOX_EVASION_ROUNDS` (default 3) disguises per name.

#[path = "../tests/support/evasion.rs"]
mod evasion;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use issuebox::screening::SdnList;
use std::path::Path;

const SYNTHETIC_NAMES: usize = 20_000;

/// xorshift64*: deterministic, no rand crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, table: &[&'a str]) -> &'a str {
        table[(self.next() % table.len() as u64) as usize]
    }
}

const ONSETS: &[&str] = &[
    "b", "d", "f", "g", "h", "k", "l", "m", "n", "r", "s", "t", "v", "z", "ch", "sh", "kh", "br",
    "dr", "gr", "tr", "al", "ab", "",
];
const NUCLEI: &[&str] = &["a", "e", "i", "o", "u", "aa", "ei", "ou", "ia", "y"];
const CODAS: &[&str] = &["", "", "n", "r", "d", "m", "l", "s", "z", "q", "f", "h"];

fn word(rng: &mut Rng, syllables: u64) -> String {
    let mut w = String::new();
    for _ in 0..syllables {
        w.push_str(rng.pick(ONSETS));
        w.push_str(rng.pick(NUCLEI));
        w.push_str(rng.pick(CODAS));
    }
    if w.len() < 2 {
        w.push_str("an");
    }
    w
}

fn capitalised(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `n` individuals as Treasury's sdn.csv (CRLF, quoted, `-0- ` for empty, trailing 0x1A),
/// returning the bytes and the listed names.
fn synthetic_sdn(n: usize, seed: u64) -> (Vec<u8>, Vec<(String, String, String)>) {
    let mut rng = Rng(seed | 1);
    let mut out = String::with_capacity(n * 120);
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let last_tokens = 1 + rng.next() % 2;
        let last: Vec<String> = (0..last_tokens)
            .map(|_| {
                let s = 2 + rng.next() % 2;
                word(&mut rng, s).to_uppercase()
            })
            .collect();
        let s = 2 + rng.next() % 2;
        let first = capitalised(&word(&mut rng, s));
        let middle = if rng.next() & 1 == 0 {
            let s = 1 + rng.next() % 2;
            capitalised(&word(&mut rng, s))
        } else {
            String::new()
        };
        let last = last.join(" ");
        let given = if middle.is_empty() {
            first.clone()
        } else {
            format!("{first} {middle}")
        };
        out.push_str(&format!(
            "{},\"{last}, {given}\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB {} Jan 19{:02}; nationality Nowhere, synthetic.\"\r\n",
            100_000 + i,
            1 + rng.next() % 28,
            rng.next() % 100
        ));
        names.push((first, middle, last));
    }
    out.push('\u{1a}');
    (out.into_bytes(), names)
}

fn bench_list(c: &mut Criterion, group: &str, list: &SdnList, cases: &[(&str, [&str; 3])]) {
    let mut g = c.benchmark_group(group);
    for (case, [first, middle, last]) in cases {
        let middle = (!middle.is_empty()).then_some(*middle);
        let s = list.screen_person(first, middle, last);
        eprintln!(
            "{group}/{case}: {first} {middle:?} {last} -> {:.4} {:?}",
            s.score,
            s.matched.map(|m| m.matched_name)
        );
        g.bench_function(*case, |b| {
            b.iter(|| {
                list.screen_person(black_box(first), black_box(middle), black_box(last))
                    .score
            })
        });
    }
    g.finish();
}

fn synthetic(c: &mut Criterion) {
    let (sdn, names) = synthetic_sdn(SYNTHETIC_NAMES, 0x5eed_1234_abcd_0001);
    let list = SdnList::from_csv(&sdn, None).expect("synthetic list parses");
    assert_eq!(list.names(), SYNTHETIC_NAMES);
    let (first, middle, last) = &names[SYNTHETIC_NAMES / 2];
    // Near match: a one-letter substitution in the surname.
    let mut near_last: Vec<char> = last.chars().collect();
    let mid = near_last.len() / 2;
    near_last[mid] = if near_last[mid] == 'X' { 'Q' } else { 'X' };
    let near_last: String = near_last.into_iter().collect();
    bench_list(
        c,
        "screening_synthetic_20k",
        &list,
        &[
            ("clean", ["John", "Michael", "Smith"]),
            ("near", [first, middle, &near_last]),
            ("exact", [first, middle, last]),
        ],
    );
}

fn real(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac/full/sdn.csv");
    let list = SdnList::load(Path::new(path)).expect("data/ofac/full/sdn.csv loads");
    bench_list(
        c,
        "screening_real",
        &list,
        &[
            ("clean", ["John", "Michael", "Smith"]),
            ("near", ["Gilberto", "Jose", "Rodriguez Orejuala"]),
            ("exact", ["Gilberto", "Jose", "Rodriguez Orejuela"]),
            ("common_tokens", ["Muhammad", "Ali", "Hassan"]),
        ],
    );
}

fn load(c: &mut Criterion) {
    let sdn = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/ofac/full/sdn.csv"
    ))
    .expect("sdn.csv");
    let alt = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/ofac/full/alt.csv"
    ))
    .expect("alt.csv");
    let mut g = c.benchmark_group("screening_load");
    g.sample_size(10);
    g.bench_function("real_full_list", |b| {
        b.iter(|| SdnList::from_csv(black_box(&sdn), Some(black_box(&alt))).map(|l| l.names()))
    });
    g.finish();
}

/// Every name of the full list, disguised: none may be screened milder than as listed.
fn evasion_on_the_full_list(_: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac/full/sdn.csv");
    let list = SdnList::load(Path::new(path)).expect("data/ofac/full/sdn.csv loads");
    let look = evasion::LookAlikes::new();
    let rounds: u64 = std::env::var("ISSUEBOX_EVASION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let (review, decline) = (0.88, 0.97);
    let mut rng = evasion::Rng(0x005e_ed0f_e7a5_1011);
    let (mut screened, mut milder) = (0u64, Vec::new());
    let started = std::time::Instant::now();
    for name in list.listed_names_in_natural_order() {
        let listed = evasion::outcome(list.screen_name(&name).score, review, decline);
        for _ in 0..rounds {
            let d = evasion::disguise(&name, &look, &mut rng);
            let got = evasion::outcome(list.screen_name(&d).score, review, decline);
            screened += 1;
            if got < listed {
                milder.push(format!("{name:?} as {d:?}: {got} < {listed}"));
            }
        }
    }
    eprintln!(
        "evasion: {screened} disguises of {} listed names ({} look-alike characters) in {:.1} s: {} milder",
        list.names(),
        look.len(),
        started.elapsed().as_secs_f64(),
        milder.len()
    );
    assert!(milder.is_empty(), "milder than listed: {milder:#?}");
}

criterion_group!(benches, evasion_on_the_full_list, synthetic, real, load);
criterion_main!(benches);

//! Unit tests of the screening API: loading both lists, parsing, and the scores of known names.

use super::index::skeleton;
use super::*;

const SAMPLE_SDN: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac/sdn.csv"));
const SAMPLE_ALT: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac/alt.csv"));
const FULL_SDN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac/full/sdn.csv");

const REVIEW: f64 = 0.88;
const DECLINE: f64 = 0.97;

fn sample() -> &'static SdnList {
    static SAMPLE: std::sync::OnceLock<SdnList> = std::sync::OnceLock::new();
    SAMPLE.get_or_init(|| SdnList::from_csv(SAMPLE_SDN, Some(SAMPLE_ALT)).unwrap())
}

fn full() -> &'static SdnList {
    static FULL: std::sync::OnceLock<SdnList> = std::sync::OnceLock::new();
    FULL.get_or_init(|| SdnList::load(Path::new(FULL_SDN)).unwrap())
}

fn lists() -> [(&'static str, &'static SdnList); 2] {
    [("sample", sample()), ("full", full())]
}

/// A fresh directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "issuebox-screening-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn person(l: &SdnList, first: &str, middle: Option<&str>, last: &str) -> Screening {
    let s = l.screen_person(first, middle, last);
    eprintln!(
        "{first:?} {middle:?} {last:?}: {:.4} -> {:?}",
        s.score,
        s.matched.as_ref().map(|m| &m.matched_name)
    );
    s
}

fn matched_ent(s: &Screening) -> Option<u32> {
    s.matched.as_ref().map(|m| m.ent_num)
}

const SYNTH_SDN: &str = "10,\"DOE, John \"\"Jack\"\" Quincy\",\"individual\",\"SDGT] [SYRIA\",\"Chief, Ops\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 1 Jan 1970; a.k.a. \"\"JJ\"\", a.k.a. 'Q'.\"\r\n\
        11,\"ACME TRADING, LTD.\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\
        12,\"ROE, Richard\",\"individual\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"line one\r\nline two\"\r\n";
const SYNTH_ALT: &str = "10,1,\"aka\",\"DOE, Jack\",-0- \r\n11,2,\"aka\",\"ACME\",-0- \r\n12,3,\"fka\",\"ROWE, Dick\",\"a, b\"\r\n99,4,\"aka\",\"NOBODY, Known\",-0- \r\n";

#[test]
fn loads_the_sample_and_the_full_list() {
    let s = sample();
    assert_eq!(s.individuals(), 35);
    assert!(s.names() > s.individuals());
    let f = full();
    assert_eq!(f.individuals(), 4620);
    assert!(f.names() > 10_000, "{}", f.names());
    let v = f.version();
    assert!(v.starts_with("sdn-") && v.ends_with("-4620"), "{v}");
    assert_eq!(v.len(), "sdn-".len() + 12 + "-4620".len());
    // The version is a function of the bytes.
    let again = SdnList::from_csv(SAMPLE_SDN, Some(SAMPLE_ALT)).unwrap();
    assert_eq!(again.version(), s.version());
    let no_alt = SdnList::from_csv(SAMPLE_SDN, None).unwrap();
    assert_ne!(no_alt.version(), s.version());
    assert_eq!(no_alt.names(), no_alt.individuals());
}

#[test]
fn splits_quoted_fields_escapes_and_empty_markers() {
    let l = SdnList::from_csv(SYNTH_SDN.as_bytes(), Some(SYNTH_ALT.as_bytes())).unwrap();
    // Entities are not indexed; the alt of an unknown ent_num is ignored.
    assert_eq!(l.individuals(), 2);
    assert_eq!(l.names(), 4);
    let s = l.screen_person("John", Some("Jack Quincy"), "Doe");
    assert_eq!(s.score, 1.0);
    let m = s.matched.unwrap();
    assert_eq!(m.ent_num, 10);
    assert_eq!(m.sdn_name, "DOE, John \"Jack\" Quincy");
    assert_eq!(m.program, "SDGT] [SYRIA");
    assert_eq!(m.sdn_type, "individual");
    assert_eq!(m.alt_type, None);
    let s = l.screen_name("Jack Doe");
    assert_eq!(s.score, 1.0);
    assert_eq!(s.matched.as_ref().unwrap().alt_type.as_deref(), Some("aka"));
    // `-0- ` is empty: ROE has no program.
    let s = l.screen_person("Richard", None, "Roe");
    assert_eq!(s.matched.as_ref().unwrap().program, "");
    let s = l.screen_name("Dick Rowe");
    assert_eq!(s.matched.as_ref().unwrap().alt_type.as_deref(), Some("fka"));
    // An entity's name does not match.
    assert!(l.screen_name("Acme Trading Ltd").matched.is_none());
}

#[test]
fn tolerates_lf_trailing_lines_bom_and_eof_byte() {
    let crlf = SdnList::from_csv(SAMPLE_SDN, Some(SAMPLE_ALT)).unwrap();
    let lf_sdn = String::from_utf8_lossy(SAMPLE_SDN).replace("\r\n", "\n");
    let lf_alt = String::from_utf8_lossy(SAMPLE_ALT).replace("\r\n", "\n");
    let lf = SdnList::from_csv(lf_sdn.as_bytes(), Some(lf_alt.as_bytes())).unwrap();
    assert_eq!(lf.individuals(), crlf.individuals());
    assert_eq!(lf.names(), crlf.names());
    // The published files end with CRLF then a DOS EOF byte (0x1A).
    assert_eq!(SAMPLE_SDN.last(), Some(&0x1a));
    let trimmed = lf_sdn.trim_end_matches('\u{1a}');
    for variant in [
        trimmed.to_string(),
        format!("{trimmed}\n"),
        format!("{trimmed}\r\n\r\n"),
        trimmed.trim_end().to_string(),
        format!("\u{feff}{trimmed}"),
    ] {
        let l = SdnList::from_csv(variant.as_bytes(), Some(lf_alt.as_bytes())).unwrap();
        assert_eq!(l.individuals(), crlf.individuals());
        assert_eq!(l.names(), crlf.names());
    }
    let a = crlf.screen_person("Gilberto", Some("Jose"), "Rodriguez Orejuela");
    let b = lf.screen_person("Gilberto", Some("Jose"), "Rodriguez Orejuela");
    assert_eq!((a.score, matched_ent(&a)), (b.score, matched_ent(&b)));
}

#[test]
fn load_reads_alt_when_present_and_tolerates_its_absence() {
    let dir = temp_dir("load");
    let sdn = dir.join("sdn.csv");
    std::fs::write(&sdn, SAMPLE_SDN).unwrap();
    let without = SdnList::load(&sdn).unwrap();
    assert_eq!(without.individuals(), 35);
    assert_eq!(without.names(), 35);
    std::fs::write(dir.join("alt.csv"), SAMPLE_ALT).unwrap();
    let with = SdnList::load(&sdn).unwrap();
    assert_eq!(with.names(), sample().names());
    assert_eq!(with.version(), sample().version());
    std::fs::remove_dir_all(&dir).unwrap();
    match SdnList::load(&dir.join("sdn.csv")) {
        Err(ScreeningError::Io(path, _)) => assert_eq!(path, dir.join("sdn.csv")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_lines_are_parse_errors_with_line_numbers() {
    let ok = "1,\"A, B\",\"individual\",\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
    let ok2 = ok.replacen('1', "2", 1);
    let cases: [(String, usize, &str); 5] = [
        (
            format!("{ok}{ok2}3,\"C, D\",\"individual\"\r\n"),
            3,
            "fields",
        ),
        (format!("{ok}\r\nx{}", &ok[1..]), 3, "ent_num"),
        (
            format!("{ok}2,\"C, D,individual,-0- \r\n3,4\r\n"),
            2,
            "unterminated",
        ),
        (
            format!("{ok}2,\"C\"D,\"individual\"\r\n"),
            2,
            "closing quote",
        ),
        (format!("{ok}{ok}"), 2, "duplicate"),
    ];
    for (input, line, what) in cases {
        match SdnList::from_csv(input.as_bytes(), None) {
            Err(e @ ScreeningError::Parse { .. }) => {
                let ScreeningError::Parse {
                    file,
                    line: l,
                    reason,
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!((file.as_str(), *l), ("sdn.csv", line), "{e}");
                assert!(reason.contains(what), "{e}");
                assert!(e.to_string().contains(&format!("line {line}")));
            }
            other => panic!("{input:?}: {other:?}"),
        }
    }
    let alt = "1,1,\"aka\",\"E, F\",-0- \n1,2,\"aka\"\n";
    match SdnList::from_csv(ok.as_bytes(), Some(alt.as_bytes())) {
        Err(ScreeningError::Parse { file, line, .. }) => {
            assert_eq!((file.as_str(), line), ("alt.csv", 2))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_list_and_degenerate_input_do_not_panic() {
    let e = SdnList::empty();
    assert_eq!((e.individuals(), e.names()), (0, 0));
    let s = e.screen_person("Gilberto", Some("Jose"), "Rodriguez Orejuela");
    assert_eq!(s.score, 0.0);
    assert!(s.matched.is_none());
    assert_eq!(s.list_version, e.version());
    let huge = "Gilberto ".repeat(100_000);
    let weird = [
        "",
        " ",
        ",,,,--''",
        "\u{301}\u{301}\u{301}",
        "\0\u{1a}\r\n\t",
        "𝔊𝔦𝔩𝔟𝔢𝔯𝔱𝔬 😀 中文 العربية",
        "ﬁ ß Æ Ø Ł İ ǅ",
        &huge,
    ];
    for l in [e, SdnList::from_csv(SAMPLE_SDN, Some(SAMPLE_ALT)).unwrap()] {
        for w in weird {
            for s in [
                l.screen_name(w),
                l.screen_person(w, Some(w), w),
                l.screen_person(w, None, "Rodriguez Orejuela"),
            ] {
                assert!((0.0..=1.0).contains(&s.score), "{w:?}: {}", s.score);
                assert_eq!(s.matched.is_some(), s.score > 0.0);
            }
        }
    }
    assert_eq!(sample().screen_name("").score, 0.0);
}

#[test]
fn list_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SdnList>();
    check::<std::sync::Arc<SdnList>>();
    let l = std::sync::Arc::new(SdnList::from_csv(SAMPLE_SDN, Some(SAMPLE_ALT)).unwrap());
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let l = l.clone();
            std::thread::spawn(move || l.screen_person("Nicolas", None, "Maduro Moros").score)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 1.0);
    }
}

#[test]
fn listed_names_split_and_skeletons() {
    assert_eq!(
        split_listed("DELOS REYES, Feliciano Semborio, Jr."),
        Some(("DELOS REYES", " Feliciano Semborio, Jr."))
    );
    assert_eq!(split_listed("ABU ZUBAYDAH"), None);
    assert_eq!(skeleton("muhammad"), skeleton("mohammed"));
}

// Required outcome 1: exact names (any case / punctuation) score >= 0.97 (1.0).
#[test]
fn exact_names_decline() {
    for (tag, l) in lists() {
        eprintln!("[{tag}]");
        for (first, middle, last, ent) in [
            ("Gilberto", Some("Jose"), "Rodriguez Orejuela", 4107),
            ("GILBERTO", Some("jose"), "rodriguez-orejuela", 4107),
            ("gilberto.", Some(" JOSE "), "Rodríguez Orejuela", 4107),
            ("Nicolas", None, "Maduro Moros", 22790),
            ("Robert", Some("Gabriel"), "Mugabe", 7480),
            ("Feliciano", Some("Semborio Jr."), "Delos Reyes", 10851),
            ("Zakariya", None, "Essabar", 7267),
            ("Usama", Some("bin Muhammad bin Awad"), "Bin Ladin", 6365),
        ] {
            let s = person(l, first, middle, last);
            // Rodríguez carries a diacritic the listed name lacks: the same name.
            assert_eq!(s.score, 1.0, "{first} {middle:?} {last}");
            assert_eq!(matched_ent(&s), Some(ent));
            assert_eq!(s.list_version, l.version());
        }
        let s = l.screen_person("Zakariya", None, "Essabar");
        let m = s.matched.unwrap();
        assert_eq!(
            (m.matched_name.as_str(), m.alt_type.as_deref()),
            ("ESSABAR, Zakariya", Some("aka"))
        );
        assert_eq!(m.sdn_name, "ESSABAR, Zakarya");
        let s = l.screen_name("Abu Zubaydah");
        assert_eq!((s.score, matched_ent(&s)), (1.0, Some(6905)));
        let s = l.screen_name("Gilberto Jose Rodriguez Orejuela");
        assert_eq!((s.score, matched_ent(&s)), (1.0, Some(4107)));
    }
}

fn assert_review(l: &SdnList, first: &str, middle: Option<&str>, last: &str, ent: u32) -> f64 {
    let s = person(l, first, middle, last);
    assert!(
        (REVIEW..DECLINE).contains(&s.score),
        "{first} {middle:?} {last}: {}",
        s.score
    );
    assert_eq!(matched_ent(&s), Some(ent), "{first} {middle:?} {last}");
    s.score
}

// Required outcome 2a: first and last swapped.
#[test]
fn swapped_order_is_review() {
    for (tag, l) in lists() {
        eprintln!("[{tag}]");
        assert_review(l, "Rodriguez Orejuela", Some("Jose"), "Gilberto", 4107);
        assert_review(l, "Maduro Moros", None, "Nicolas", 22790);
        assert_review(l, "Mugabe", Some("Gabriel"), "Robert", 7480);
        assert_review(l, "Guzman Loera", None, "Joaquin", 6861);
        let s = l.screen_name("Rodriguez Orejuela Gilberto Jose");
        assert!((REVIEW..DECLINE).contains(&s.score));
    }
}

// Required outcome 2b: middle name missing.
#[test]
fn missing_middle_name_is_review() {
    for (tag, l) in lists() {
        eprintln!("[{tag}]");
        assert_review(l, "Gilberto", None, "Rodriguez Orejuela", 4107);
        assert_review(l, "Robert", None, "Mugabe", 7480);
        assert_review(l, "Miguel", None, "Rodriguez Orejuela", 4108);
        assert_review(l, "Manuel", None, "Noriega", 1572);
    }
}

// A diacritic the listed spelling does not have is the same name (issue #20: accents must
// not make a listed name milder).
#[test]
fn diacritic_difference_is_the_same_name() {
    for (tag, l) in lists() {
        eprintln!("[{tag}]");
        for (first, middle, last, ent) in [
            ("Gilberto", Some("José"), "Rodriguez Orejuela", 4107),
            ("Nicolás", None, "Maduro Moros", 22790),
            ("Gilberto", Some("Jose\u{301}"), "Rodriguez Orejuela", 4107),
            ("Gílbérto", Some("Jósé"), "Ródríguéz Óréjuélá", 4107),
        ] {
            let s = person(l, first, middle, last);
            assert_eq!(s.score, 1.0, "{first} {middle:?} {last}");
            assert_eq!(matched_ent(&s), Some(ent));
        }
        // An accent on a name with another defect stays in review.
        assert_review(l, "Joaquín", None, "Guzmán Loeras", 6861);
    }
}

// Issue #20: look-alike letters of other scripts, spaces and punctuation inside tokens.
#[test]
fn look_alikes_spaces_and_punctuation_are_the_same_name() {
    for (tag, l) in lists() {
        eprintln!("[{tag}]");
        for (first, middle, last) in [
            ("Nicolаs", None, "Mаduro Moros"), // Cyrillic а
            ("NICOLAS", None, "MADURO MΟRΟS"), // Greek capital omicron
            ("Nico-las", None, "Ma.duro  Mo'ros"),
            ("Ｎｉｃｏｌａｓ", None, "Maduro Moros"), // full width
        ] {
            let s = person(l, first, middle, last);
            assert_eq!(s.score, 1.0, "{first} {middle:?} {last}");
            assert_eq!(matched_ent(&s), Some(22790));
        }
    }
}

// Required outcome 2d: a one-letter typo in a long name.
#[test]
fn one_letter_typo_is_review() {
    for (tag, l) in lists() {
        eprintln!("[{tag}]");
        assert_review(l, "Gilberto", Some("Jose"), "Rodriguez Orejuala", 4107);
        assert_review(l, "Gilberto", Some("Jose"), "Rodrigues Orejuela", 4107);
        assert_review(l, "Gilbreto", Some("Jose"), "Rodriguez Orejuela", 4107);
        assert_review(l, "Nicolas", None, "Maduro Morso", 22790);
        assert_review(l, "Robert", Some("Gabriel"), "Mugable", 7480);
    }
}

// Required outcome 3: common clean names stay below review.
#[test]
fn common_names_are_clean() {
    let names = [
        ("John", None, "Smith"),
        ("Jane", None, "Doe"),
        ("Mary", None, "Johnson"),
        ("Robert", None, "Brown"),
        ("Emily", None, "Davis"),
        ("Michael", None, "Miller"),
        ("Sarah", None, "Wilson"),
        ("David", None, "Anderson"),
        ("Linda", None, "Taylor"),
        ("James", None, "Thomas"),
        ("Jennifer", None, "Moore"),
        ("William", None, "Jackson"),
        ("Elizabeth", None, "White"),
        ("Richard", None, "Harris"),
        ("Patricia", None, "Clark"),
        ("Joseph", None, "Lewis"),
        ("Barbara", None, "Robinson"),
        ("Thomas", None, "Walker"),
        ("Susan", None, "Young"),
        ("Charles", None, "Allen"),
        ("Jessica", None, "King"),
        ("Christopher", None, "Wright"),
        ("Karen", None, "Scott"),
        ("Daniel", None, "Hill"),
        ("Nancy", None, "Green"),
        ("Matthew", None, "Adams"),
        ("Lisa", None, "Nelson"),
        ("Anthony", None, "Baker"),
        ("John", Some("Michael"), "Smith"),
        ("Mary", Some("Ann"), "Taylor"),
        ("Robert", Some("James"), "Miller"),
        ("Margaret", None, "Mitchell"),
    ];
    for (tag, l) in lists() {
        let mut worst = (0.0, String::new());
        for (first, middle, last) in names {
            let s = l.screen_person(first, middle, last);
            assert!(
                s.score < REVIEW,
                "[{tag}] {first} {middle:?} {last}: {} {:?}",
                s.score,
                s.matched
            );
            if s.score > worst.0 {
                worst = (
                    s.score,
                    format!(
                        "{first} {middle:?} {last} -> {:?}",
                        s.matched.map(|m| m.matched_name)
                    ),
                );
            }
        }
        eprintln!("[{tag}] worst common name: {:.4} {}", worst.0, worst.1);
    }
}

#[test]
fn whole_string_rescues_tokenisation_differences() {
    // Joined tokens are the same letters: the same name.
    let s = person(sample(), "Abuzubaydah", None, "");
    assert_eq!((s.score, matched_ent(&s)), (1.0, Some(6905)));
}

#[test]
fn partial_evidence_stays_low() {
    for (_, l) in lists() {
        // A single shared surname is not enough.
        assert!(person(l, "", None, "Mugabe").score < REVIEW);
        assert!(person(l, "Peter", None, "Mugabe").score < REVIEW);
        // Only the given names, no surname.
        assert!(person(l, "Gilberto", Some("Jose"), "Smith").score < REVIEW);
    }
}

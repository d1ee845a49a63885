//! Issue #20, class 1: a listed name written with look-alike letters of other scripts, accents,
//! another case, extra spaces or punctuation inside its tokens is screened no milder than the
//! listed spelling itself. Generated over every individual name (primary and alt) of the shipped
//! list; the full list is checked the same way by `cargo bench --bench screening`.

#[path = "support/evasion.rs"]
mod evasion;

use evasion::{disguise, outcome, LookAlikes, Rng};
use issuebox::screening::SdnList;
use proptest::prelude::*;
use std::sync::OnceLock;

const REVIEW: f64 = 0.88;
const DECLINE: f64 = 0.97;

/// The shipped list, each listed name with the outcome of its own spelling, the look-alikes.
type Fixture = (SdnList, Vec<(String, u8)>, LookAlikes);

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let list = SdnList::load(std::path::Path::new("data/ofac/sdn.csv")).expect("shipped list");
        let names = list
            .listed_names_in_natural_order()
            .map(|n| {
                let o = outcome(list.screen_name(&n).score, REVIEW, DECLINE);
                (n, o)
            })
            .collect();
        (list, names, LookAlikes::new())
    })
}

#[test]
fn every_listed_spelling_declines_and_look_alikes_exist() {
    let (list, names, look) = fixture();
    assert!(names.len() > 100, "{} names", names.len());
    assert!(
        names.iter().all(|(_, o)| *o == 2),
        "a listed spelling is not declined"
    );
    assert!(look.len() > 300, "only {} look-alikes", look.len());
    // The example of the issue: one Latin letter replaced by its Cyrillic look-alike.
    let s = list.screen_person("Nicolаs", None, "Maduro Moros");
    assert_eq!(s.score, 1.0);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("ISSUEBOX_EVASION_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_disguised_listed_name_is_screened_no_milder(seed in any::<u64>()) {
        let (list, names, look) = fixture();
        let mut rng = Rng(seed | 1);
        for (name, listed_outcome) in names {
            let disguised = disguise(name, look, &mut rng);
            let got = outcome(list.screen_name(&disguised).score, REVIEW, DECLINE);
            prop_assert!(
                got >= *listed_outcome,
                "{name:?} disguised as {disguised:?} ({:?}) screened {got}, listed {listed_outcome}",
                disguised.chars().map(|c| format!("U+{:04X}", c as u32)).collect::<Vec<_>>()
            );
        }
    }
}

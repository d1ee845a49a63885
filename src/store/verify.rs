//! What `issuebox verify` reports, whichever engine it walked.

/// What verify found.
#[derive(Debug, Default)]
pub struct Report {
    pub counts: Vec<(&'static str, u64)>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, n) in &self.counts {
            writeln!(f, "{name:>12}: {n}")?;
        }
        if self.problems.is_empty() {
            writeln!(f, "store is clean")
        } else {
            for p in &self.problems {
                writeln!(f, "problem: {p}")?;
            }
            writeln!(f, "store is damaged: {} problem(s)", self.problems.len())
        }
    }
}

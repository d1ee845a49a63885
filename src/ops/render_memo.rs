//! Response bodies rendered once and reused while what they were rendered from is unchanged.
//!
//! A read still reads the store on every request (so nothing here can be stale, on any engine,
//! and authentication, scopes and program checks run as before); what it skips is turning the
//! records into JSON again. A memo entry is the complete input of a pure rendering function and
//! its output: a body is reused only when the input read now is equal to the one it was
//! rendered from, so it is byte for byte what rendering now would produce.
//!
//! - **GET account** ([`Renders::accounts`]): keyed by account id; the input is the account, its
//!   user and its cards as read (the product name comes from the configuration, which does not
//!   change while the process runs).
//! - **Replays** ([`Renders::replays`]): keyed by the stored response's key; the input is the
//!   stored outcome's compact bytes, whose rendering is the replayed body.
//!
//! Memory is bounded: each memo holds at most [`MAX_ENTRIES`] entries and starts over when full.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;

/// Entries kept at most in each memo (a few KiB each).
pub const MAX_ENTRIES: usize = 8_192;

/// A bounded map from a key to the body rendered from an input.
pub struct RenderMemo<I> {
    entries: RwLock<HashMap<Vec<u8>, Entry<I>>>,
    max: usize,
}

struct Entry<I> {
    input: I,
    body: Arc<[u8]>,
}

impl<I: PartialEq + Clone> RenderMemo<I> {
    pub fn new(max: usize) -> Self {
        RenderMemo {
            entries: RwLock::new(HashMap::new()),
            max,
        }
    }

    /// The body rendered from `input`: the one kept under `key` when it was rendered from an
    /// equal input, else `render()`'s, which is then kept (replacing the key's older one).
    pub fn body<E>(
        &self,
        key: &[u8],
        input: &I,
        render: impl FnOnce(&I) -> Result<Vec<u8>, E>,
    ) -> Result<Arc<[u8]>, E> {
        if let Some(e) = self.entries.read().get(key) {
            if e.input == *input {
                return Ok(e.body.clone());
            }
        }
        let body: Arc<[u8]> = render(input)?.into();
        let mut m = self.entries.write();
        if m.len() >= self.max && !m.contains_key(key) {
            m.clear();
        }
        m.insert(
            key.to_vec(),
            Entry {
                input: input.clone(),
                body: body.clone(),
            },
        );
        Ok(body)
    }

    /// Entries kept now.
    pub fn len(&self) -> usize {
        self.entries.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The memos of one server.
pub struct Renders {
    pub accounts: RenderMemo<super::baas_view::AccountParts>,
    pub replays: RenderMemo<Vec<u8>>,
}

impl Default for Renders {
    fn default() -> Self {
        Renders {
            accounts: RenderMemo::new(MAX_ENTRIES),
            replays: RenderMemo::new(MAX_ENTRIES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn render(calls: &Cell<u32>) -> impl Fn(&String) -> Result<Vec<u8>, ()> + '_ {
        move |s| {
            calls.set(calls.get() + 1);
            Ok(format!("<{s}>").into_bytes())
        }
    }

    #[test]
    fn a_body_is_reused_only_for_an_equal_input() {
        let m = RenderMemo::new(4);
        let calls = Cell::new(0);
        let r = render(&calls);
        assert_eq!(&*m.body(b"k", &"a".to_string(), &r).unwrap(), b"<a>");
        assert_eq!(&*m.body(b"k", &"a".to_string(), &r).unwrap(), b"<a>");
        assert_eq!(calls.get(), 1, "rendered once");
        // The same key with another input (the record changed): rendered anew, and kept.
        assert_eq!(&*m.body(b"k", &"b".to_string(), &r).unwrap(), b"<b>");
        assert_eq!(&*m.body(b"k", &"b".to_string(), &r).unwrap(), b"<b>");
        assert_eq!(calls.get(), 2);
        // Another key never answers with this key's body.
        assert_eq!(&*m.body(b"j", &"b".to_string(), &r).unwrap(), b"<b>");
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn a_failed_rendering_keeps_nothing() {
        let m: RenderMemo<String> = RenderMemo::new(4);
        assert_eq!(m.body(b"k", &"a".to_string(), |_| Err("no")), Err("no"));
        assert!(m.is_empty());
    }

    #[test]
    fn memory_stays_bounded() {
        let m = RenderMemo::new(8);
        let calls = Cell::new(0);
        let r = render(&calls);
        for i in 0..100 {
            m.body(format!("k{i}").as_bytes(), &i.to_string(), &r)
                .unwrap();
            assert!(m.len() <= 8);
        }
    }
}

//! The events of one use case's transaction, gathered while it makes its changes and written
//! with them ([`Outbox::write`]): the change and its events are one atomic write. Each event's
//! `data` is the entity as its dialect shows it after the change, masked.
//!
//! An outbox is built inside the transaction's closure, so a closure that runs again builds
//! its events again from what it read, and a refused one writes none.

use crate::domain::event::{EventType, NewEvent, Subjects};
use crate::domain::model::{Card, Kit, Review, User, Wallet};
use crate::store::{Tx, TxResult};
use crate::wire::baas_view::{user_view, AccountView, Outcome};
use crate::wire::device_view::{DeviceOut, WalletOut};
use crate::wire::sandbox::{kit_view, review_view};
use serde::Serialize;

pub struct Outbox {
    program: String,
    request_id: Option<String>,
    events: Vec<NewEvent>,
}

/// The JSON of a view (views are plain data: serialising one cannot fail).
fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("views serialise")
}

impl Outbox {
    /// The events of a request to `program`, with its `X-GD-RequestId` if it had one.
    pub fn new(program: &str, request_id: Option<&str>) -> Outbox {
        Outbox {
            program: program.to_string(),
            request_id: request_id.map(str::to_string),
            events: Vec::new(),
        }
    }

    pub fn push(&mut self, kind: EventType, subjects: Subjects, data: Vec<u8>) {
        self.events.push(NewEvent {
            kind,
            program: self.program.clone(),
            request_id: self.request_id.clone(),
            subjects,
            data,
        });
    }

    /// An `enrollment.*` event: its data is the enrollment's answer.
    pub fn enrollment(
        &mut self,
        kind: EventType,
        outcome: &Outcome,
        user: Option<&str>,
        account: Option<&str>,
        kit: Option<&str>,
    ) {
        self.enrollment_rendered(kind, outcome.json(), user, account, kit);
    }

    /// [`enrollment`](Self::enrollment) with the answer rendered already (`Outcome::json`).
    pub fn enrollment_rendered(
        &mut self,
        kind: EventType,
        outcome_json: Vec<u8>,
        user: Option<&str>,
        account: Option<&str>,
        kit: Option<&str>,
    ) {
        let subjects = Subjects {
            user: user.map(str::to_string),
            account: account.map(str::to_string),
            kit: kit.map(str::to_string),
            ..Subjects::default()
        };
        self.push(kind, subjects, outcome_json);
    }

    /// Like [`enrollment`](Self::enrollment), under the request id of the enrollment it
    /// settles (a completion after an OFAC review answers that request's stored outcome).
    pub fn settled_enrollment(
        &mut self,
        kind: EventType,
        outcome: &Outcome,
        request_id: &str,
        user: &str,
        account: &str,
    ) {
        self.enrollment(kind, outcome, Some(user), Some(account), None);
        if let Some(e) = self.events.last_mut() {
            e.request_id = Some(request_id.to_string());
        }
    }

    pub fn user(&mut self, kind: EventType, u: &User) {
        let subjects = Subjects {
            user: Some(u.id.clone()),
            ..Subjects::default()
        };
        self.push(kind, subjects, json(&user_view(u)));
    }

    /// An account event; answers the view's JSON it carries (for a caller that shows the same
    /// view again, rendered once).
    pub fn account(&mut self, kind: EventType, view: &AccountView, user: &str) -> &[u8] {
        let subjects = Subjects {
            user: Some(user.to_string()),
            account: Some(view.account_identifier.clone()),
            ..Subjects::default()
        };
        self.push(kind, subjects, json(view));
        &self.events.last().expect("pushed above").data
    }

    /// A card event; `user` is its holder when the use case knows it.
    pub fn card(&mut self, kind: EventType, c: &Card, user: Option<&str>) {
        let subjects = Subjects {
            user: user.map(str::to_string),
            account: c.account_id.clone(),
            card: Some(c.id.clone()),
            ..Subjects::default()
        };
        self.push(kind, subjects, json(&DeviceOut::from(c)));
    }

    /// A kit event; `account` is the account it was reserved for or issued into, if any.
    pub fn kit(&mut self, kind: EventType, k: &Kit, account: Option<&str>) {
        let subjects = Subjects {
            account: account.map(str::to_string),
            card: k.card_id.clone(),
            kit: Some(k.mapping_id.clone()),
            ..Subjects::default()
        };
        self.push(kind, subjects, json(&kit_view(k)));
    }

    pub fn wallet(&mut self, kind: EventType, w: &Wallet, account: Option<&str>) {
        let subjects = Subjects {
            account: account.map(str::to_string),
            card: Some(w.card_id.clone()),
            wallet: Some(w.id.clone()),
            ..Subjects::default()
        };
        self.push(kind, subjects, json(&WalletOut::from(w)));
    }

    pub fn review(&mut self, kind: EventType, r: &Review) {
        let subjects = Subjects {
            user: Some(r.user_id.clone()),
            ..Subjects::default()
        };
        self.push(kind, subjects, json(&review_view(r)));
    }

    /// Writes the gathered events in the transaction.
    pub fn write(&self, tx: &Tx) -> TxResult<()> {
        tx.put_events(&self.events)
    }
}

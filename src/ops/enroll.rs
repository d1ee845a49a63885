//! `POST /programs/{programCode}/enrollments`: new enrollment, instant issue and upgrade, with
//! idempotency by requestId. One request's writes — entities, index entries, counters and the
//! stored response — are one transaction.

use super::baas_view::{product_name, StoredOutcome};
use super::cards::{build_card, mint_from, NewCard, Numbers, Premint};
use super::idempotency;
use super::outbox::Outbox;
use super::Ctx;
use crate::config::{ClientConfig, Program};
use crate::domain::enrollment::{Enrollment, NewEnrollment};
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::event::EventType;
use crate::domain::ids::{digits, new_id, user_id_for};
use crate::domain::model::*;
use crate::domain::rules;
use crate::store::claims::Claim;
use crate::store::{Reader, Tx, TxResult};
use crate::vault::SealedPan;
use crate::wire::baas_view::{account_view_of, Outcome};
use crate::wire::enrollment::EnrollmentRequest;
use crate::wire::enrollment_check;

/// The answer to a BaaS enrollment (or a read of one): its JSON body, and whether it is a
/// replay. Every such answer is a business outcome, whatever its code: the dialect answers it
/// with 200; refusals are errors.
#[derive(Debug)]
pub struct Reply {
    pub body: Vec<u8>,
    pub replayed: bool,
}

/// Handles one enrollment request (all three uses), idempotently.
pub async fn enroll(
    ctx: &Ctx,
    client: &ClientConfig,
    program_code: &str,
    request_id: &str,
    body: &[u8],
) -> DomainResult<Reply> {
    let program = ctx.config.program(program_code).ok_or(E::ProgramUnknown)?;
    super::auth::check_program(client, program_code)?;
    ctx.store.refuse_if_busy()?;
    let value = crate::domain::json::parse_value(body)?;
    let digest = idempotency::digest(&value);
    let key = ResponseKey::new(&client.id, program_code, request_id);
    // The SSN's fingerprint serves the in-flight claim and, for a new enrollment, the store.
    // Read from the parsed value, so that a replay is answered without deserialising the body
    // into a request: for any body that deserialises, it is the request's `ssn()`.
    let ssn_fp = idempotency::ssn_of(&value).map(|s| ctx.vault.fingerprint(b"ssn", s));
    let claimed = idempotency::claim(ctx, &key, program_code, ssn_fp.as_ref());
    // A malformed body answers its 400 before a 4091 (or a store error), as when the body was
    // deserialised before the claim.
    let (claim, stored) = match claimed {
        Ok(c) => c,
        Err(e) => {
            crate::domain::json::from_value::<EnrollmentRequest>(value)?;
            return Err(e);
        }
    };
    // The same body as the stored answer's: it was deserialised and validated when first
    // answered, so the replay needs neither again.
    if let Some(s) = stored.as_ref().filter(|s| s.request_digest == digest) {
        return super::baas_reads::replay(ctx, &key, s);
    }
    let req: EnrollmentRequest = crate::domain::json::from_value(value)?;
    let upgrade_account = req
        .is_upgrade()
        .then(|| req.account_identifier.clone().unwrap_or_default());
    if let Some(stored) = stored {
        // Another body under this requestId: a reuse (4092, or 4505).
        idempotency::check_stored(&stored, &digest, upgrade_account.as_deref())?;
    }
    let stored = StoredResponse {
        request_digest: digest,
        upgrade_account,
        status: 200, // always (a field of the stored format; see StoredResponse)
        body: Vec::new(),
        account_id: None,
        created_at: now(),
    };
    let reply = match enrollment_check::validate(&req, |code| program.product_rules(code))? {
        Enrollment::New(e) => enroll_new(ctx, program, &key, &claim, stored, &e, ssn_fp).await,
        Enrollment::Upgrade(u) => {
            super::upgrade::upgrade(ctx, program, &key, &claim, stored, &u).await
        }
    }?;
    // The transaction that answered also gave the claim back (see `Tx::release_claim`).
    claim.released_by_commit();
    Ok(reply)
}

/// The screening outcome of a person, as the enrollment applies it.
enum Screen {
    Clear,
    Review(Review),
    Decline,
}

fn screen(ctx: &Ctx, program: &str, e: &NewEnrollment) -> Screen {
    let p = &e.person;
    let s = ctx
        .sdn
        .screen_person(&p.first_name, p.middle_name.as_deref(), &p.last_name);
    let cfg = &ctx.config.screening;
    if s.score >= cfg.decline_threshold {
        Screen::Decline
    } else if s.score >= cfg.review_threshold {
        Screen::Review(Review {
            user_id: String::new(),
            program: program.to_string(),
            state: ReviewState::Pending,
            score: s.score,
            matched_name: s.matched.as_ref().map(|m| m.matched_name.clone()),
            matched_ent_num: s.matched.as_ref().map(|m| m.ent_num),
            list_version: s.list_version,
            account_ids: Vec::new(),
            created_at: now(),
            decided_at: None,
        })
    } else {
        Screen::Clear
    }
}

async fn enroll_new(
    ctx: &Ctx,
    program: &Program,
    key: &ResponseKey,
    claim: &Claim,
    stored: StoredResponse,
    e: &NewEnrollment,
    ssn_fp: Option<[u8; 32]>,
) -> DomainResult<Reply> {
    if e.kit.is_some() && ctx.faults.get().package_lookup {
        return Err(E::PackageLookup);
    }
    let screen = screen(ctx, &program.code, e);
    // Validation made the SSN required, so the caller's fingerprint is of this same SSN.
    let ssn_fp = ssn_fp.unwrap_or_else(|| ctx.vault.fingerprint(b"ssn", &e.person.ssn));
    let today = time::OffsetDateTime::now_utc().date();
    let under_age = rules::age_on(e.person.date_of_birth, today) < 18;
    // The numbers of the cards a cleared enrollment issues: a virtual card unless a kit's card,
    // and a physical one when asked for.
    let numbers = if under_age || !matches!(screen, Screen::Clear) {
        0
    } else {
        usize::from(e.kit.is_none()) + usize::from(e.physical_card)
    };
    let premint = Premint::new(ctx, program, numbers);
    let ids = AccountIds {
        id: new_id(),
        reference_number: digits(12),
    };
    let candidates = premint.fingerprints();
    let body = ctx
        .store
        .commit(|tx| {
            tx.release_claim(claim)?;
            tx.will_read_number_owners(&candidates);
            new_in_tx(
                ctx,
                tx,
                program,
                key,
                &stored,
                e,
                &ssn_fp,
                under_age,
                &screen,
                &ids,
                &mut premint.numbers(),
            )
        })
        .await?;
    Ok(Reply {
        body,
        replayed: false,
    })
}

/// The identifiers a new account takes, drawn before the transaction (which may run more than
/// once, and must take the same ones each time).
struct AccountIds {
    id: String,
    reference_number: String,
}

#[allow(clippy::too_many_arguments)]
fn new_in_tx(
    ctx: &Ctx,
    tx: &Tx,
    program: &Program,
    key: &ResponseKey,
    stored: &StoredResponse,
    e: &NewEnrollment,
    ssn_fp: &[u8; 32],
    under_age: bool,
    screen: &Screen,
    ids: &AccountIds,
    numbers: &mut Numbers,
) -> TxResult<Vec<u8>> {
    // Store-dependent 400 rows, in the contract's order.
    let kit = match &e.kit {
        None => None,
        Some(m) => {
            let kit = tx
                .kit(&program.code, m)?
                .filter(|k| k.product == e.product)
                .ok_or(E::PackageNotFound)?;
            if kit.status != KitStatus::Available {
                return Err(E::PackageInUse.into());
            }
            Some(kit)
        }
    };
    if e.terms_refused {
        return Err(E::TermsNotAccepted.into());
    }
    let existing_user = tx.user_by_ssn(&program.code, ssn_fp)?;
    if let Some(u) = &existing_user {
        if !rules::same_person(&e.person, u) {
            return Err(E::ProfileChanged.into());
        }
        if holds_open(tx, u, &e.product, None)? {
            return Err(E::SsnHoldsAccount.into());
        }
    }
    // Screening follows the person: a holder whose review is pending or declined decides a new
    // enrollment of the same SSN, whatever the new name scores.
    let person_screen;
    let screen = match &existing_user {
        Some(u) => {
            person_screen = person_screen_of(tx, u, screen)?;
            person_screen.as_ref().unwrap_or(screen)
        }
        None => screen,
    };
    let mut out = Outbox::new(&program.code, Some(&key.request_id));
    // Stores the outcome, writes the events; answers the response body (`body`, the outcome's
    // JSON as its enrollment event carries it: rendered once for both).
    let finish = |outcome: Outcome,
                  body: Vec<u8>,
                  account_id: Option<String>,
                  out: &Outbox|
     -> TxResult<Vec<u8>> {
        let mut s = stored.clone();
        s.body = outcome.stored();
        s.account_id = account_id;
        tx.put_response(key, &s, true)?;
        out.write(tx)?;
        Ok(body)
    };
    // Business outcomes (answered 200 like a success): under-age, then OFAC.
    let declined = |outcome: Outcome, mut out: Outbox| {
        let user = existing_user.as_ref().map(|u| u.id.as_str());
        let body = outcome.json();
        out.enrollment_rendered(
            EventType::EnrollmentDeclined,
            body.clone(),
            user,
            None,
            None,
        );
        finish(outcome, body, None, &out)
    };
    if under_age {
        let outcome = Outcome::new(2, 40, "User birthdate under-age required for KYC", None);
        return declined(outcome, out);
    }
    if let Screen::Decline = screen {
        let outcome = Outcome::new(2, 32, "OFAC Hard Decline", None);
        return declined(outcome, out);
    }
    let at = now();
    let pending = matches!(screen, Screen::Review(_));
    let account_id = ids.id.clone();
    let new_user = existing_user.is_none();
    let mut user = existing_user.unwrap_or_else(|| new_user_record(program, e, ssn_fp, at));
    user.account_ids.push(account_id.clone());
    if pending {
        user.status = UserStatus::Pending;
        user.kyc = KycState::ofac_pending();
    }
    let product = program.product(&e.product).ok_or(E::ProductUnknown)?;
    let mut account = Account {
        id: account_id.clone(),
        reference_number: ids.reference_number.clone(),
        program: program.code.clone(),
        product: e.product.clone(),
        account_type: product.account_type,
        status: AccountStatus::Normal,
        status_reasons: vec!["healthy".into()],
        status_changed_at: at,
        direct_deposit: None,
        user_id: user.id.clone(),
        card_ids: Vec::new(),
        pending: None,
        created_at: at,
    };
    let mut issued = Issued::default();
    let mut reserved_kit = None;
    let mut opened_review = None;
    if let Screen::Review(review) = screen {
        account.status = AccountStatus::Pending;
        account.status_reasons = vec!["verificationNeeded".into()];
        account.pending = Some(PendingIssue {
            response_key: key.clone(),
            kit_mapping_id: e.kit.clone(),
            physical_card: e.physical_card,
            alias: e.alias.clone(),
        });
        if let Some(mut k) = kit {
            k.status = KitStatus::Reserved;
            k.reserved_for = Some(account_id.clone());
            tx.update_kit(&k)?;
            reserved_kit = Some(k);
        }
        let existing = tx.review(&user.id)?;
        let mut r = match &existing {
            Some(r) if r.state == ReviewState::Pending => r.clone(),
            _ => Review {
                user_id: user.id.clone(),
                ..review.clone()
            },
        };
        r.account_ids.push(account_id.clone());
        tx.put_review(&r, existing.is_none())?;
        if existing.is_none() {
            opened_review = Some(r);
        }
    } else {
        issued = issue_cards(
            ctx,
            tx,
            &mut account,
            kit,
            e.alias.clone(),
            e.physical_card,
            at,
            numbers,
        )?;
    }
    tx.put_user(&user, new_user)?;
    tx.put_account(&account, true)?;
    let view = account_view_of(
        product_name(&ctx.config, &account),
        &account,
        Some(&user),
        &issued.cards,
    );
    if new_user {
        out.user(EventType::UserCreated, &user);
    }
    // The view is rendered once: the account's event, then inside the outcome's JSON.
    let view_json = out
        .account(EventType::AccountCreated, &view, &user.id)
        .to_vec();
    cards_issued(&mut out, &issued, &user.id);
    if let Some(k) = &reserved_kit {
        out.kit(EventType::KitReserved, k, Some(&account_id));
    }
    if let Some(r) = &opened_review {
        out.review(EventType::OfacReviewOpened, r);
    }
    let (code, sub, desc, kind) = if pending {
        (
            1,
            31,
            "OFAC Partial Match",
            EventType::EnrollmentPendingReview,
        )
    } else {
        (0, 0, "Success", EventType::EnrollmentCompleted)
    };
    let outcome = Outcome::new(code, sub, desc, Some(view));
    let body = outcome.json_with_rendered_account(&view_json);
    out.enrollment_rendered(
        kind,
        body.clone(),
        Some(&user.id),
        Some(&account_id),
        e.kit.as_deref(),
    );
    finish(outcome, body, Some(account_id), &out)
}

/// `card.issued` for each new card, then `kit.assigned` for the kit one was issued from.
pub(crate) fn cards_issued(out: &mut Outbox, issued: &Issued, user: &str) {
    for c in &issued.cards {
        out.card(EventType::CardIssued, c, Some(user));
    }
    if let Some(k) = &issued.kit {
        let account = issued.cards.first().and_then(|c| c.account_id.as_deref());
        out.kit(EventType::KitAssigned, k, account);
    }
}

/// True when `user` holds a non-closed account of `product` other than `except`.
pub(crate) fn holds_open(
    tx: &Tx,
    user: &User,
    product: &str,
    except: Option<&str>,
) -> TxResult<bool> {
    for a in user
        .account_ids
        .iter()
        .filter(|a| Some(a.as_str()) != except)
    {
        if let Some(acc) = tx.account(a)? {
            if acc.product == product && acc.status != AccountStatus::Closed {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The screening outcome an existing holder imposes, or `None` to keep the name's own:
/// pending review → the enrollment joins that review; declined → declined; cleared by a
/// review → clear unless the name is now a hard decline.
fn person_screen_of(tx: &Tx, user: &User, by_name: &Screen) -> TxResult<Option<Screen>> {
    let Some(review) = tx.review(&user.id)? else {
        return Ok(None);
    };
    Ok(match review.state {
        ReviewState::Pending => Some(Screen::Review(review)),
        ReviewState::Declined => Some(Screen::Decline),
        ReviewState::Clearing | ReviewState::Cleared => match by_name {
            Screen::Review(_) => Some(Screen::Clear),
            Screen::Clear | Screen::Decline => None,
        },
    })
}

fn new_user_record(program: &Program, e: &NewEnrollment, ssn_fp: &[u8; 32], at: i64) -> User {
    let p = &e.person;
    User {
        id: user_id_for(&program.code, ssn_fp),
        program: program.code.clone(),
        first_name: p.first_name.clone(),
        middle_name: p.middle_name.clone(),
        last_name: p.last_name.clone(),
        date_of_birth: p.date_of_birth_text.clone(),
        ssn_fingerprint: *ssn_fp,
        ssn_last4: p.ssn[p.ssn.len() - 4..].to_string(),
        email: p.email.clone(),
        phones: p.phones.clone(),
        addresses: p.addresses.clone(),
        status: UserStatus::Active,
        kyc: KycState::passed(),
        account_ids: Vec::new(),
        created_at: at,
    }
}

/// The cards an enrollment issued, and the kit the first was issued from (instant issue).
#[derive(Default)]
pub(crate) struct Issued {
    pub cards: Vec<Card>,
    pub kit: Option<Kit>,
}

/// Issues the cards of an enrollment into `account` (inside the transaction): the kit's card
/// for instant issue or a virtual card, and a physical card beside it when asked for. New
/// numbers are the next free candidates of `numbers`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn issue_cards(
    ctx: &Ctx,
    tx: &Tx,
    account: &mut Account,
    kit: Option<Kit>,
    alias: Option<String>,
    physical: bool,
    at: i64,
    numbers: &mut Numbers,
) -> TxResult<Issued> {
    let card = |pan: SealedPan, form, status, alias, pack_id| {
        build_card(
            NewCard {
                program: account.program.clone(),
                product: account.product.clone(),
                account_id: Some(account.id.clone()),
                card_type: CardType::Primary,
                status,
                form,
                alias,
                pack_id,
            },
            pan,
            at,
        )
    };
    let mut cards = Vec::new();
    let mut assigned = None;
    match kit {
        Some(mut k) => {
            let d = card(
                k.pan.clone(),
                FormFactor::Emv,
                CardStatus::Normal,
                alias,
                Some(k.pack_id.clone()),
            );
            k.status = KitStatus::Assigned;
            k.card_id = Some(d.id.clone());
            k.reserved_for = None;
            tx.update_kit(&k)?;
            assigned = Some(k);
            cards.push(d);
        }
        None => {
            cards.push(card(
                mint_from(ctx, tx, numbers)?.1,
                FormFactor::Virtual,
                CardStatus::Normal,
                alias,
                None,
            ));
        }
    }
    if physical {
        cards.push(card(
            mint_from(ctx, tx, numbers)?.1,
            FormFactor::Emv,
            CardStatus::NotActivated,
            None,
            None,
        ));
    }
    for d in &cards {
        tx.insert_card(d)?;
        account.card_ids.push(d.id.clone());
    }
    Ok(Issued {
        cards,
        kit: assigned,
    })
}

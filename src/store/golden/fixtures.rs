//! The golden fixtures: one fully populated sample of every stored record, every variant of
//! every stored enum somewhere, options both `Some` and `None`.

use crate::config::{AccountType, WalletKind, WalletUsage};
use crate::domain::model::*;
use crate::ops::baas_view::StoredOutcome;
use crate::vault::SealedPan;
use crate::wire::baas_view::{
    AccountHolderView, AccountView, DirectDepositView, KycStateView, Outcome,
    PaymentInstrumentView, UserView,
};

pub(super) fn fp(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| seed.wrapping_add(i as u8))
}

pub(super) fn s(v: &str) -> String {
    v.to_string()
}

fn sealed(seed: u8) -> SealedPan {
    SealedPan {
        nonce: std::array::from_fn(|i| seed ^ i as u8),
        ciphertext: (0..32)
            .map(|i| seed.wrapping_mul(7).wrapping_add(i))
            .collect(),
        fingerprint: fp(seed),
        first_digits: s("40000099"),
        last4: s("1234"),
        length: 16,
    }
}

pub(super) fn users() -> Vec<(&'static str, User)> {
    let full = User {
        id: s("uHg3Jx0aZq9LmN2bVc8dEf"),
        program: s("SANDBOX"),
        first_name: s("Émily"),
        middle_name: Some(s("Rose")),
        last_name: s("Carter"),
        date_of_birth: s("1990-01-31"),
        ssn_fingerprint: fp(1),
        ssn_last4: s("6789"),
        email: s("emily@example.com"),
        phones: vec![
            Phone {
                number: s("+15551234567"),
                kind: Some(s("mobile")),
                is_default: true,
            },
            Phone {
                number: s("+15557654321"),
                kind: None,
                is_default: false,
            },
        ],
        addresses: vec![
            Address {
                kind: s("home"),
                is_default: true,
                line1: s("1 Main St"),
                line2: Some(s("Apt 2")),
                city: s("Springfield"),
                state: s("IL"),
                zip: s("62701"),
            },
            Address {
                kind: s("mailing"),
                is_default: false,
                line1: s("PO Box 9"),
                line2: None,
                city: s("Chicago"),
                state: s("IL"),
                zip: s("60601"),
            },
        ],
        status: UserStatus::Active,
        kyc: KycState::passed(),
        account_ids: vec![s("A1"), s("A2")],
        created_at: 1_700_000_000,
    };
    let pending = User {
        id: s("uPending000000000000002"),
        middle_name: None,
        phones: Vec::new(),
        addresses: Vec::new(),
        status: UserStatus::Pending,
        kyc: KycState::ofac_pending(),
        account_ids: vec![s("A3")],
        created_at: -1,
        ..full.clone()
    };
    let closed = User {
        id: s("uClosed0000000000000003"),
        status: UserStatus::Closed,
        kyc: KycState::ofac_declined(),
        account_ids: Vec::new(),
        created_at: i64::MAX,
        ..full.clone()
    };
    vec![("active", full), ("pending", pending), ("closed", closed)]
}

pub(super) fn accounts() -> Vec<(&'static str, Account)> {
    let normal = Account {
        id: s("aNormal000000000000001"),
        reference_number: s("1000000001"),
        program: s("SANDBOX"),
        product: s("GPR1"),
        account_type: AccountType::Gpr,
        status: AccountStatus::Normal,
        status_reasons: Vec::new(),
        status_changed_at: 1_700_000_000,
        direct_deposit: Some(DirectDeposit {
            routing_number: s("123456789"),
            account_number: s("000111222333"),
        }),
        user_id: s("uHg3Jx0aZq9LmN2bVc8dEf"),
        card_ids: vec![s("D1"), s("D2")],
        pending: None,
        created_at: 1_700_000_000,
    };
    let pending = Account {
        id: s("aPending00000000000002"),
        account_type: AccountType::Dda,
        product: s("DDA1"),
        status: AccountStatus::Pending,
        status_reasons: vec![s("ofacPending")],
        direct_deposit: None,
        card_ids: Vec::new(),
        pending: Some(PendingIssue {
            response_key: ResponseKey::new("sandbox", "SANDBOX", "req-1"),
            kit_mapping_id: Some(s("MAP-0001")),
            physical_card: true,
            alias: Some(s("my card")),
        }),
        ..normal.clone()
    };
    let closed = Account {
        id: s("aClosed000000000000003"),
        status: AccountStatus::Closed,
        status_reasons: vec![s("ofacDeclined"), s("upgraded")],
        pending: Some(PendingIssue {
            response_key: ResponseKey::new("c", "P", "r"),
            kit_mapping_id: None,
            physical_card: false,
            alias: None,
        }),
        ..normal.clone()
    };
    vec![("normal", normal), ("pending", pending), ("closed", closed)]
}

pub(super) fn devices() -> Vec<(&'static str, Card)> {
    let labels = [
        "normal",
        "not_activated",
        "blocked",
        "lost",
        "stolen",
        "replaced",
        "upgrade",
        "cancelled",
        "expired",
    ];
    let statuses = [
        CardStatus::Normal,
        CardStatus::NotActivated,
        CardStatus::Blocked,
        CardStatus::Lost,
        CardStatus::Stolen,
        CardStatus::Replaced,
        CardStatus::Upgrade,
        CardStatus::Cancelled,
        CardStatus::Expired,
    ];
    let types = [CardType::Primary, CardType::Supplementary, CardType::AddOn];
    let forms = [FormFactor::Virtual, FormFactor::Emv];
    labels
        .into_iter()
        .zip(statuses)
        .enumerate()
        .map(|(i, (label, status))| {
            let some = i % 2 == 0;
            (
                label,
                Card {
                    id: format!("dCard{i:017}"),
                    program: s("SANDBOX"),
                    product: s("GPR1"),
                    account_id: some.then(|| format!("aAccount{i:014}")),
                    card_type: types[i % 3],
                    status,
                    form: forms[i % 2],
                    pan: sealed(i as u8),
                    alias: some.then(|| s("travel")),
                    pack_id: (!some).then(|| format!("PACK{i:08}")),
                    issued_at: 1_700_000_000 + i as i64,
                    activated_at: some.then_some(1_700_000_100),
                    status_changed_at: 1_700_000_200,
                },
            )
        })
        .collect()
}

pub(super) fn wallets() -> Vec<(&'static str, Wallet)> {
    let normal = Wallet {
        id: s("wNormal000000000000001"),
        number: s("9000000000000001"),
        card_id: s("dCard00000000000000000"),
        program: s("SANDBOX"),
        plan: s("WUSD"),
        promotion: Some(s("PROMO1")),
        currency: s("USD"),
        usage: WalletUsage::Open,
        kind: WalletKind::Default,
        status: WalletStatus::Normal,
        created_at: 1_700_000_000,
    };
    let inactive = Wallet {
        id: s("wInactive0000000000002"),
        plan: s("WMCG"),
        promotion: None,
        usage: WalletUsage::Closed,
        kind: WalletKind::Mcg,
        status: WalletStatus::Inactive,
        ..normal.clone()
    };
    let closed = Wallet {
        id: s("wClosed000000000000003"),
        plan: s("WMER"),
        currency: s("EUR"),
        usage: WalletUsage::Closed,
        kind: WalletKind::Merchant,
        status: WalletStatus::Closed,
        ..normal.clone()
    };
    vec![
        ("normal_open_default", normal),
        ("inactive_closed_mcg", inactive),
        ("closed_closed_merchant", closed),
    ]
}

pub(super) fn kits() -> Vec<(&'static str, Kit)> {
    let available = Kit {
        mapping_id: s("MAP-0001"),
        program: s("SANDBOX"),
        product: s("GPR1"),
        pack_id: s("PACK00000001"),
        pan: sealed(40),
        status: KitStatus::Available,
        card_id: None,
        reserved_for: None,
        created_at: 1_700_000_000,
    };
    let reserved = Kit {
        mapping_id: s("MAP-0002"),
        pack_id: s("PACK00000002"),
        pan: sealed(41),
        status: KitStatus::Reserved,
        reserved_for: Some(s("sandbox\0SANDBOX\0req-2")),
        ..available.clone()
    };
    let assigned = Kit {
        mapping_id: s("MAP-0003"),
        pack_id: s("PACK00000003"),
        pan: sealed(42),
        status: KitStatus::Assigned,
        card_id: Some(s("dCard00000000000000042")),
        ..available.clone()
    };
    vec![
        ("available", available),
        ("reserved", reserved),
        ("assigned", assigned),
    ]
}

pub(super) fn reviews() -> Vec<(&'static str, Review)> {
    let pending = Review {
        user_id: s("uPending000000000000002"),
        program: s("SANDBOX"),
        state: ReviewState::Pending,
        score: 0.912_345_678_9,
        matched_name: Some(s("JOHN DOE")),
        matched_ent_num: Some(36_123),
        list_version: s("sdn-2024-01-01-abcdef"),
        account_ids: vec![s("aPending00000000000002")],
        created_at: 1_700_000_000,
        decided_at: None,
    };
    let clearing = Review {
        state: ReviewState::Clearing,
        decided_at: Some(1_700_000_500),
        ..pending.clone()
    };
    let cleared = Review {
        state: ReviewState::Cleared,
        matched_name: None,
        matched_ent_num: None,
        score: 0.85,
        account_ids: Vec::new(),
        decided_at: Some(1_700_000_600),
        ..pending.clone()
    };
    let declined = Review {
        state: ReviewState::Declined,
        score: 1.0,
        account_ids: vec![s("A1"), s("A2")],
        decided_at: Some(1_700_000_700),
        ..pending.clone()
    };
    vec![
        ("pending", pending),
        ("clearing", clearing),
        ("cleared", cleared),
        ("declined", declined),
    ]
}

pub(super) fn outcomes() -> Vec<(&'static str, Outcome)> {
    let card = |i: u32, activated: bool| PaymentInstrumentView {
        payment_instrument_identifier: format!("dCard{i:017}"),
        payment_instrument_type: s(if activated { "virtual" } else { "emv" }),
        status: s(if activated {
            "activated"
        } else {
            "notActivated"
        }),
        last4_pan: s("1234"),
        masked_pan: s("40000099******1234"),
        card_alias: activated.then(|| s("travel")),
        card_pack_id: (!activated).then(|| s("PACK00000001")),
        issued_date_time: s("2023-11-14T22:13:20Z"),
        activated_date_time: activated.then(|| s("2023-11-14T22:15:00Z")),
    };
    let account = AccountView {
        account_identifier: s("aNormal000000000000001"),
        account_reference_number: s("1000000001"),
        program_code: s("SANDBOX"),
        product_code: s("GPR1"),
        product_name: s("General purpose reloadable"),
        account_type: s("gpr"),
        status: s("normal"),
        status_reasons: vec![s("none")],
        account_status_changed_date_time: s("2023-11-14T22:13:20Z"),
        direct_deposit: Some(DirectDepositView {
            routing_number: s("123456789"),
            account_number: s("000111222333"),
        }),
        account_holders: vec![AccountHolderView {
            user: UserView {
                user_identifier: s("uHg3Jx0aZq9LmN2bVc8dEf"),
                first_name: s("Emily"),
                last_name: s("Carter"),
                status: s("active"),
                is_primary_account_holder: true,
                identity_type: s("ssn"),
                last4_identity: s("6789"),
                kyc_state_data: KycStateView {
                    ofac_status: s("passed"),
                    kyc_status: s("passed"),
                    kyc_pending_gate: s("healthy"),
                },
            },
            payment_instruments: vec![card(0, true), card(1, false)],
        }],
    };
    let bare = AccountView {
        direct_deposit: None,
        status_reasons: Vec::new(),
        account_holders: Vec::new(),
        ..account.clone()
    };
    vec![
        ("success", Outcome::new(0, 0, "Success", Some(account))),
        ("pending", Outcome::new(0, 0, "Pending", Some(bare))),
        ("refused", Outcome::new(400, 4502, "OFAC declined", None)),
    ]
}

pub(super) fn responses() -> Vec<(&'static str, StoredResponse)> {
    let first = StoredResponse {
        request_digest: fp(90),
        upgrade_account: Some(s("aNormal000000000000001")),
        status: 200,
        body: outcomes()[0].1.stored(),
        account_id: Some(s("aUpgraded0000000000004")),
        created_at: 1_700_000_000,
    };
    let bare = StoredResponse {
        request_digest: fp(91),
        upgrade_account: None,
        status: 400,
        body: outcomes()[2].1.stored(),
        account_id: None,
        created_at: 1_700_000_001,
    };
    vec![("upgrade", first), ("refusal", bare)]
}

pub(super) fn events() -> Vec<(&'static str, crate::domain::event::Event)> {
    use crate::domain::event::{Event, EventType, Subjects};
    let full = Event {
        sequence: 1042,
        id: s("evt_Ab3dEf9h_1042"),
        kind: EventType::CardIssued,
        occurred_at_ms: 1_700_000_000_123,
        program: s("SANDBOX"),
        request_id: Some(s("7d0f3a52-3f7e-4c59-9d8e-2a7c1e0b9f11")),
        subjects: Subjects {
            user: Some(s("uActive0000000000000001")),
            account: Some(s("aNormal0000000000000001")),
            card: Some(s("dVirtual000000000000001")),
            wallet: Some(s("wNormal0000000000000001")),
            kit: Some(s("KIT0000001")),
        },
        data: br#"{"identifier":"dVirtual000000000000001"}"#.to_vec(),
    };
    let mut out = vec![("full", full.clone())];
    // Every type, with no request id and no subject.
    for (i, kind) in EventType::ALL.into_iter().enumerate() {
        let label: &'static str = Box::leak(format!("type_{}", u8::from(kind)).into_boxed_str());
        out.push((
            label,
            Event {
                sequence: i as u64 + 1,
                id: format!("evt_Ab3dEf9h_{}", i + 1),
                kind,
                request_id: None,
                subjects: Subjects::default(),
                data: b"{}".to_vec(),
                ..full.clone()
            },
        ));
    }
    out
}

pub(super) fn webhooks() -> Vec<(&'static str, crate::domain::webhook::Webhook)> {
    use crate::domain::event::EventType;
    use crate::domain::webhook::{Webhook, WebhookSecret, WebhookStatus};
    let enabled = Webhook {
        id: s("wh_Ab3dEf9hIj2kLm4nOp6qRs"),
        client: s("sandbox-client"),
        url: s("http://127.0.0.1:9000/hooks"),
        event_types: vec![EventType::CardIssued, EventType::WalletCreated],
        program_codes: vec![s("SANDBOX"), s("PERF")],
        status: WebhookStatus::Enabled,
        description: Some(s("ledger")),
        secrets: vec![
            WebhookSecret {
                key: fp(9).to_vec(),
                expires_at: None,
            },
            WebhookSecret {
                key: fp(10).to_vec(),
                expires_at: Some(1_700_086_400),
            },
        ],
        after_sequence: 41,
        consecutive_failures: 2,
        created_at: 1_700_000_000,
        updated_at: 1_700_000_100,
    };
    let disabled = Webhook {
        event_types: Vec::new(),
        status: WebhookStatus::Disabled,
        description: None,
        secrets: vec![WebhookSecret {
            key: fp(11).to_vec(),
            expires_at: None,
        }],
        ..enabled.clone()
    };
    vec![("enabled", enabled), ("disabled", disabled)]
}

pub(super) fn deliveries() -> Vec<(&'static str, crate::domain::webhook::Delivery)> {
    use crate::domain::webhook::{Attempt, Delivery, DeliveryStatus};
    let pending = Delivery {
        webhook_id: s("wh_Ab3dEf9hIj2kLm4nOp6qRs"),
        event_sequence: 1042,
        event_id: s("evt_Ab3dEf9h_1042"),
        status: DeliveryStatus::Pending,
        attempts: vec![
            Attempt {
                at_ms: 1_700_000_000_500,
                status: Some(500),
                error: None,
                latency_ms: 12,
                response_prefix: s("oops"),
                manual: false,
            },
            Attempt {
                at_ms: 1_700_000_005_500,
                status: None,
                error: Some(s("timed out after 5000 ms")),
                latency_ms: 5000,
                response_prefix: String::new(),
                manual: true,
            },
        ],
        next_attempt_ms: 1_700_000_305_500,
        round_failures: 2,
        created_ms: 1_700_000_000_200,
    };
    let mut out = vec![("pending", pending.clone())];
    for (label, status) in [
        ("delivered", DeliveryStatus::Delivered),
        ("failed", DeliveryStatus::Failed),
        ("cancelled", DeliveryStatus::Cancelled),
    ] {
        out.push((
            label,
            Delivery {
                status,
                attempts: Vec::new(),
                ..pending.clone()
            },
        ));
    }
    out
}

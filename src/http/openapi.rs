//! The OpenAPI document, derived from the handlers' `#[utoipa::path]` annotations and the
//! request and response types. Each endpoint adds itself to the `paths` list below.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "issuebox",
        description = "Card-issuing sandbox and instant-issue core: the BaaS enrollment dialect, the device wallet dialect and the sandbox API over one store."
    ),
    paths(
        super::auth::token,
        super::baas::post_enrollment,
        super::baas::get_account,
        super::baas::get_user,
        super::baas::get_enrollment,
        super::ops::health,
        super::ops::metrics,
        super::ops::openapi,
        super::sandbox::get_faults,
        super::sandbox::put_faults,
        super::sandbox::load_kits,
        super::sandbox::get_kit,
        super::sandbox::list_reviews,
        super::sandbox::decide_review,
        super::sandbox::screen,
        super::device::attach,
        super::device::fetch,
        super::sandbox_cards::create_card,
        super::sandbox_cards::set_card_status,
        super::sandbox_cards::replace_card,
        super::sandbox_cards::set_wallet_status,
    ),
    modifiers(&Security),
    tags(
        (name = "authentication", description = "Client credentials and bearer tokens"),
        (name = "baas", description = "BaaS dialect: enrollment, instant issue, upgrade, reads"),
        (name = "device", description = "The device dialect: wallets of a card (scope `device`)"),
        (name = "sandbox", description = "Test controls: kits, cards, statuses, OFAC reviews, faults (scope `sandbox`)"),
        (name = "operations", description = "Health, metrics and this document (no authentication)"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

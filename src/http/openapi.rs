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
        super::ops::health,
        super::ops::metrics,
        super::ops::openapi,
        super::sandbox::get_faults,
        super::sandbox::put_faults,
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

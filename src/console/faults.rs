//! Fault switches (scope `sandbox`): the failures the sandbox can be asked to make, as
//! `GET`/`PUT /sandbox/faults` (`ops::faults`). They are the server's, not a program's.

use super::csrf::Posted;
use super::error::ConsoleError;
use super::layout::{self, csrf_field, notice};
use super::session::Session;
use crate::config::Scope;
use crate::ops::Ctx;
use crate::wire::sandbox::FaultSwitches;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

/// Each switch: its form field (the API's name) and what it breaks.
const SWITCHES: [(&str, &str); 4] = [
    (
        "packageLookup",
        "Kit lookups fail (instant issue answers 5020/5021)",
    ),
    ("upgradeProvider", "The upgrade provider fails (5030/0)"),
    ("walletCreate", "Storing a wallet fails (GPRW013)"),
    ("walletLink", "Linking a wallet to its card fails (GPRW014)"),
];

fn is_on(f: &FaultSwitches, name: &str) -> bool {
    match name {
        "packageLookup" => f.package_lookup,
        "upgradeProvider" => f.upgrade_provider,
        "walletCreate" => f.wallet_create,
        _ => f.wallet_link,
    }
}

#[derive(Deserialize)]
struct Query {
    done: Option<String>,
}

async fn show(
    s: Session,
    q: web::Query<Query>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let now = ctx.faults.get();
    Ok(layout::page(
        &s,
        "/console/faults",
        "Faults",
        html! {
            h1 { "Fault switches" }
            (notice(q.done.as_ref().map(|_| "Fault switches saved.")))
            p.muted { "They hold for the whole server, every program, until changed or the server restarts." }
            form.stack method="post" action="/console/faults" {
                (csrf_field(&s))
                fieldset {
                    legend { "Make these fail" }
                    @for (name, what) in SWITCHES {
                        div {
                            input type="checkbox" id=(name) name=(name) value="on" checked[is_on(&now, name)];
                            " "
                            label for=(name) { (what) }
                        }
                    }
                }
                button type="submit" { "Save" }
            }
        },
    ))
}

async fn save(Posted { s, f }: Posted, ctx: web::Data<Ctx>) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let on = |name: &str| f.get(name) == "on";
    ctx.faults.set(FaultSwitches {
        package_lookup: on("packageLookup"),
        upgrade_provider: on("upgradeProvider"),
        wallet_create: on("walletCreate"),
        wallet_link: on("walletLink"),
    })?;
    Ok(layout::see_other("/console/faults?done=1"))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/faults", web::get().to(show))
        .route("/faults", web::post().to(save));
}

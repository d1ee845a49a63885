//! Kits: a program's kits by status, a page at a time; generating a batch; uploading a CSV
//! manifest (`manifest.rs`) with a page that shows its progress.

use super::accounts::chosen_program;
use super::csrf::{self, Fields, Posted};
use super::error::{words_of, ConsoleError};
use super::layout::{self, csrf_field, field_error, notice, pager, urlencode};
use super::manifest::{self, JobState};
use super::session::Session;
use crate::config::Scope;
use crate::domain::error::DomainError;
use crate::ops::browse;
use crate::ops::kits::{self, MAX_KITS_PER_LOAD};
use crate::ops::Ctx;
use crate::wire::sandbox::{GenerateKits, LoadKits};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::{StreamExt, TryStreamExt};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Deserialize, Default)]
struct Query {
    program: Option<String>,
    status: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

/// Errors to show next to the generate form's fields and the upload's file field.
#[derive(Default)]
struct Problems {
    generate: Option<String>,
    upload: Option<String>,
}

fn render(
    s: &Session,
    ctx: &Ctx,
    status: StatusCode,
    q: &Query,
    problems: &Problems,
) -> Result<HttpResponse, ConsoleError> {
    let program = chosen_program(ctx, s, q.program.as_deref())?;
    let p = browse::program(ctx, &s.client, &program)?;
    let wanted = q.status.as_deref().filter(|v| !v.is_empty());
    let kit_status = wanted.and_then(browse::kit_status);
    let page = browse::kits(ctx, &s.client, &program, kit_status, q.after.clone())?;
    let programs = browse::programs(ctx, &s.client);
    let products: Vec<_> = p.products.iter().filter(|pr| pr.instant_issue).collect();
    let base = format!(
        "/console/kits?program={}&status={}",
        urlencode(&program),
        kit_status.map(|k| k.as_str()).unwrap_or("")
    );
    let done = q.done.as_deref().and_then(|d| d.parse::<usize>().ok());
    Ok(layout::page_with(
        status,
        s,
        "/console/kits",
        "Kits",
        html! {
            h1 { "Kits of " (program) }
            (notice(done.map(|n| format!("{n} kits generated.")).as_deref()))
            form.inline method="get" action="/console/kits" {
                label for="program" { "Program" }
                select #program name="program" {
                    @for pr in &programs { option value=(pr.code) selected[pr.code == program] { (pr.code) } }
                }
                label for="status" { "Status" }
                select #status name="status" {
                    option value="" selected[kit_status.is_none()] { "every status" }
                    @for k in ["available", "reserved", "assigned"] {
                        option value=(k) selected[kit_status.map(|x| x.as_str()) == Some(k)] { (k) }
                    }
                }
                button type="submit" { "Show" }
            }
            table #kits {
                thead { tr { th scope="col" { "Mapping identifier" } th scope="col" { "Pack ID" } th scope="col" { "Product" } th scope="col" { "Status" } th scope="col" { "Card" } } }
                tbody {
                    @for k in &page.items {
                        tr {
                            td.mono { (k.mapping_id) }
                            td.mono { (k.pack_id) }
                            td { (k.product) }
                            td.status { (k.status.as_str()) }
                            td.mono { @if let Some(c) = &k.card_id { a href={ "/console/cards/" (urlencode(c)) } { (c) } } }
                        }
                    }
                }
            }
            @if page.items.is_empty() { p { "No kits on this page." } }
            (pager(&base, page.next.as_deref()))
            div.grid {
                (generate_form(s, &program, &products, problems.generate.as_deref()))
                (upload_form(s, &program, problems.upload.as_deref()))
            }
        },
    ))
}

fn generate_form(
    s: &Session,
    program: &str,
    products: &[&crate::config::Product],
    error: Option<&str>,
) -> Markup {
    let described = error.map(|_| "generate-error");
    html! {
        section.card-box aria-labelledby="gen-h" {
            h2 #gen-h { "Generate kits" }
            form.stack method="post" action="/console/kits/generate" {
                (csrf_field(s))
                input type="hidden" name="program" value=(program);
                label for="gen-count" { "How many (1-" (MAX_KITS_PER_LOAD) ")" }
                input #gen-count name="count" type="number" min="1" max=(MAX_KITS_PER_LOAD) value="10" required aria-describedby=[described];
                label for="gen-product" { "Product" }
                select #gen-product name="productCode" {
                    @for p in products { option value=(p.code) { (p.code) " — " (p.name) } }
                }
                label for="gen-prefix" { "Mapping identifier prefix" }
                input #gen-prefix name="prefix" type="text" maxlength="40" value="KIT" required aria-describedby=[described];
                (field_error("generate-error", error))
                button type="submit" { "Generate" }
            }
        }
    }
}

fn upload_form(s: &Session, program: &str, error: Option<&str>) -> Markup {
    html! {
        section.card-box aria-labelledby="up-h" {
            h2 #up-h { "Upload a manifest" }
            p.muted { "CSV with a header row: " code { "mappingIdentifier,productCode,packID" } " (packID may be empty). Up to " (manifest::MAX_ROWS) " kits." }
            form.stack method="post" action="/console/kits/upload" enctype="multipart/form-data" {
                (csrf_field(s))
                input type="hidden" name="program" value=(program);
                label for="manifest" { "Manifest file (.csv)" }
                input #manifest name="manifest" type="file" accept=".csv,text/csv" required
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "upload-error")];
                (field_error("upload-error", error))
                button type="submit" { "Upload and load" }
            }
        }
    }
}

async fn show(
    s: Session,
    q: web::Query<Query>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    render(&s, &ctx, StatusCode::OK, &q, &Problems::default())
}

fn status_of(e: &DomainError) -> StatusCode {
    match e {
        DomainError::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

async fn generate(
    Posted { s, f }: Posted,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let program = f.get("program").to_string();
    let q = Query {
        program: Some(program.clone()),
        ..Default::default()
    };
    let Ok(count) = f.get("count").parse::<usize>() else {
        let p = Problems {
            generate: Some(format!(
                "How many must be a whole number from 1 to {MAX_KITS_PER_LOAD}."
            )),
            ..Default::default()
        };
        return render(&s, &ctx, StatusCode::BAD_REQUEST, &q, &p);
    };
    let req = LoadKits {
        packages: None,
        generate: Some(GenerateKits {
            count,
            product_code: f.get("productCode").to_string(),
            prefix: f.get("prefix").to_string(),
        }),
    };
    match kits::load(&ctx, &s.client, &program, req).await {
        Ok(loaded) => Ok(layout::see_other(&format!(
            "/console/kits?program={}&done={}",
            urlencode(&program),
            loaded.packages.len()
        ))),
        Err(
            e @ (DomainError::Invalid(_) | DomainError::Conflict(_) | DomainError::ProductUnknown),
        ) => {
            let p = Problems {
                generate: Some(words_of(&e)),
                ..Default::default()
            };
            render(&s, &ctx, status_of(&e), &q, &p)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads a multipart upload: its text fields and the manifest's bytes (at most
/// [`manifest::MAX_BYTES`]).
async fn read_upload(mut mp: Multipart) -> Result<(Fields, Vec<u8>), String> {
    let mut fields = Fields::default();
    let mut file = Vec::new();
    while let Some(field) = mp.next().await {
        let mut field = field.map_err(|e| format!("The upload could not be read ({e})."))?;
        let name = field.name().unwrap_or("").to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .try_next()
            .await
            .map_err(|e| format!("The upload could not be read ({e})."))?
        {
            if bytes.len() + chunk.len() > manifest::MAX_BYTES {
                return Err(format!(
                    "The file is larger than {} MiB; split it.",
                    manifest::MAX_BYTES / (1024 * 1024)
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if name == "manifest" {
            file = bytes;
        } else if bytes.len() <= 4096 {
            fields.insert(&name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok((fields, file))
}

async fn upload(
    s: Session,
    req: HttpRequest,
    mp: Multipart,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    csrf::check_origin(&req, &ctx)?;
    let read = read_upload(mp).await;
    let (fields, file) = match read {
        Ok(r) => r,
        Err(msg) => {
            let p = Problems {
                upload: Some(msg),
                ..Default::default()
            };
            return render(&s, &ctx, StatusCode::BAD_REQUEST, &Query::default(), &p);
        }
    };
    csrf::check(&req, &ctx, &s, &fields)?;
    let program = browse::program(&ctx, &s.client, fields.get("program"))?
        .code
        .clone();
    let q = Query {
        program: Some(program.clone()),
        ..Default::default()
    };
    let kits = match manifest::parse(&file) {
        Ok(k) => k,
        Err(msg) => {
            let p = Problems {
                upload: Some(msg),
                ..Default::default()
            };
            return render(&s, &ctx, StatusCode::BAD_REQUEST, &q, &p);
        }
    };
    let id = manifest::start(ctx.get_ref().clone(), s.client.clone(), program, kits);
    Ok(layout::see_other(&format!("/console/kits/jobs/{id}")))
}

async fn job(s: Session, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let j = manifest::job(&id, &s.client.id).ok_or(DomainError::NotFound("upload"))?;
    let running = j.state == JobState::Running;
    let list = format!("/console/kits?program={}", urlencode(&j.program));
    let mut res = layout::page(
        &s,
        "/console/kits",
        "Manifest upload",
        html! {
            h1 { "Manifest upload into " (j.program) }
            label for="progress" { "Loaded " span #loaded { (j.loaded) } " of " (j.total) " kits" }
            progress #progress max=(j.total) value=(j.loaded) { (j.loaded) " of " (j.total) }
            @match &j.state {
                JobState::Running => p role="status" { "Loading… this page refreshes every second." },
                JobState::Done => p.notice role="status" #upload-done { "All " (j.total) " kits loaded." },
                JobState::Failed(why) => {
                    p.error role="alert" #upload-error { (why) }
                    p { "The first " (j.loaded) " kits of the file were loaded; the rest were not." }
                },
            }
            p { a href=(list) { "Back to the kits" } }
        },
    );
    if running {
        // A refresh header rather than a script: the page keeps working without JavaScript.
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("refresh"),
            actix_web::http::header::HeaderValue::from_static("1"),
        );
    }
    Ok(res)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/kits", web::get().to(show))
        .route("/kits/generate", web::post().to(generate))
        .route("/kits/upload", web::post().to(upload))
        .route("/kits/jobs/{id}", web::get().to(job));
}

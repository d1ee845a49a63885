//! What a console request answers when it fails: a page in words, never a 500.

use super::layout;
use crate::domain::error::DomainError;
use crate::http::errors::{sandbox_row, Failure};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use maud::html;

#[derive(Debug)]
pub enum ConsoleError {
    /// No session, or it expired or was revoked: to the login page.
    Login,
    /// A POST without its CSRF token, or from another origin: 403, nothing changed.
    Forbidden(&'static str),
    /// The client lacks the scope a page or action needs.
    NeedsScope(&'static str),
    /// A use case refused.
    Domain(DomainError),
}

impl From<DomainError> for ConsoleError {
    fn from(e: DomainError) -> Self {
        ConsoleError::Domain(e)
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.words().1)
    }
}

impl ConsoleError {
    /// The status and the sentence shown.
    fn words(&self) -> (StatusCode, String) {
        match self {
            ConsoleError::Login => (StatusCode::SEE_OTHER, "Please log in.".into()),
            ConsoleError::Forbidden(why) => (StatusCode::FORBIDDEN, (*why).into()),
            ConsoleError::NeedsScope(scope) => (
                StatusCode::FORBIDDEN,
                format!("This client has no `{scope}` scope, which this page needs."),
            ),
            // Another program's entity is answered as if it did not exist.
            ConsoleError::Domain(DomainError::OutOfScope | DomainError::Unauthorized) => {
                (StatusCode::NOT_FOUND, "Nothing here.".into())
            }
            ConsoleError::Domain(e) => {
                let (status, _, _, detail) = sandbox_row(&Failure::Domain(e.clone()));
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                (status, message(status, detail))
            }
        }
    }
}

/// A use case's refusal in a sentence for a person.
pub fn message(status: StatusCode, detail: String) -> String {
    match status.as_u16() {
        404 => format!("Not found: {detail}."),
        503 => {
            "The store is not available just now; nothing was changed. Try again shortly.".into()
        }
        _ => {
            let mut s = detail;
            if let Some(first) = s.get(..1) {
                let upper = first.to_uppercase();
                s.replace_range(..1, &upper);
            }
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
    }
}

/// The words of a domain error, for a message next to a form's field.
pub fn words_of(e: &DomainError) -> String {
    ConsoleError::Domain(e.clone()).words().1
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        self.words().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, words) = self.words();
        if let ConsoleError::Login = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/login"))
                .finish();
        }
        let mut res = layout::bare(
            status,
            "Problem",
            html! {
                h1 { "Problem" }
                p.error role="alert" { (words) }
                p { a href="/console/" { "Back to the overview" } }
            },
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        res
    }
}

/// Any other path under `/console`.
pub async fn not_found() -> HttpResponse {
    ConsoleError::Domain(DomainError::NotFound("page")).error_response()
}

//! Reading request bodies: the size limit, the time limit, and JSON errors that name the
//! offending field.

use super::errors::{Failure, Transport};
use crate::domain::error::DomainError;
use crate::ops::Ctx;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Reads the whole body, refusing more than `limit` bytes (by `Content-Length` up front, and
/// while streaming for chunked bodies) and a body still arriving after `[server]
/// body_timeout_ms` (a slow sender would otherwise hold a worker's connection for ever).
pub async fn read_limited(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, Failure> {
    let ms = req
        .app_data::<web::Data<Ctx>>()
        .map(|c| c.config.server.body_timeout_ms)
        .unwrap_or(30_000);
    tokio::time::timeout(Duration::from_millis(ms), read_all(req, payload, limit))
        .await
        .map_err(|_| Transport::BodyTimeout)?
}

async fn read_all(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, Failure> {
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(Transport::PayloadTooLarge.into());
        }
    }
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            Failure::from(DomainError::MalformedBody(
                "request body could not be read".into(),
            ))
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(Transport::PayloadTooLarge.into());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

pub use crate::domain::json::parse as parse_json;

/// Reads and parses a JSON body under the configured limit.
pub async fn json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<T, Failure> {
    let bytes = read_limited(req, payload, limit).await?;
    Ok(parse_json(&bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Outer>(br#"{"inner":{"n":"x"}}"#).unwrap_err();
        match e {
            DomainError::MalformedBody(m) => assert!(m.starts_with("inner.n:"), "{m}"),
            other => panic!("{other:?}"),
        }
        let e = parse_json::<Outer>(b"{not json").unwrap_err();
        assert_eq!(
            e,
            DomainError::MalformedBody("request body: body is not valid JSON".into())
        );
    }
}

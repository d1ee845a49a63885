//! TLS on the listener: with `server.tls_cert_file` and `server.tls_key_file` (PEM) the port
//! speaks TLS only, through rustls with the ring provider (no OpenSSL).
//!
//! The files are read and checked when the configuration is validated, so `check-config`
//! refuses a missing or unreadable file, a file without PEM, or a key that is not the
//! certificate's, naming the file and the reason; `serve` builds the rustls config from them.

use crate::config::{ConfigError, ServerConfig};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The rustls server config of `server`, or `None` when TLS is not configured (plain HTTP).
pub fn server_config(server: &ServerConfig) -> Result<Option<rustls::ServerConfig>, ConfigError> {
    let (cert_file, key_file) = match (&server.tls_cert_file, &server.tls_key_file) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c.as_path(), k.as_path()),
        (Some(_), None) => {
            return Err(ConfigError(
                "server.tls_key_file is missing: server.tls_cert_file needs its private key".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError(
                "server.tls_cert_file is missing: server.tls_key_file needs its certificate".into(),
            ))
        }
    };
    let certs = load_certs(cert_file)?;
    let key = load_key(key_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    // Check the key and the certificate separately first, so the message names the right file.
    let signing_key = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| {
            ConfigError(format!(
                "server.tls_key_file {}: not a usable private key ({e})",
                key_file.display()
            ))
        })?;
    let certified = rustls::sign::CertifiedKey::new(certs.clone(), signing_key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(ConfigError(format!(
                "server.tls_key_file {}: the private key does not match the certificate in {}",
                key_file.display(),
                cert_file.display()
            )))
        }
        Err(e) => {
            return Err(ConfigError(format!(
                "server.tls_cert_file {}: not a usable certificate ({e})",
                cert_file.display()
            )))
        }
    }

    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            ConfigError(format!(
                "server.tls_cert_file {} with server.tls_key_file {}: {e}",
                cert_file.display(),
                key_file.display()
            ))
        })?;
    Ok(Some(config))
}

fn read(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError(format!("server.{key} {}: cannot read: {e}", path.display())))
}

fn pem_reason(e: pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "a PEM section has no `-----END {}-----` line",
            String::from_utf8_lossy(&end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "malformed PEM section start `{}`",
            String::from_utf8_lossy(&line)
        ),
        pem::Error::Base64Decode(e) => format!("a PEM section is not valid base64 ({e})"),
        other => other.to_string(),
    }
}

/// The certificate chain, end-entity certificate first.
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read("tls_cert_file", path)?;
    let bad =
        |reason: String| ConfigError(format!("server.tls_cert_file {}: {reason}", path.display()));
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(pem_reason(e)))?;
    if certs.is_empty() {
        return Err(bad(
            "not a PEM certificate (no `-----BEGIN CERTIFICATE-----` section)".into(),
        ));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) of the file.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let bytes = read("tls_key_file", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        let reason = match e {
            pem::Error::NoItemsFound => {
                "not a PEM private key (no `-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` section)".into()
            }
            other => pem_reason(other),
        };
        ConfigError(format!("server.tls_key_file {}: {reason}", path.display()))
    })
}

//! Reading PEM files into rustls types, with errors that name the file.
//!
//! Certificates and keys are checked here once (key matches certificate,
//! certificate is within its validity period) so that a bad file is a clear
//! startup or reload error, not a handshake failure later. Key bytes never
//! appear in an error or a log line.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::x509;
use super::TlsError;

/// A certificate is reported as "expiring soon" below this many seconds.
const EXPIRY_WARNING_SECS: i64 = 14 * 86_400;

/// A PEM reader error as an I/O error for [`TlsError::Read`]. Only the
/// kind of syntax error is kept: the reader's own messages quote the
/// offending line, which must not reach a log from a key file.
fn pem_error(path: &Path, e: pem::Error) -> TlsError {
    let source = match e {
        pem::Error::Io(e) => e,
        pem::Error::MissingSectionEnd { .. } => bad_pem("a PEM section has no END line"),
        pem::Error::IllegalSectionStart { .. } => bad_pem("a PEM BEGIN line is malformed"),
        pem::Error::Base64Decode(_) => bad_pem("a PEM section is not valid base64"),
        pem::Error::SectionTooLarge => bad_pem("a PEM section is too large"),
        _ => bad_pem("not valid PEM"),
    };
    TlsError::Read { file: path.to_owned(), source }
}

fn bad_pem(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Every `CERTIFICATE` block of a PEM file, in order; at least one.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { file: path.to_owned() });
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    match PrivateKeyDer::from_pem_file(path) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(TlsError::NoKey { file: path.to_owned() }),
        Err(e) => Err(pem_error(path, e)),
    }
}

/// A CA bundle: every certificate must parse as a trust anchor.
pub fn load_ca_bundle(path: &Path, roots: &mut RootCertStore) -> Result<(), TlsError> {
    let certs = load_certs(path).map_err(|e| match e {
        TlsError::NoCertificate { file } => {
            TlsError::BadCaBundle { file, reason: "no PEM CERTIFICATE block found".to_owned() }
        }
        other => other,
    })?;
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsError::BadCaBundle {
            file: path.to_owned(),
            reason: format!("certificate #{} is not a usable CA certificate: {e}", i + 1),
        })?;
    }
    Ok(())
}

/// Loads a certificate chain and its key, and checks that they belong
/// together and that the leaf certificate is currently valid.
pub fn load_certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = load_certs(cert_path)?;
    check_validity(cert_path, &chain[0], now())?;
    let key = load_key(key_path)?;
    let signing_key = provider.key_provider.load_private_key(key).map_err(|e| {
        TlsError::UnsupportedKey { file: key_path.to_owned(), reason: e.to_string() }
    })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(TlsError::KeyMismatch {
                key: key_path.to_owned(),
                cert: cert_path.to_owned(),
            })
        }
        // The ring provider can always derive the public key; "unknown"
        // only happens with exotic providers, which we do not use.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(e) => {
            return Err(TlsError::BadCertificate {
                file: cert_path.to_owned(),
                reason: e.to_string(),
            })
        }
    }
    Ok(Arc::new(certified))
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Refuses a leaf certificate outside its validity period; warns when it
/// expires within two weeks.
pub fn check_validity(path: &Path, leaf: &CertificateDer<'_>, now: i64) -> Result<(), TlsError> {
    let Some(v) = x509::validity(leaf.as_ref()) else {
        return Err(TlsError::BadCertificate {
            file: path.to_owned(),
            reason: "the first certificate is not valid X.509 DER".to_owned(),
        });
    };
    if now > v.not_after {
        return Err(TlsError::Expired {
            file: path.to_owned(),
            not_after: x509::format_time(v.not_after),
        });
    }
    if now < v.not_before {
        return Err(TlsError::NotYetValid {
            file: path.to_owned(),
            not_before: x509::format_time(v.not_before),
        });
    }
    if v.not_after - now < EXPIRY_WARNING_SECS {
        tracing::warn!(
            file = %path.display(),
            not_after = %x509::format_time(v.not_after),
            "TLS certificate expires soon"
        );
    }
    Ok(())
}

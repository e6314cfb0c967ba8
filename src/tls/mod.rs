//! TLS with rustls (ring provider): the listener's server configuration
//! (SNI, ALPN, optional mTLS, reloadable certificates) and the upstream
//! client configuration (verified roots, extra CA, SNI override, client
//! certificates), plus the accept helper and the upstream connector.
//!
//! Everything that reads files happens in [`server_config`] and
//! [`client_config`], once per (re)load, and every error names the file and
//! what is wrong with it. This module never weakens verification: there is
//! no way to accept an upstream certificate that does not chain to a
//! configured root and match the server name. It never logs key material.

mod connector;
mod pem;
mod server;
mod sni;
pub mod x509;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::ServerName;

use crate::config::tls::{ClientAuth, ListenerTlsSection, TlsVersion, UpstreamTlsSection};

pub use connector::{classify_connect_error, ConnectError, MaybeTlsStream, UpstreamConnector};
pub use server::{is_h2, AcceptError, ServerTls};
pub use sni::SniResolver;

/// A TLS file or setting that cannot be used. Names the file; never
/// contains key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file is missing or unreadable (or not valid PEM).
    #[error("{}: cannot read: {source}", file.display())]
    Read { file: PathBuf, source: std::io::Error },
    /// The file holds no `CERTIFICATE` block.
    #[error("{}: no PEM certificate found", file.display())]
    NoCertificate { file: PathBuf },
    /// The file holds no private key the PEM reader recognises.
    #[error(
        "{}: no private key found (expected a PEM PKCS#8, PKCS#1 RSA or SEC1 EC key; \
         encrypted keys are not supported)",
        file.display()
    )]
    NoKey { file: PathBuf },
    /// The key is PEM but not a kind the ring provider can sign with.
    #[error("{}: unsupported private key: {reason}", file.display())]
    UnsupportedKey { file: PathBuf, reason: String },
    /// The private key is not the one of the certificate.
    #[error("{}: private key does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch { key: PathBuf, cert: PathBuf },
    /// The leaf certificate's notAfter is in the past.
    #[error("{}: certificate expired at {not_after}", file.display())]
    Expired { file: PathBuf, not_after: String },
    /// The leaf certificate's notBefore is in the future.
    #[error("{}: certificate is not valid before {not_before}", file.display())]
    NotYetValid { file: PathBuf, not_before: String },
    /// The certificate cannot be parsed.
    #[error("{}: bad certificate: {reason}", file.display())]
    BadCertificate { file: PathBuf, reason: String },
    /// An SNI entry's certificate does not cover the name it is served for.
    #[error("{}: certificate is not valid for server name {name:?}", file.display())]
    NameMismatch { file: PathBuf, name: String },
    /// A CA bundle is empty or holds something that is not a CA.
    #[error("{}: bad CA bundle: {reason}", file.display())]
    BadCaBundle { file: PathBuf, reason: String },
    /// Settings that contradict each other or rustls refused.
    #[error("tls: {0}")]
    Invalid(String),
}

/// The crypto provider used everywhere: ring, explicitly, so that nothing
/// depends on a process-wide default being installed.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn versions(min: TlsVersion) -> &'static [&'static SupportedProtocolVersion] {
    static BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    static ONLY13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    match min {
        TlsVersion::Tls12 => BOTH,
        TlsVersion::Tls13 => ONLY13,
    }
}

fn resolve(base_dir: &Path, path: &Path) -> PathBuf {
    base_dir.join(path)
}

/// Builds the listener's rustls configuration from `[tls]`: reads and
/// checks every certificate and key, the client CA, and the ALPN list.
/// Relative paths resolve against `base_dir` (the config file's directory).
pub fn server_config(
    section: &ListenerTlsSection,
    base_dir: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    if section.handshake_timeout().is_zero() {
        return Err(TlsError::Invalid("handshake_timeout must be more than 0".to_owned()));
    }
    let provider = provider();
    let default = pem::load_certified_key(
        &resolve(base_dir, &section.cert),
        &resolve(base_dir, &section.key),
        &provider,
    )?;
    let mut resolver = SniResolver::new(default);
    for entry in &section.sni {
        if entry.names.is_empty() {
            return Err(TlsError::Invalid(format!(
                "[[tls.sni]] entry for {} lists no names",
                entry.cert.display()
            )));
        }
        let cert = resolve(base_dir, &entry.cert);
        let key = pem::load_certified_key(&cert, &resolve(base_dir, &entry.key), &provider)?;
        for name in &entry.names {
            resolver.add(name, key.clone(), &cert)?;
        }
    }

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions(section.min_version))
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    let builder = match (section.effective_client_auth(), &section.client_ca) {
        (ClientAuth::None, None) => builder.with_no_client_auth(),
        (ClientAuth::None, Some(_)) => {
            return Err(TlsError::Invalid(
                "client_ca is set but client_auth = \"none\": remove one of them".to_owned(),
            ))
        }
        (mode, None) => {
            return Err(TlsError::Invalid(format!(
                "client_auth = \"{}\" needs client_ca (the CA bundle client certificates are checked against)",
                if mode == ClientAuth::Optional { "optional" } else { "required" }
            )))
        }
        (mode, Some(ca)) => {
            let ca = resolve(base_dir, ca);
            let mut roots = RootCertStore::empty();
            pem::load_ca_bundle(&ca, &mut roots)?;
            let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            if mode == ClientAuth::Optional {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier.build().map_err(|e| TlsError::BadCaBundle {
                file: ca.clone(),
                reason: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = alpn(&section.alpn)?;
    Ok(Arc::new(config))
}

fn alpn(list: &[String]) -> Result<Vec<Vec<u8>>, TlsError> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(list.len());
    for proto in list {
        if proto != "h2" && proto != "http/1.1" {
            return Err(TlsError::Invalid(format!(
                "alpn: {proto:?} is not served (use \"h2\" and/or \"http/1.1\")"
            )));
        }
        if out.iter().any(|p| p == proto.as_bytes()) {
            return Err(TlsError::Invalid(format!("alpn: {proto:?} listed twice")));
        }
        out.push(proto.as_bytes().to_vec());
    }
    Ok(out)
}

/// Builds a client configuration for one upstream: bundled Mozilla roots
/// (unless `builtin_roots = false`) plus `ca_file`, an optional client
/// certificate, and ALPN `h2` when `h2` is set (else `http/1.1`).
pub fn client_config(
    section: &UpstreamTlsSection,
    base_dir: &Path,
    h2: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let mut roots = RootCertStore::empty();
    if section.builtin_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(ca) = &section.ca_file {
        pem::load_ca_bundle(&resolve(base_dir, ca), &mut roots)?;
    }
    if roots.is_empty() {
        return Err(TlsError::Invalid(
            "upstream tls: builtin_roots = false needs a ca_file, or nothing would be trusted"
                .to_owned(),
        ));
    }
    if let Some(name) = &section.server_name {
        upstream_server_name(name)?;
    }
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions(TlsVersion::Tls12))
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match (&section.client_cert, &section.client_key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let (cert, key) = (resolve(base_dir, cert), resolve(base_dir, key));
            // Checks match and validity with file names in the error.
            let checked = pem::load_certified_key(&cert, &key, &provider)?;
            builder
                .with_client_auth_cert(checked.cert.clone(), pem::load_key(&key)?)
                .map_err(|e| TlsError::UnsupportedKey { file: key, reason: e.to_string() })?
        }
        _ => {
            return Err(TlsError::Invalid(
                "upstream tls: client_cert and client_key must be set together".to_owned(),
            ))
        }
    };
    // The upstream client speaks exactly one protocol (h2 upstreams are
    // HTTP/2-only), so offer exactly that one: an upstream that cannot do
    // it fails the handshake instead of answering in the other protocol.
    config.alpn_protocols = if h2 { vec![b"h2".to_vec()] } else { vec![b"http/1.1".to_vec()] };
    Ok(Arc::new(config))
}

/// The `notAfter` (Unix seconds) of the first certificate in a PEM file,
/// for the expiry gauge; `None` when it cannot be read (loading the file
/// for use reports that error, with its name).
pub fn leaf_not_after(base_dir: &Path, path: &Path) -> Option<i64> {
    let chain = pem::load_certs(&resolve(base_dir, path)).ok()?;
    x509::validity(chain.first()?.as_ref()).map(|v| v.not_after)
}

/// Validates an upstream SNI override (a DNS name or an IP address).
pub fn upstream_server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(name.to_owned()).map_err(|_| {
        TlsError::Invalid(format!(
            "upstream tls: server_name {name:?} is not a DNS name or IP address"
        ))
    })
}

#[cfg(test)]
mod tests;

//! Certificate selection by SNI name, with a default certificate for
//! clients that send no name or a name nothing else covers.
//!
//! rustls' `ResolvesServerCertUsingSni` has no default and no wildcards,
//! hence this small resolver. Names are matched exactly first, then as
//! `*.parent` for one leading label, then the default is served.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, DnsName, ServerName};
use rustls::server::{ClientHello, ParsedCertificate, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::TlsError;

/// Chooses the served certificate from the client's SNI name.
#[derive(Debug)]
pub struct SniResolver {
    default: Arc<CertifiedKey>,
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the parent domain of `*.parent`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
}

impl SniResolver {
    /// A resolver that serves `default` to everyone until names are added.
    pub fn new(default: Arc<CertifiedKey>) -> Self {
        Self { default, exact: HashMap::new(), wildcard: HashMap::new() }
    }

    /// Serves `key` for `name` ("host.example" or "*.example"), after
    /// checking that the certificate is valid for that name.
    pub fn add(
        &mut self,
        name: &str,
        key: Arc<CertifiedKey>,
        cert_file: &Path,
    ) -> Result<(), TlsError> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let bad = |reason: &str| TlsError::Invalid(format!("[[tls.sni]] name {name:?}: {reason}"));
        // Wildcards are checked with a synthetic single-label name under the
        // parent: only a wildcard SAN (or that exact name) can cover it.
        let (wild, table_key, probe) = match name.strip_prefix("*.") {
            Some(parent) => (true, parent.to_owned(), format!("leakwarden-sni-probe.{parent}")),
            None => (false, name.clone(), name.clone()),
        };
        if table_key.contains('*') {
            return Err(bad("a wildcard is only allowed as the whole first label"));
        }
        let dns = DnsName::try_from(probe.as_str()).map_err(|_| bad("not a valid DNS name"))?;
        let leaf: &CertificateDer<'_> = key.end_entity_cert().map_err(|e| {
            TlsError::BadCertificate { file: cert_file.to_owned(), reason: e.to_string() }
        })?;
        let parsed = ParsedCertificate::try_from(leaf).map_err(|e| TlsError::BadCertificate {
            file: cert_file.to_owned(),
            reason: e.to_string(),
        })?;
        rustls::client::verify_server_name(&parsed, &ServerName::DnsName(dns.to_owned())).map_err(
            |_| TlsError::NameMismatch { file: cert_file.to_owned(), name: name.clone() },
        )?;
        let table = if wild { &mut self.wildcard } else { &mut self.exact };
        if table.insert(table_key, key).is_some() {
            return Err(bad("listed in more than one [[tls.sni]] entry"));
        }
        Ok(())
    }

    /// The certificate for an SNI name (or for no name).
    pub fn select(&self, sni: Option<&str>) -> Arc<CertifiedKey> {
        let Some(name) = sni else { return self.default.clone() };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(key) = self.exact.get(&name) {
            return key.clone();
        }
        if let Some((_, parent)) = name.split_once('.') {
            if let Some(key) = self.wildcard.get(parent) {
                return key.clone();
            }
        }
        self.default.clone()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.select(client_hello.server_name()))
    }
}

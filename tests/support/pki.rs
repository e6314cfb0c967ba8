//! A private CA made with rcgen that writes `ca.pem` and `<stem>.crt` /
//! `<stem>.key` into a tempdir. Shared by the TLS unit tests
//! (src/tls/tests.rs) and the tls_* integration tests; it depends only on
//! rcgen and tempfile so both can include it with `#[path]`.
#![allow(dead_code)]

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls_pki_types::CertificateDer;

pub struct Pki {
    pub dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "leakwarden test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Self { dir, ca, ca_key }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Issues a server (or client) certificate with CN = `stem` for
    /// `names`; returns the leaf in DER.
    pub fn issue(&self, stem: &str, names: &[&str], client: bool) -> CertificateDer<'static> {
        self.issue_with(stem, names, client, |_| {})
    }

    /// Like [`Pki::issue`], with a last say on the parameters (validity,
    /// key usages...).
    pub fn issue_with(
        &self,
        stem: &str,
        names: &[&str],
        client: bool,
        tweak: impl FnOnce(&mut CertificateParams),
    ) -> CertificateDer<'static> {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, stem);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        tweak(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        std::fs::write(self.path(&format!("{stem}.crt")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{stem}.key")), key.serialize_pem()).unwrap();
        cert.der().clone()
    }
}

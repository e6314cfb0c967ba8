//! TLS settings: `[tls]` for the listener and `tls` tables on upstreams.
//!
//! These are plain serde structs: they say which files to read and which
//! protocol options to offer. Reading the files, checking that keys match
//! their certificates and that nothing has expired happens once, in
//! [`crate::tls`], which names the offending file in every error. This
//! module never opens a file and never holds key material.

use std::path::PathBuf;

use serde::Deserialize;

/// The listener's `[tls]` section. When present, the proxy listener speaks
/// HTTPS only (HTTP/2 or HTTP/1.1 as negotiated by ALPN).
///
/// ```toml
/// [tls]
/// cert = "/etc/leakwarden/tls/default.crt"
/// key = "/etc/leakwarden/tls/default.key"
/// min_version = "1.2"
///
/// [[tls.sni]]
/// names = ["shop.example.com", "*.shop.example.com"]
/// cert = "/etc/leakwarden/tls/shop.crt"
/// key = "/etc/leakwarden/tls/shop.key"
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTlsSection {
    /// PEM file with the default certificate chain (leaf first), served when
    /// the client sends no SNI name or a name no `[[tls.sni]]` entry covers.
    /// Relative paths are resolved against the configuration file's directory.
    pub cert: PathBuf,
    /// PEM file with the private key of `cert` (PKCS#8, PKCS#1 RSA or SEC1
    /// EC). It must match the certificate; a mismatch is a startup error.
    pub key: PathBuf,
    /// Extra certificates chosen by the SNI name the client asks for.
    #[serde(default)]
    pub sni: Vec<SniCertSection>,
    /// PEM bundle of CA certificates that client certificates must chain to
    /// (mutual TLS). Setting it without `client_auth` means "required".
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Whether clients must present a certificate: "none", "optional"
    /// (verified when presented) or "required". Default: "required" when
    /// `client_ca` is set, otherwise "none".
    #[serde(default)]
    pub client_auth: Option<ClientAuth>,
    /// Lowest TLS version accepted: "1.2" (default) or "1.3". Older versions
    /// are never offered.
    #[serde(default)]
    pub min_version: TlsVersion,
    /// ALPN protocols offered, in order of preference. Only "h2" and
    /// "http/1.1" are served. Default: ["h2", "http/1.1"].
    #[serde(default = "default_alpn")]
    pub alpn: Vec<String>,
    /// Milliseconds a client gets to complete the TLS handshake before the
    /// connection is closed (protects against slow handshakes). Default 10000.
    #[serde(default)]
    pub handshake_timeout_ms: Option<u64>,
}

/// One `[[tls.sni]]` entry: a certificate served for some server names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SniCertSection {
    /// Server names this certificate is served for, e.g. "api.example.com",
    /// or "*.example.com" for any single label under example.com. The
    /// certificate must be valid for each exact name (checked at startup).
    pub names: Vec<String>,
    /// PEM file with the certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM file with the matching private key.
    pub key: PathBuf,
}

/// Client certificate policy on the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// No client certificate is requested.
    None,
    /// A client certificate is requested and verified if presented.
    Optional,
    /// A verified client certificate is required to complete the handshake.
    Required,
}

/// The lowest accepted TLS protocol version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    Tls13,
}

fn default_alpn() -> Vec<String> {
    vec!["h2".to_owned(), "http/1.1".to_owned()]
}

/// An upstream's `tls` table, used for `https://` upstream URLs. Server
/// certificates are always verified: against the bundled Mozilla roots
/// (webpki-roots) plus `ca_file`. There is deliberately no switch to turn
/// verification off; to trust a private or self-signed upstream, put its CA
/// (or the certificate itself) in `ca_file`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsSection {
    /// PEM bundle of extra CA certificates trusted for this upstream, added
    /// to the bundled roots. Relative paths resolve against the config file.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Whether the bundled Mozilla roots are trusted as well as `ca_file`.
    /// Set to false to pin the upstream to `ca_file` alone. Default true.
    #[serde(default = "default_true")]
    pub builtin_roots: bool,
    /// Server name sent in SNI and checked against the upstream's
    /// certificate, instead of the host in the upstream URL (useful when the
    /// URL is an IP address or an internal alias).
    #[serde(default)]
    pub server_name: Option<String>,
    /// PEM certificate chain presented to the upstream (mutual TLS).
    /// Requires `client_key`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

fn default_true() -> bool {
    true
}

impl Default for UpstreamTlsSection {
    /// Bundled roots only, no client certificate: what an `https://`
    /// upstream without a `tls` table gets.
    fn default() -> Self {
        Self {
            ca_file: None,
            builtin_roots: true,
            server_name: None,
            client_cert: None,
            client_key: None,
        }
    }
}

impl ListenerTlsSection {
    /// A section with just a default certificate and key, everything else
    /// defaulted: what `leakwarden run --tls-cert --tls-key` builds.
    pub fn from_files(cert: PathBuf, key: PathBuf) -> Self {
        Self {
            cert,
            key,
            sni: Vec::new(),
            client_ca: None,
            client_auth: None,
            min_version: TlsVersion::default(),
            alpn: default_alpn(),
            handshake_timeout_ms: None,
        }
    }

    /// The effective client certificate policy (see `client_auth`).
    pub fn effective_client_auth(&self) -> ClientAuth {
        match (self.client_auth, &self.client_ca) {
            (Some(mode), _) => mode,
            (None, Some(_)) => ClientAuth::Required,
            (None, None) => ClientAuth::None,
        }
    }

    /// The handshake timeout in effect.
    pub fn handshake_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.handshake_timeout_ms.unwrap_or(10_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Root {
        tls: ListenerTlsSection,
        upstream: Option<UpstreamTlsSection>,
    }

    #[test]
    fn parses_full_listener_section() {
        let root: Root = toml::from_str(
            r#"
            [tls]
            cert = "a.crt"
            key = "a.key"
            client_ca = "ca.pem"
            client_auth = "optional"
            min_version = "1.3"
            alpn = ["http/1.1"]
            handshake_timeout_ms = 500
            [[tls.sni]]
            names = ["x.example", "*.y.example"]
            cert = "x.crt"
            key = "x.key"
            [upstream]
            ca_file = "up.pem"
            builtin_roots = false
            server_name = "up.internal"
            "#,
        )
        .unwrap();
        let t = root.tls;
        assert_eq!(t.cert, PathBuf::from("a.crt"));
        assert_eq!(t.sni.len(), 1);
        assert_eq!(t.sni[0].names, ["x.example", "*.y.example"]);
        assert_eq!(t.effective_client_auth(), ClientAuth::Optional);
        assert_eq!(t.min_version, TlsVersion::Tls13);
        assert_eq!(t.alpn, ["http/1.1"]);
        assert_eq!(t.handshake_timeout().as_millis(), 500);
        let u = root.upstream.unwrap();
        assert!(!u.builtin_roots);
        assert_eq!(u.server_name.as_deref(), Some("up.internal"));
    }

    #[test]
    fn defaults_are_secure() {
        let root: Root = toml::from_str("[tls]\ncert = \"a\"\nkey = \"b\"\n[upstream]\n").unwrap();
        assert_eq!(root.tls.alpn, ["h2", "http/1.1"]);
        assert_eq!(root.tls.min_version, TlsVersion::Tls12);
        assert_eq!(root.tls.effective_client_auth(), ClientAuth::None);
        assert!(root.upstream.unwrap().builtin_roots);
        let with_ca: Root =
            toml::from_str("[tls]\ncert = \"a\"\nkey = \"b\"\nclient_ca = \"c\"\n").unwrap();
        assert_eq!(with_ca.tls.effective_client_auth(), ClientAuth::Required);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        for bad in [
            "[tls]\ncert = \"a\"\nkey = \"b\"\nverify = false\n",
            "[tls]\ncert = \"a\"\nkey = \"b\"\nmin_version = \"1.1\"\n",
            "[tls]\ncert = \"a\"\nkey = \"b\"\nclient_auth = \"maybe\"\n",
            "[tls]\ncert = \"a\"\n",
            "[tls]\ncert = \"a\"\nkey = \"b\"\n[upstream]\ninsecure = true\n",
        ] {
            assert!(toml::from_str::<Root>(bad).is_err(), "accepted: {bad}");
        }
    }
}

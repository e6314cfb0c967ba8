//! Assembly: the one place that turns a parsed configuration file (plus
//! command-line overrides) into the running application's objects, the
//! immutable [`Runtime`]: compiled policies (detector engines), the opened
//! audit log, the listener's certificates and the upstreams' TLS clients,
//! the admin listener's access rules. `leakwarden run` builds its first
//! runtime here and every reload builds the next one here, so both
//! validate the same way. Every cross-reference is resolved here, so the
//! proxy never meets a dangling name or an unparsed value at request time.
//!
//! Building blocks (reads files, compiles regexes): call it from a
//! blocking context. This module never binds, connects or spawns anything.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::Uri;

use crate::admin::{Access, AdminToken};
use crate::audit::AuditSink;
use crate::config::file::{AdminSection, FileConfig, RouteSection, UpstreamSection};
use crate::config::policy::PolicySection;
use crate::config::tls::{ListenerTlsSection, UpstreamTlsSection};
use crate::config::{read_file, ConfigError};
use crate::policy::Policy;

/// Name of the policy used by routes that name none.
pub const DEFAULT_POLICY: &str = "default";

/// Settings given on the command line or in `LEAKWARDEN_*` variables; they
/// win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces `[server] listen`.
    pub listen: Vec<SocketAddr>,
    /// Replaces `[admin] listen`.
    pub admin: Option<SocketAddr>,
    /// A catch-all upstream: creates upstream and route `default`. Only
    /// allowed when the file defines no routes.
    pub upstream: Option<String>,
    /// `--tls-cert`: serve HTTPS with this certificate chain (replaces
    /// `[tls] cert`, or creates `[tls]`). Relative to the working directory.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`: the private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

/// Timeouts and sizes, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub connect_timeout: Duration,
    pub response_header_timeout: Duration,
    /// `None` when disabled.
    pub request_timeout: Option<Duration>,
    pub idle_timeout: Duration,
    pub max_request_header_bytes: usize,
    pub max_connections: usize,
    pub upstream_idle_timeout: Duration,
    pub upstream_max_idle_per_host: usize,
    /// Largest HTTP/1.1 upstream read buffer, bytes (>= 8192).
    pub upstream_read_buffer: usize,
    /// Concurrent HTTP/2 streams per client connection (>= 1).
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2 send buffer per stream, bytes (16384 ..= u32::MAX).
    pub h2_stream_send_buffer: usize,
}

/// A resolved upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    pub scheme: Scheme,
    pub authority: Authority,
    pub h2: bool,
    pub preserve_host: bool,
    pub tls: Option<UpstreamTlsSection>,
    /// The verified rustls client configuration for `https://` upstreams,
    /// built (files read and checked) once at load time.
    pub tls_client: Option<Arc<rustls::ClientConfig>>,
    /// SNI / certificate name override (`tls.server_name`).
    pub tls_server_name: Option<rustls_pki_types::ServerName<'static>>,
}

impl Upstream {
    /// True when a client built for `self` can serve `other` unchanged
    /// (upstreams with TLS settings are never considered the same, so a
    /// reload always picks up new certificates).
    pub fn same_transport(&self, other: &Upstream) -> bool {
        self.scheme == other.scheme
            && self.authority == other.authority
            && self.h2 == other.h2
            && self.tls.is_none()
            && other.tls.is_none()
    }
}

/// How a route matches the request's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    /// No `host` given.
    Any,
    /// Lower-case host without port.
    Exact(String),
    /// `*.example.com`, stored as `.example.com`.
    Suffix(String),
}

/// A resolved route.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: Arc<str>,
    pub host: HostMatch,
    pub path_prefix: String,
    /// Index into [`Runtime::upstreams`].
    pub upstream: usize,
    pub policy: Arc<Policy>,
}

/// Everything the running proxy needs, validated.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub listen: Vec<SocketAddr>,
    /// `None` when the admin listener is disabled.
    pub admin: Option<SocketAddr>,
    /// Who may use the admin listener (token, host names).
    pub admin_access: Access,
    pub drain_timeout: Duration,
    pub limits: Limits,
    pub upstreams: Vec<Arc<Upstream>>,
    pub routes: Vec<Route>,
    pub policies: HashMap<String, Arc<Policy>>,
    /// The audit log the `[audit]` section asks for (opened here, so a bad
    /// path is a configuration error).
    pub audit: Arc<AuditSink>,
    /// The access log the `[access_log]` section asks for (opened here).
    pub access_log: Arc<crate::access_log::AccessLog>,
    /// The parsed file, for sections other modules turn into their own
    /// runtime objects (TLS, audit, logging).
    pub file: Arc<FileConfig>,
    /// The listener's TLS (certificates read and checked at load time);
    /// `None` serves plain HTTP and h2c.
    pub tls: Option<Arc<crate::tls::ServerTls>>,
    /// Exfiltration budgets, validated (run by [`crate::exfil`]).
    pub exfil: Arc<crate::config::exfiltration::ExfilSettings>,
    /// Every configured certificate's `notAfter` (Unix seconds), labelled
    /// `listener`, `sni:<first name>` or `upstream:<name>`, for the expiry
    /// gauge. Labels come from the configuration, so the set is bounded.
    pub certificates: Vec<(String, i64)>,
}

impl Runtime {
    /// Validates a parsed file plus overrides. `source` names the file in
    /// error messages.
    pub fn build(
        file: FileConfig,
        overrides: &Overrides,
        source: &str,
    ) -> Result<Runtime, ConfigError> {
        let invalid = |msg: String| ConfigError::Invalid(format!("{source}: {msg}"));
        let mut file = file;

        if !overrides.listen.is_empty() {
            file.server.listen = overrides.listen.clone();
        }
        if let Some(admin) = overrides.admin {
            file.admin.listen = admin;
            file.admin.enabled = true;
        }
        if let Some(url) = &overrides.upstream {
            if !file.routes.is_empty() {
                return Err(invalid(
                    "--upstream cannot be combined with a configuration that defines [[routes]]"
                        .into(),
                ));
            }
            if file.upstreams.contains_key("default") {
                return Err(invalid(
                    "--upstream would replace the upstream named \"default\"; rename it or drop the flag".into(),
                ));
            }
            file.upstreams.insert(
                "default".into(),
                UpstreamSection { url: url.clone(), h2: false, preserve_host: true, tls: None },
            );
            file.routes.push(RouteSection {
                name: "default".into(),
                host: None,
                path_prefix: "/".into(),
                upstream: "default".into(),
                policy: None,
            });
        }

        match (&overrides.tls_cert, &overrides.tls_key) {
            (None, None) => {}
            (Some(cert), Some(key)) => {
                // Flags are relative to where the command runs, not to the file.
                let cwd = std::env::current_dir().unwrap_or_default();
                let (cert, key) = (cwd.join(cert), cwd.join(key));
                match &mut file.tls {
                    Some(tls) => {
                        tls.cert = cert;
                        tls.key = key;
                    }
                    None => file.tls = Some(ListenerTlsSection::from_files(cert, key)),
                }
            }
            _ => return Err(invalid("--tls-cert and --tls-key must be given together".into())),
        }
        // TLS file paths in the configuration are relative to its directory.
        let base_dir = Path::new(source).parent().unwrap_or(Path::new("")).to_path_buf();
        let tls = match &file.tls {
            Some(section) => Some(Arc::new(
                crate::tls::ServerTls::new(section.clone(), base_dir.clone())
                    .map_err(|e| invalid(format!("[tls] {e}")))?,
            )),
            None => None,
        };

        if file.server.listen.is_empty() {
            return Err(invalid("[server] listen: at least one address is required".into()));
        }
        let limits = build_limits(&file).map_err(invalid)?;
        crate::config::inventory::validate(&file.inventory).map_err(invalid)?;
        crate::logging::validate(&file.log).map_err(|e| invalid(format!("[log] {e}")))?;

        let mut policies = HashMap::new();
        for (name, section) in &file.policies {
            let policy = Policy::build(name, section, &file.detect)?;
            policies.insert(name.clone(), Arc::new(policy));
        }
        if !policies.contains_key(DEFAULT_POLICY) {
            let policy = Policy::build(DEFAULT_POLICY, &PolicySection::default(), &file.detect)?;
            policies.insert(DEFAULT_POLICY.to_string(), Arc::new(policy));
        }

        let mut upstreams = Vec::new();
        let mut upstream_index = BTreeMap::new();
        for (name, section) in &file.upstreams {
            let upstream = build_upstream(name, section, &base_dir).map_err(invalid)?;
            upstream_index.insert(name.clone(), upstreams.len());
            upstreams.push(Arc::new(upstream));
        }

        if file.routes.is_empty() {
            return Err(invalid(
                "no routes: add [[routes]] to the file, or pass --upstream URL".into(),
            ));
        }
        let mut routes: Vec<Route> = Vec::new();
        for section in &file.routes {
            let route = build_route(section, &upstream_index, &policies).map_err(invalid)?;
            if routes.iter().any(|r| *r.name == *route.name) {
                return Err(invalid(format!("duplicate route name {:?}", section.name)));
            }
            if let Some(other) =
                routes.iter().find(|r| r.host == route.host && r.path_prefix == route.path_prefix)
            {
                return Err(invalid(format!(
                    "routes {:?} and {:?} match the same host and path prefix",
                    other.name, route.name
                )));
            }
            routes.push(route);
        }

        let certificates = certificate_expiries(&file, &base_dir);
        let admin_access = build_admin_access(&file.admin, &base_dir, |k| std::env::var(k).ok())
            .map_err(invalid)?;
        let audit = AuditSink::from_config(&file.audit).map_err(|e| invalid(e.to_string()))?;
        let access_log = crate::access_log::AccessLog::from_config(&file.access_log)
            .map_err(|e| invalid(e.to_string()))?;
        // Exfiltration budgets: kind names are the built-in and custom ones;
        // client hashes use [detect]'s key unless the section names its own.
        let exfil = crate::config::exfiltration::ExfilSettings::build(
            &file.exfiltration,
            policies.keys().map(String::as_str),
            &|k: &str| {
                crate::detect::Kind::from_name(k).is_some()
                    || file.detect.custom.iter().any(|r| r.name == k)
            },
            &policies[DEFAULT_POLICY].engine.config().hash_key,
            &|var: &str| std::env::var(var).ok(),
        )
        .map_err(invalid)?;

        Ok(Runtime {
            listen: file.server.listen.clone(),
            admin: file.admin.enabled.then_some(file.admin.listen),
            admin_access,
            drain_timeout: file.server.drain_timeout.0,
            limits,
            upstreams,
            routes,
            policies,
            audit: Arc::new(audit),
            access_log: Arc::new(access_log),
            file: Arc::new(file),
            tls,
            exfil: Arc::new(exfil),
            certificates,
        })
    }
}

/// The admin listener's access rules; reads the token file or variable.
/// Errors name the setting, the file or the variable, never the token.
fn build_admin_access(
    section: &AdminSection,
    base_dir: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Access, String> {
    let token = match (&section.token_file, &section.token_env) {
        (Some(_), Some(_)) => return Err("[admin] set token_file or token_env, not both".into()),
        (Some(path), None) => {
            let path = base_dir.join(path);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("[admin] token_file: cannot read {}: {e}", path.display()))?;
            let token = AdminToken::new(&text)
                .map_err(|e| format!("[admin] token_file {}: {e}", path.display()))?;
            Some(token)
        }
        (None, Some(var)) => {
            let text = env(var).ok_or_else(|| {
                format!("[admin] token_env: environment variable {var:?} is not set")
            })?;
            Some(AdminToken::new(&text).map_err(|e| format!("[admin] token_env {var:?}: {e}"))?)
        }
        (None, None) => None,
    };
    let mut hosts = Vec::new();
    for h in &section.hosts {
        match parse_host_match(h) {
            Some(HostMatch::Exact(h)) => hosts.push(h),
            _ => return Err(format!("[admin] hosts: {h:?} must be a host name")),
        }
    }
    Ok(Access { token, hosts, allow_remote_without_token: section.allow_remote_without_token })
}

/// The expiry of every certificate the file configures (already checked
/// by the TLS builders, which report unreadable files).
fn certificate_expiries(file: &FileConfig, base_dir: &Path) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut add = |label: String, cert: &Path| {
        if let Some(not_after) = crate::tls::leaf_not_after(base_dir, cert) {
            out.push((label, not_after));
        }
    };
    if let Some(tls) = &file.tls {
        add("listener".into(), &tls.cert);
        for entry in &tls.sni {
            let name = entry.names.first().map_or("", String::as_str);
            add(format!("sni:{name}"), &entry.cert);
        }
    }
    for (name, upstream) in &file.upstreams {
        if let Some(cert) = upstream.tls.as_ref().and_then(|t| t.client_cert.as_ref()) {
            add(format!("upstream:{name}"), cert);
        }
    }
    out
}

/// Reads, parses and validates a configuration file with overrides applied.
pub fn load(path: &Path, overrides: &Overrides) -> Result<(FileConfig, Runtime), ConfigError> {
    let file = read_file(path)?;
    let runtime = Runtime::build(file.clone(), overrides, &path.display().to_string())?;
    Ok((file, runtime))
}

/// Builds the runtime from an optional file plus overrides (the `run`
/// command's logic: flags alone are enough for a sidecar).
pub fn load_optional(path: Option<&Path>, overrides: &Overrides) -> Result<Runtime, ConfigError> {
    match path {
        Some(p) => load(p, overrides).map(|(_, rt)| rt),
        None => Runtime::build(FileConfig::default(), overrides, "command line"),
    }
}

fn build_limits(file: &FileConfig) -> Result<Limits, String> {
    let l = &file.limits;
    let nonzero = |name: &str, d: Duration| {
        if d.is_zero() {
            Err(format!("[limits] {name} must be more than 0"))
        } else {
            Ok(d)
        }
    };
    if l.max_request_header_bytes < 8192 {
        return Err(format!(
            "[limits] max_request_header_bytes must be at least 8192 (got {})",
            l.max_request_header_bytes
        ));
    }
    if l.max_request_header_bytes > u32::MAX as usize {
        return Err("[limits] max_request_header_bytes is too large".into());
    }
    if l.max_connections == 0 {
        return Err("[limits] max_connections must be at least 1".into());
    }
    // hyper panics below these minimums (and above u32::MAX for the send
    // buffer): refuse them here with a message instead.
    if l.upstream_read_buffer < 8192 {
        return Err(format!(
            "[limits] upstream_read_buffer must be at least 8192 (got {})",
            l.upstream_read_buffer
        ));
    }
    if l.h2_max_concurrent_streams == 0 {
        return Err("[limits] h2_max_concurrent_streams must be at least 1".into());
    }
    if l.h2_stream_send_buffer < 16384 || l.h2_stream_send_buffer > u32::MAX as usize {
        return Err(format!(
            "[limits] h2_stream_send_buffer must be between 16384 and {} (got {})",
            u32::MAX,
            l.h2_stream_send_buffer
        ));
    }
    Ok(Limits {
        connect_timeout: nonzero("connect_timeout", l.connect_timeout.0)?,
        response_header_timeout: nonzero("response_header_timeout", l.response_header_timeout.0)?,
        request_timeout: (!l.request_timeout.0.is_zero()).then_some(l.request_timeout.0),
        idle_timeout: nonzero("idle_timeout", l.idle_timeout.0)?,
        max_request_header_bytes: l.max_request_header_bytes,
        max_connections: l.max_connections,
        upstream_idle_timeout: nonzero("upstream_idle_timeout", l.upstream_idle_timeout.0)?,
        upstream_max_idle_per_host: l.upstream_max_idle_per_host,
        upstream_read_buffer: l.upstream_read_buffer,
        h2_max_concurrent_streams: l.h2_max_concurrent_streams,
        h2_stream_send_buffer: l.h2_stream_send_buffer,
    })
}

fn build_upstream(
    name: &str,
    section: &UpstreamSection,
    base_dir: &Path,
) -> Result<Upstream, String> {
    let bad = |why: &str| format!("upstream {name:?}: url {:?} {why}", section.url);
    let uri: Uri = section.url.parse().map_err(|_| bad("is not a valid URL"))?;
    let scheme = uri.scheme().cloned().ok_or_else(|| bad("needs a scheme (http://)"))?;
    let authority = uri.authority().cloned().ok_or_else(|| bad("needs a host"))?;
    if scheme != Scheme::HTTPS && scheme != Scheme::HTTP {
        return Err(bad("must start with http:// or https://"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad("must not have a path or query (routes forward the path unchanged)"));
    }
    if authority.as_str().contains('@') {
        return Err(bad("must not contain credentials"));
    }
    if section.tls.is_some() && scheme != Scheme::HTTPS {
        return Err(bad("has a tls table but does not use https://"));
    }
    // https:// without a tls table: bundled roots, URL host as the name.
    let (tls_client, tls_server_name) = if scheme == Scheme::HTTPS {
        let tls = section.tls.clone().unwrap_or_default();
        let tls_err = |e: crate::tls::TlsError| format!("upstream {name:?}: {e}");
        let client = crate::tls::client_config(&tls, base_dir, section.h2).map_err(tls_err)?;
        let server_name = tls
            .server_name
            .as_deref()
            .map(crate::tls::upstream_server_name)
            .transpose()
            .map_err(tls_err)?;
        (Some(client), server_name)
    } else {
        (None, None)
    };
    Ok(Upstream {
        name: name.to_string(),
        scheme,
        authority,
        h2: section.h2,
        preserve_host: section.preserve_host,
        tls: section.tls.clone(),
        tls_client,
        tls_server_name,
    })
}

fn build_route(
    section: &RouteSection,
    upstreams: &BTreeMap<String, usize>,
    policies: &HashMap<String, Arc<Policy>>,
) -> Result<Route, String> {
    let name = &section.name;
    if name.is_empty() || name.len() > 64 || !name.bytes().all(is_label_byte) {
        return Err(format!(
            "route name {name:?} must be 1-64 characters of letters, digits, '-', '_' or '.' (it is a metrics label)"
        ));
    }
    let upstream = *upstreams.get(&section.upstream).ok_or_else(|| {
        let known: Vec<&str> = upstreams.keys().map(String::as_str).collect();
        format!(
            "route {name:?}: unknown upstream {:?} (defined: {})",
            section.upstream,
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )
    })?;
    let policy_name = section.policy.as_deref().unwrap_or(DEFAULT_POLICY);
    let policy = policies.get(policy_name).cloned().ok_or_else(|| {
        let mut known: Vec<&str> = policies.keys().map(String::as_str).collect();
        known.sort_unstable();
        format!("route {name:?}: unknown policy {policy_name:?} (defined: {})", known.join(", "))
    })?;
    let host = match section.host.as_deref() {
        None => HostMatch::Any,
        Some(h) => parse_host_match(h).ok_or_else(|| {
            format!("route {name:?}: host {h:?} must be a host name, or *.domain for subdomains")
        })?,
    };
    let prefix = &section.path_prefix;
    if !prefix.starts_with('/') || prefix.contains(['?', '#', ' ']) {
        return Err(format!(
            "route {name:?}: path_prefix {prefix:?} must start with '/' and hold no query"
        ));
    }
    Ok(Route {
        name: Arc::from(name.as_str()),
        host,
        path_prefix: prefix.clone(),
        upstream,
        policy,
    })
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

fn parse_host_match(h: &str) -> Option<HostMatch> {
    let h = h.trim().to_ascii_lowercase();
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
            && !s.starts_with('.')
            && !s.ends_with('.')
    };
    if let Some(rest) = h.strip_prefix("*.") {
        return valid(rest).then(|| HostMatch::Suffix(format!(".{rest}")));
    }
    valid(&h).then_some(HostMatch::Exact(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(toml_text: &str, overrides: &Overrides) -> Result<Runtime, String> {
        let file: FileConfig = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        Runtime::build(file, overrides, "test.toml").map_err(|e| e.to_string())
    }

    const GOOD: &str = r#"
[upstreams.app]
url = "http://127.0.0.1:3000"
[upstreams.api]
url = "http://127.0.0.1:3001"
h2 = true
preserve_host = false
[[routes]]
name = "site"
upstream = "app"
[[routes]]
name = "api"
host = "*.Example.com"
path_prefix = "/api"
upstream = "api"
"#;

    #[test]
    fn valid_config_resolves_names() {
        let rt = build(GOOD, &Overrides::default()).unwrap();
        assert_eq!(rt.routes.len(), 2);
        let api = &rt.routes[1];
        assert_eq!(rt.upstreams[api.upstream].name, "api");
        assert!(rt.upstreams[api.upstream].h2);
        assert_eq!(api.host, HostMatch::Suffix(".example.com".into()));
        assert_eq!(api.policy.name, DEFAULT_POLICY);
        assert!(rt.policies.contains_key(DEFAULT_POLICY));
        assert_eq!(rt.limits.request_timeout, Some(Duration::from_secs(300)));
    }

    #[test]
    fn upstream_flag_makes_a_catch_all_route() {
        let o = Overrides {
            upstream: Some("http://127.0.0.1:3000".into()),
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            ..Overrides::default()
        };
        let rt = build("", &o).unwrap();
        assert_eq!(rt.routes.len(), 1);
        assert_eq!(&*rt.routes[0].name, "default");
        assert_eq!(rt.upstreams[0].authority.as_str(), "127.0.0.1:3000");
        assert_eq!(rt.listen, o.listen);
    }

    #[test]
    fn invalid_configs_name_the_problem() {
        let route = |extra: &str| {
            format!("[upstreams.app]\nurl = \"http://h:1\"\n[[routes]]\nname = \"r\"\nupstream = \"app\"\n{extra}")
        };
        let cases: Vec<(String, Overrides, &str)> = vec![
            ("".into(), Overrides::default(), "no routes"),
            (
                "[[routes]]\nname = \"r\"\nupstream = \"nope\"\n".into(),
                Overrides::default(),
                "unknown upstream \"nope\"",
            ),
            (route("policy = \"strict\""), Overrides::default(), "unknown policy \"strict\""),
            (route("path_prefix = \"api\""), Overrides::default(), "must start with '/'"),
            (route("host = \"bad host\""), Overrides::default(), "host \"bad host\""),
            (
                format!("{}[[routes]]\nname = \"r\"\nupstream = \"app\"\npath_prefix = \"/x\"\n", route("")),
                Overrides::default(),
                "duplicate route name \"r\"",
            ),
            (
                "[upstreams.a]\nurl = \"ftp://h\"\n[[routes]]\nname = \"r\"\nupstream = \"a\"\n".into(),
                Overrides::default(),
                "must start with http://",
            ),
            (
                "[upstreams.a]\nurl = \"http://h/base\"\n[[routes]]\nname = \"r\"\nupstream = \"a\"\n".into(),
                Overrides::default(),
                "must not have a path",
            ),
            (
                "[upstreams.a]\nurl = \"https://h\"\ntls = { builtin_roots = false }\n[[routes]]\nname = \"r\"\nupstream = \"a\"\n".into(),
                Overrides::default(),
                "builtin_roots = false needs a ca_file",
            ),
            (
                format!("[limits]\nmax_request_header_bytes = 100\n{}", route("")),
                Overrides::default(),
                "at least 8192",
            ),
            (
                format!("[limits]\nupstream_read_buffer = 4096\n{}", route("")),
                Overrides::default(),
                "upstream_read_buffer must be at least 8192",
            ),
            (
                format!("[limits]\nh2_max_concurrent_streams = 0\n{}", route("")),
                Overrides::default(),
                "h2_max_concurrent_streams must be at least 1",
            ),
            (
                format!("[limits]\nh2_stream_send_buffer = 1024\n{}", route("")),
                Overrides::default(),
                "h2_stream_send_buffer must be between 16384",
            ),
            (
                format!("[limits]\nh2_stream_send_buffer = 5000000000\n{}", route("")),
                Overrides::default(),
                "h2_stream_send_buffer must be between 16384",
            ),
            (
                format!("[limits]\nconnect_timeout = \"0s\"\n{}", route("")),
                Overrides::default(),
                "connect_timeout must be more than 0",
            ),
            (
                route(""),
                Overrides { upstream: Some("http://h:2".into()), ..Overrides::default() },
                "cannot be combined",
            ),
            (
                route("name = \"x y\""),
                Overrides::default(),
                "duplicate key", // toml itself rejects the second name
            ),
        ];
        for (text, o, want) in cases {
            let err = build(&text, &o).expect_err(&text);
            assert!(err.contains(want), "config:\n{text}\nerror: {err}\nwanted: {want}");
        }
    }

    #[test]
    fn route_names_are_bounded_metric_labels() {
        let text =
            "[upstreams.a]\nurl = \"http://h\"\n[[routes]]\nname = \"a b\"\nupstream = \"a\"\n";
        let err = build(text, &Overrides::default()).unwrap_err();
        assert!(err.contains("metrics label"), "{err}");
    }
}

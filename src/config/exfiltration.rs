//! The `[exfiltration]` section (per-client budgets of sensitive values,
//! optionally shared across replicas through Redis) and its validation into
//! [`ExfilSettings`], the immutable runtime form that [`crate::exfil`] runs.
//!
//! Like the rest of `config`, this module only reads and validates: it never
//! connects to a store. It must never echo a store password or a hash key in
//! an error or a `Debug` output.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Deserialize;

use super::file::ConfigDuration;

/// Default window when none is given.
const DEFAULT_WINDOW: Duration = Duration::from_secs(3600);
/// Default bound on the request-start read from a shared store.
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_millis(5);
/// Default prefix of every key the guard writes to a shared store.
pub const DEFAULT_KEY_PREFIX: &str = "leakwarden:exfil:";
/// Shortest key for hashing client identifiers (same rule as `[detect]`).
const MIN_KEY: usize = 16;

/// The `[exfiltration]` section. With no `budget` here and none in
/// `policies`, the feature is off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExfiltrationSection {
    /// Which client a response is charged to: `"client_ip"` (default, the
    /// TCP peer), `"header:NAME"`, `"cookie:NAME"` or `"jwt_sub"` (the `sub`
    /// claim of an `Authorization: Bearer` token). A request without the
    /// header, cookie or token is charged to its client IP.
    #[serde(default)]
    pub key: Option<String>,
    /// Length of the budget window, like `"1h"` (at least 1s). Counted as
    /// two fixed buckets of this length, the previous one weighted by how
    /// much of it still lies inside the sliding window.
    #[serde(default)]
    pub window: Option<ConfigDuration>,
    /// Values of each kind a client may receive in one window, by kind name
    /// (built-in kinds or `[[detect.custom]]` names), each at least 1, for
    /// example `{ card = 50, ssn = 20 }`. Empty: no budget (feature off for
    /// policies that set none).
    #[serde(default)]
    pub budget: BTreeMap<String, u64>,
    /// `"block"` (default: a client over budget gets the block page on its
    /// next request to a route under the policy) or `"monitor"` (counted
    /// and audited only).
    #[serde(default)]
    pub action: Option<BudgetAction>,
    /// `"local"` (default: counters in this process, exact for one replica)
    /// or a `redis://` / `rediss://` URL shared by every replica. Prefer
    /// `store_env` when the URL carries a password.
    #[serde(default)]
    pub store: Option<String>,
    /// Name of an environment variable holding the store URL (instead of
    /// `store`).
    #[serde(default)]
    pub store_env: Option<String>,
    /// Prefix of every key written to a shared store. Default
    /// `"leakwarden:exfil:"`.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// When the shared store cannot answer: `"local"` (default: decide and
    /// count with this replica's own counters until it is back) or
    /// `"fail_closed"` (requests on a route with a budget get the block page
    /// in block mode until the store answers again).
    #[serde(default)]
    pub on_store_error: Option<OnStoreError>,
    /// Longest wait for the shared store's answer at request start (default
    /// `"5ms"`, at most `"1s"`); past it the request is decided as
    /// `on_store_error` says.
    #[serde(default)]
    pub read_timeout: Option<ConfigDuration>,
    /// Name of an environment variable holding the key (at least 16 bytes)
    /// with which client identifiers are hashed. Default: `[detect]`'s hash
    /// key. A shared store needs one of the two, identical on every replica;
    /// the local store uses a random per-process key without.
    #[serde(default)]
    pub hash_key_env: Option<String>,
    /// Per-policy overrides, by policy name. A policy with its own `key`,
    /// `window` or `budget` counts in its own scope; the others share one.
    #[serde(default)]
    pub policies: BTreeMap<String, ExfiltrationOverride>,
}

/// One `[exfiltration.policies.<name>]` table: what differs for routes under
/// that policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExfiltrationOverride {
    /// `false` exempts the policy from every budget. Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replaces `[exfiltration] key` for this policy.
    #[serde(default)]
    pub key: Option<String>,
    /// Replaces `[exfiltration] window` for this policy.
    #[serde(default)]
    pub window: Option<ConfigDuration>,
    /// Replaces `[exfiltration] budget` (the whole table) for this policy.
    #[serde(default)]
    pub budget: Option<BTreeMap<String, u64>>,
    /// Replaces `[exfiltration] action` for this policy.
    #[serde(default)]
    pub action: Option<BudgetAction>,
}

/// What happens to a client over budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetAction {
    /// The block page, before the upstream is called.
    Block,
    /// Served; counted and audited only.
    Monitor,
}

impl BudgetAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetAction::Block => "block",
            BudgetAction::Monitor => "monitor",
        }
    }
}

/// What a shared store failure does to decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStoreError {
    /// Use this replica's own counters.
    Local,
    /// Block (in block mode) while the store cannot answer.
    FailClosed,
}

/// How a request names its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKey {
    ClientIp,
    /// Lower-case header name.
    Header(http::HeaderName),
    Cookie(String),
    JwtSub,
}

impl ClientKey {
    fn parse(text: &str) -> Result<ClientKey, String> {
        let bad = || {
            format!("key {text:?}: expected \"client_ip\", \"header:NAME\", \"cookie:NAME\" or \"jwt_sub\"")
        };
        match text {
            "client_ip" => return Ok(ClientKey::ClientIp),
            "jwt_sub" => return Ok(ClientKey::JwtSub),
            _ => {}
        }
        if let Some(name) = text.strip_prefix("header:") {
            return http::HeaderName::from_bytes(name.as_bytes())
                .map(ClientKey::Header)
                .map_err(|_| bad());
        }
        if let Some(name) = text.strip_prefix("cookie:") {
            let token = |b: u8| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b);
            if !name.is_empty() && name.bytes().all(token) {
                return Ok(ClientKey::Cookie(name.to_string()));
            }
        }
        Err(bad())
    }
}

/// The budget one policy runs under, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetRule {
    /// Counter namespace: `"_"` for policies sharing the section's rule, the
    /// policy's name for one with its own key, window or budget.
    pub scope: String,
    pub key: ClientKey,
    pub window: Duration,
    /// (kind name, budget), sorted by kind name.
    pub budget: Vec<(String, u64)>,
    pub action: BudgetAction,
}

/// Where counters live.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSettings {
    Local,
    /// A `redis://` or `rediss://` URL (may hold a password: never printed)
    /// and the key prefix.
    Redis {
        url: String,
        prefix: String,
    },
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSettings::Local => f.write_str("Local"),
            StoreSettings::Redis { url, prefix } => {
                let scheme = url.split("://").next().unwrap_or("redis");
                write!(f, "Redis {{ url: \"{scheme}://…\", prefix: {prefix:?} }}")
            }
        }
    }
}

/// The validated `[exfiltration]` section.
#[derive(Clone, PartialEq)]
pub struct ExfilSettings {
    pub store: StoreSettings,
    pub on_store_error: OnStoreError,
    pub read_timeout: Duration,
    /// Key the client identifiers are hashed under (never printed).
    pub hash_key: Vec<u8>,
    /// Rules by policy name; a policy missing here has no budget.
    pub rules: HashMap<String, Arc<BudgetRule>>,
}

impl fmt::Debug for ExfilSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExfilSettings")
            .field("store", &self.store)
            .field("on_store_error", &self.on_store_error)
            .field("read_timeout", &self.read_timeout)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl ExfilSettings {
    /// True when no policy has a budget.
    pub fn is_off(&self) -> bool {
        self.rules.is_empty()
    }

    /// Validates the section. `policies` are the names of every policy the
    /// runtime knows, `kinds` every kind name (built-in and custom),
    /// `detect_key` the `[detect]` hash key (empty when unset).
    pub fn build<'a>(
        section: &ExfiltrationSection,
        policies: impl IntoIterator<Item = &'a str>,
        kinds: &dyn Fn(&str) -> bool,
        detect_key: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ExfilSettings, String> {
        let bad = |m: String| format!("[exfiltration] {m}");
        let policies: Vec<&str> = policies.into_iter().collect();
        for name in section.policies.keys() {
            if !policies.contains(&name.as_str()) {
                return Err(bad(format!("policies.{name}: no policy named {name:?}")));
            }
        }
        let store_text = match (&section.store, &section.store_env) {
            (Some(_), Some(_)) => return Err(bad("set store or store_env, not both".into())),
            (Some(s), None) => s.clone(),
            (None, Some(var)) => env(var).ok_or_else(|| {
                bad(format!("store_env: environment variable {var:?} is not set"))
            })?,
            (None, None) => "local".into(),
        };
        let prefix = section.key_prefix.clone().unwrap_or_else(|| DEFAULT_KEY_PREFIX.into());
        let store = if store_text == "local" {
            StoreSettings::Local
        } else if store_text.starts_with("redis://") || store_text.starts_with("rediss://") {
            // Parsed here so that a typo is a configuration error; the
            // client's own message may quote the URL, so it is not shown.
            redis::Client::open(store_text.as_str()).map_err(|_| {
                bad("store: not a valid redis:// or rediss:// URL (host, port, /db)".into())
            })?;
            if prefix.is_empty() {
                return Err(bad("key_prefix must not be empty with a shared store".into()));
            }
            StoreSettings::Redis { url: store_text, prefix }
        } else {
            return Err(bad("store: expected \"local\" or a redis:// or rediss:// URL".into()));
        };
        let read_timeout = section.read_timeout.map_or(DEFAULT_READ_TIMEOUT, |d| d.0);
        if read_timeout.is_zero() || read_timeout > Duration::from_secs(1) {
            return Err(bad("read_timeout must be more than 0 and at most 1s".into()));
        }

        let hash_key = match &section.hash_key_env {
            Some(var) => {
                let k = env(var).ok_or_else(|| {
                    bad(format!("hash_key_env: environment variable {var:?} is not set"))
                })?;
                if k.len() < MIN_KEY {
                    // Never echo the key itself.
                    return Err(bad(format!("hash key must be at least {MIN_KEY} bytes")));
                }
                k.into_bytes()
            }
            None => detect_key.to_vec(),
        };

        let default_key =
            ClientKey::parse(section.key.as_deref().unwrap_or("client_ip")).map_err(&bad)?;
        let default_window = section.window.map_or(DEFAULT_WINDOW, |d| d.0);
        let default_action = section.action.unwrap_or(BudgetAction::Block);
        let mut rules = HashMap::new();
        for policy in policies {
            let o = section.policies.get(policy).cloned().unwrap_or_default();
            if o.enabled == Some(false) {
                continue;
            }
            let here = |m: String| match section.policies.contains_key(policy) {
                true => bad(format!("policies.{policy}: {m}")),
                false => bad(m),
            };
            let own_scope = o.key.is_some() || o.window.is_some() || o.budget.is_some();
            let key = match &o.key {
                Some(k) => ClientKey::parse(k).map_err(here)?,
                None => default_key.clone(),
            };
            let window = o.window.map_or(default_window, |d| d.0);
            if window < Duration::from_secs(1) {
                return Err(here("window must be at least 1s".into()));
            }
            let budget = o.budget.as_ref().unwrap_or(&section.budget);
            if budget.is_empty() {
                continue;
            }
            for (kind, &n) in budget {
                if !kinds(kind) {
                    return Err(here(format!("budget: unknown kind {kind:?}")));
                }
                if n == 0 {
                    return Err(here(format!("budget: {kind} must be at least 1")));
                }
            }
            let scope = if own_scope { policy.to_string() } else { "_".to_string() };
            rules.insert(
                policy.to_string(),
                Arc::new(BudgetRule {
                    scope,
                    key,
                    window,
                    budget: budget.iter().map(|(k, &n)| (k.clone(), n)).collect(),
                    action: o.action.unwrap_or(default_action),
                }),
            );
        }
        let shared = matches!(store, StoreSettings::Redis { .. });
        let hash_key = match (hash_key.is_empty(), shared) {
            (false, _) => hash_key,
            // Replicas must hash a client alike to share its counters.
            (true, true) if !rules.is_empty() => {
                return Err(bad(
                    "a shared store needs a hash key identical on every replica: set [detect] hash_key_env or [exfiltration] hash_key_env".into(),
                ))
            }
            (true, _) => process_key().to_vec(),
        };
        Ok(ExfilSettings {
            store,
            on_store_error: section.on_store_error.unwrap_or(OnStoreError::Local),
            read_timeout,
            hash_key,
            rules,
        })
    }
}

/// A random key for this process (the local store without a configured
/// key): stable across reloads, so counters survive them.
fn process_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        getrandom::getrandom(&mut k).expect("operating system random source unavailable");
        k
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(text: &str, env: &[(&str, &str)]) -> Result<ExfilSettings, String> {
        let section: ExfiltrationSection = toml::from_str(text).map_err(|e| e.to_string())?;
        let kinds = |k: &str| matches!(k, "card" | "ssn" | "email" | "honeytoken");
        let env = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        ExfilSettings::build(&section, ["default", "api", "open"], &kinds, b"", &env)
    }

    #[test]
    fn no_budget_is_off() {
        let s = build("", &[]).unwrap();
        assert!(s.is_off());
        assert_eq!(s.store, StoreSettings::Local);
        assert_eq!(s.read_timeout, DEFAULT_READ_TIMEOUT);
    }

    #[test]
    fn section_rule_is_shared_and_overrides_get_their_scope() {
        let s = build(
            r#"
budget = { card = 50, ssn = 20 }
window = "10m"
[policies.api]
key = "header:X-Api-Key"
budget = { email = 5 }
action = "monitor"
[policies.open]
enabled = false
"#,
            &[],
        )
        .unwrap();
        let d = &s.rules["default"];
        assert_eq!(d.scope, "_");
        assert_eq!(d.key, ClientKey::ClientIp);
        assert_eq!(d.window, Duration::from_secs(600));
        assert_eq!(d.budget, vec![("card".into(), 50), ("ssn".into(), 20)]);
        assert_eq!(d.action, BudgetAction::Block);
        let a = &s.rules["api"];
        assert_eq!(a.scope, "api");
        assert_eq!(a.key, ClientKey::Header(http::HeaderName::from_static("x-api-key")));
        assert_eq!(a.budget, vec![("email".into(), 5)]);
        assert_eq!(a.action, BudgetAction::Monitor);
        assert!(!s.rules.contains_key("open"));
        // Random per-process key for the local store.
        assert_eq!(s.hash_key.len(), 32);
    }

    #[test]
    fn keys_parse() {
        let cases = [
            ("client_ip", Some(ClientKey::ClientIp)),
            ("jwt_sub", Some(ClientKey::JwtSub)),
            ("cookie:session", Some(ClientKey::Cookie("session".into()))),
            ("header:x-user", Some(ClientKey::Header(http::HeaderName::from_static("x-user")))),
            ("header:bad name", None),
            ("cookie:", None),
            ("cookie:a;b", None),
            ("ip", None),
        ];
        for (text, want) in cases {
            assert_eq!(ClientKey::parse(text).ok(), want, "{text}");
        }
    }

    #[test]
    fn invalid_sections_name_the_problem() {
        let key = [("K", "0123456789abcdef0123")];
        let cases: &[(&str, &str)] = &[
            ("budget = { card = 0 }", "card must be at least 1"),
            ("budget = { cards = 1 }", "unknown kind \"cards\""),
            ("budget = { card = 1 }\nwindow = \"500ms\"", "at least 1s"),
            ("budget = { card = 1 }\nkey = \"ip\"", "key \"ip\""),
            ("store = \"memcached://h\"", "expected \"local\""),
            ("store = \"redis://h:notaport\"", "not a valid redis"),
            ("store = \"redis://h\"\nstore_env = \"S\"", "not both"),
            ("store_env = \"NOPE\"", "\"NOPE\" is not set"),
            ("read_timeout = \"0ms\"", "read_timeout"),
            ("read_timeout = \"2s\"", "read_timeout"),
            ("[policies.nope]\nenabled = false", "no policy named \"nope\""),
            ("[policies.api]\nbudget = { ssn = 0 }", "policies.api: budget: ssn"),
            ("budget = { card = 1 }\nstore = \"redis://127.0.0.1:6379\"", "needs a hash key"),
            ("hash_key_env = \"SHORT\"", "at least 16 bytes"),
        ];
        for (text, want) in cases {
            let env = [key[0], ("SHORT", "short")];
            let err = build(text, &env).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.starts_with("[exfiltration]"), "{err}");
        }
    }

    #[test]
    fn shared_store_with_a_key_hides_its_password() {
        let env = [("K", "0123456789abcdef0123"), ("URL", "redis://:s3cret@127.0.0.1:6390/2")];
        let s = build("budget = { card = 3 }\nstore_env = \"URL\"\nhash_key_env = \"K\"", &env)
            .unwrap();
        assert_eq!(s.hash_key, b"0123456789abcdef0123");
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("0123456789"), "{shown}");
        assert!(shown.contains("redis://…"), "{shown}");
    }
}

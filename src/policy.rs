//! Compiled per-route policies: which detectors run, what happens to each
//! kind (mask, redact, hash, block, detect), enforce or monitor, thresholds,
//! which content types are scanned and the limits that apply.
//!
//! A [`Policy`] is immutable once built; a reload builds new ones. Building
//! is the one place where a `[policies.<name>]` section is validated, so
//! every error here names the policy and the offending setting.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::config::detect::{
    CardMaskName, ContextKindSection, ContextWord, DetectSection, RuleActionName, ValidatorName,
};
use crate::config::policy::{
    AcceptEncoding, OnError, OverLimit, PolicyAction, PolicyMode, PolicySection, RequestAction,
};
use crate::config::ConfigError;
use crate::detect::{
    Action, CardMask, ContextConfig, ContextWords, CustomRule, Engine, EngineConfig, EngineError,
    Kind, Validator,
};
use crate::media::{MediaPattern, DEFAULT_SCANNED, DEFAULT_STREAM};

/// Default hold window: output bytes held before headers are sent.
pub const DEFAULT_HOLD_WINDOW: usize = 64 * 1024;
/// Default longest wait for the hold window to fill.
pub const DEFAULT_HOLD_TIMEOUT: Duration = Duration::from_millis(2000);
/// Default cap on the decoded size of a compressed response.
pub const DEFAULT_MAX_DECODED: u64 = 1 << 30;
/// Default cap on the decoded/encoded ratio of a compressed response.
pub const DEFAULT_MAX_RATIO: u64 = 250;

/// A compiled policy.
#[derive(Debug)]
pub struct Policy {
    pub name: String,
    pub engine: Arc<Engine>,
    pub mode: PolicyMode,
    /// The configured action of every enabled kind (`block` included; the
    /// engine itself masks kinds whose action is `block`).
    pub actions: BTreeMap<Kind, PolicyAction>,
    /// Block a response at this many findings of a kind.
    pub thresholds: BTreeMap<Kind, u64>,
    pub content_types: Vec<MediaPattern>,
    pub stream_types: Vec<MediaPattern>,
    pub scan_limit: Option<u64>,
    pub over_limit: OverLimit,
    pub hold_window: usize,
    pub hold_timeout: Duration,
    pub block_status: StatusCode,
    pub on_error: OnError,
    pub max_decoded_bytes: u64,
    pub max_ratio: u64,
    pub accept_encoding: AcceptEncoding,
    pub strip_range: bool,
    /// Request paths forwarded unscanned (`exempt_paths`).
    pub exempt_paths: Vec<PathPattern>,
    /// Whether requests are scanned (`scan_requests`).
    pub scan_requests: bool,
    /// Kinds whose findings in a request block it (`request_actions`).
    pub request_blocks: Vec<Kind>,
    pub request_hold_window: usize,
    pub request_hold_timeout: Duration,
}

/// An `exempt_paths` entry: a segment-wise prefix, or a glob whose `*`
/// matches within one segment and whose final `/**` matches any rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    Prefix(String),
    /// The pattern's segments (after the leading `/`); `rest` when it ends
    /// in `/**`.
    Glob {
        segments: Vec<String>,
        rest: bool,
    },
}

impl PathPattern {
    pub fn parse(s: &str) -> Result<PathPattern, String> {
        if !s.starts_with('/') || s.contains(['?', '#', ' ', '\\']) || s.contains("//") {
            return Err(format!("{s:?} must start with '/' and hold no query, space or '//'"));
        }
        if !s.contains('*') {
            let prefix = s.trim_end_matches('/');
            return Ok(PathPattern::Prefix(prefix.to_string()));
        }
        let (body, rest) = match s.strip_suffix("/**") {
            Some(b) => (b, true),
            None => (s, false),
        };
        if body.contains("**") {
            return Err(format!("{s:?}: '**' is only allowed as the final segment"));
        }
        let segments = body[1..].split('/').map(str::to_string).collect();
        Ok(PathPattern::Glob { segments: if body.is_empty() { vec![] } else { segments }, rest })
    }

    /// True when `path` (no query) matches.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Prefix(p) => {
                path.strip_prefix(p.as_str()).is_some_and(|r| r.is_empty() || r.starts_with('/'))
            }
            PathPattern::Glob { segments, rest } => {
                let Some(path) = path.strip_prefix('/') else { return false };
                let mut parts = path.split('/');
                for seg in segments {
                    match parts.next() {
                        Some(p) if wildcard(seg.as_bytes(), p.as_bytes()) => {}
                        _ => return false,
                    }
                }
                *rest || parts.next().is_none()
            }
        }
    }
}

/// `*` matches any run of bytes (within a segment: the caller splits).
/// Greedy with one backtrack point: linear in practice, never exponential.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// True when a path can be compared to `exempt_paths` as written: no dot
/// segments and no encoded separator or dot, which an upstream could
/// resolve to a different, scanned path (`/static/../account`).
fn plain_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    !lower.contains("%2e")
        && !lower.contains("%2f")
        && !lower.contains("%5c")
        && !path.contains('\\')
        && !path.contains("//")
        && !path.split('/').any(|s| s == "." || s == "..")
}

/// The default action of a kind a careful operator would pick: secrets,
/// cards, SSNs and IBANs are masked; email and phone are only detected
/// (they are everywhere on legitimate pages).
pub fn default_action(kind: Kind) -> PolicyAction {
    match kind {
        Kind::Email | Kind::Phone => PolicyAction::Detect,
        _ => PolicyAction::Mask,
    }
}

// The three action vocabularies, mapped here and nowhere else: the
// configuration's names for a policy (`PolicyAction`, which adds `block`) and
// for a custom rule's default (`RuleActionName`), and the engine's rewrite
// (`Action`, which knows nothing of blocking: a blocked kind is masked while
// the block decision is made, so nothing raw is emitted in the meantime).

fn engine_action(a: PolicyAction) -> Action {
    match a {
        PolicyAction::Mask | PolicyAction::Block => Action::Mask,
        PolicyAction::Redact => Action::Redact,
        PolicyAction::Hash => Action::Hash,
        PolicyAction::Detect => Action::Detect,
    }
}

fn policy_action(a: Action) -> PolicyAction {
    match a {
        Action::Mask => PolicyAction::Mask,
        Action::Redact => PolicyAction::Redact,
        Action::Hash => PolicyAction::Hash,
        Action::Detect => PolicyAction::Detect,
    }
}

fn rule_action(a: RuleActionName) -> Action {
    match a {
        RuleActionName::Mask => Action::Mask,
        RuleActionName::Redact => Action::Redact,
        RuleActionName::Hash => Action::Hash,
        RuleActionName::Detect => Action::Detect,
    }
}

fn resolve_kind(name: &str, custom: &[CustomRule]) -> Option<Kind> {
    Kind::from_name(name).or_else(|| {
        custom
            .iter()
            .position(|r| r.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(Kind::Custom)
    })
}

fn known_names(custom: &[CustomRule]) -> String {
    let mut names: Vec<&str> = Kind::BUILTIN.iter().map(|k| k.as_str()).collect();
    names.extend(custom.iter().map(|r| r.name.as_str()));
    names.join(", ")
}

fn patterns(name: &str, field: &str, list: &[String]) -> Result<Vec<MediaPattern>, ConfigError> {
    list.iter()
        .map(|s| {
            MediaPattern::parse(s)
                .map_err(|e| ConfigError::Invalid(format!("policy {name:?}: {field}: {e}")))
        })
        .collect()
}

impl Policy {
    /// Builds a policy from its section and the shared detector settings.
    pub fn build(
        name: &str,
        section: &PolicySection,
        detect: &DetectSection,
    ) -> Result<Policy, ConfigError> {
        let invalid = |msg: String| ConfigError::Invalid(format!("policy {name:?}: {msg}"));
        let mut cfg = engine_config(detect)?;
        let custom_rules = cfg.custom.clone();
        let kind = |field: &str, n: &str| {
            resolve_kind(n, &custom_rules).ok_or_else(|| {
                invalid(format!(
                    "{field}: unknown kind {n:?} (known: {})",
                    known_names(&custom_rules)
                ))
            })
        };

        let enabled: Vec<Kind> = match &section.detectors {
            Some(list) => {
                let mut v = Vec::with_capacity(list.len());
                for n in list {
                    let k = kind("detectors", n)?;
                    if !v.contains(&k) {
                        v.push(k);
                    }
                }
                v
            }
            None => Kind::BUILTIN
                .into_iter()
                .chain(
                    (0..custom_rules.len()).filter_map(|i| u16::try_from(i).ok()).map(Kind::Custom),
                )
                .collect(),
        };

        let mut actions = BTreeMap::new();
        for &k in &enabled {
            let rule_default = match k {
                Kind::Custom(i) => {
                    custom_rules.get(i as usize).and_then(|r| r.action).map(policy_action)
                }
                _ => None,
            };
            actions.insert(k, rule_default.unwrap_or_else(|| default_action(k)));
        }
        for (n, &a) in &section.actions {
            let k = kind("actions", n)?;
            if !enabled.contains(&k) {
                return Err(invalid(format!(
                    "actions: kind {n:?} has an action but is not in detectors"
                )));
            }
            actions.insert(k, a);
        }

        let mut thresholds = BTreeMap::new();
        for (n, &count) in &section.thresholds {
            let k = kind("thresholds", n)?;
            if count == 0 {
                return Err(invalid(format!("thresholds: {n} must be at least 1")));
            }
            if !enabled.contains(&k) {
                return Err(invalid(format!(
                    "thresholds: kind {n:?} has a threshold but is not in detectors"
                )));
            }
            thresholds.insert(k, count);
        }

        cfg.detectors = actions
            .iter()
            .filter(|(k, _)| !matches!(k, Kind::Custom(_)))
            .map(|(&k, &a)| (k, engine_action(a)))
            .collect();
        // Only enabled custom rules reach the engine; Kind::Custom(i) indexes
        // the engine's own list, so renumber the kinds that refer to them.
        let mut rules = Vec::new();
        let mut renumbered = BTreeMap::new();
        for (i, mut r) in cfg.custom.drain(..).enumerate() {
            let Some(&a) = actions.get(&Kind::Custom(i as u16)) else { continue };
            r.action = Some(engine_action(a));
            renumbered.insert(Kind::Custom(i as u16), Kind::Custom(rules.len() as u16));
            rules.push(r);
        }
        cfg.custom = rules;
        let renumber = |k: Kind| renumbered.get(&k).copied().unwrap_or(k);
        let actions: BTreeMap<Kind, PolicyAction> =
            actions.into_iter().map(|(k, a)| (renumber(k), a)).collect();
        let thresholds: BTreeMap<Kind, u64> =
            thresholds.into_iter().map(|(k, n)| (renumber(k), n)).collect();

        let content_types = patterns(
            name,
            "content_types",
            &section
                .content_types
                .clone()
                .unwrap_or_else(|| DEFAULT_SCANNED.iter().map(|s| s.to_string()).collect()),
        )?;
        let stream_types = patterns(
            name,
            "stream_types",
            &section
                .stream_types
                .clone()
                .unwrap_or_else(|| DEFAULT_STREAM.iter().map(|s| s.to_string()).collect()),
        )?;

        let block_status = section.block_status.unwrap_or(403);
        if !(400..=599).contains(&block_status) {
            return Err(invalid(format!(
                "block_status = {block_status}: must be a 4xx or 5xx status"
            )));
        }
        let block_status = StatusCode::from_u16(block_status)
            .map_err(|_| invalid(format!("block_status = {block_status}: not a status code")))?;
        if section.scan_limit_bytes == Some(0) {
            return Err(invalid(
                "scan_limit_bytes must be at least 1 (omit it for no limit)".into(),
            ));
        }
        let max_decoded_bytes = section.max_decoded_bytes.unwrap_or(DEFAULT_MAX_DECODED);
        if max_decoded_bytes == 0 {
            return Err(invalid("max_decoded_bytes must be at least 1".into()));
        }
        let max_ratio = section.max_decompression_ratio.unwrap_or(DEFAULT_MAX_RATIO);
        if max_ratio < 2 {
            return Err(invalid("max_decompression_ratio must be at least 2".into()));
        }
        let hold_timeout =
            section.hold_timeout_ms.map(Duration::from_millis).unwrap_or(DEFAULT_HOLD_TIMEOUT);
        if section.hold_timeout_ms == Some(0) && section.hold_window_bytes != Some(0) {
            return Err(invalid(
                "hold_timeout_ms must be at least 1 (set hold_window_bytes = 0 to disable the hold)"
                    .into(),
            ));
        }

        cfg.allow_values.extend(section.allow_values.iter().cloned());
        cfg.allow_patterns.extend(section.allow_patterns.iter().cloned());
        let exempt_paths = section
            .exempt_paths
            .iter()
            .map(|s| PathPattern::parse(s).map_err(|e| invalid(format!("exempt_paths: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;

        let mut request_blocks = Vec::new();
        for (n, &a) in &section.request_actions {
            let k = kind("request_actions", n)?;
            if !enabled.contains(&k) {
                return Err(invalid(format!(
                    "request_actions: kind {n:?} has an action but is not in detectors"
                )));
            }
            if a == RequestAction::Block && !request_blocks.contains(&renumber(k)) {
                request_blocks.push(renumber(k));
            }
        }
        let scan_requests = section.scan_requests.unwrap_or(true);
        if !scan_requests && !request_blocks.is_empty() {
            return Err(invalid(
                "request_actions block a kind but scan_requests = false: requests would never be scanned"
                    .into(),
            ));
        }
        let request_hold_timeout = section
            .request_hold_timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_HOLD_TIMEOUT);
        if section.request_hold_timeout_ms == Some(0)
            && section.request_hold_window_bytes != Some(0)
        {
            return Err(invalid(
                "request_hold_timeout_ms must be at least 1 (set request_hold_window_bytes = 0 to disable the hold)"
                    .into(),
            ));
        }

        let engine = Engine::new(cfg).map_err(|e| invalid(e.to_string()))?;
        Ok(Policy {
            name: name.to_string(),
            engine: Arc::new(engine),
            mode: section.mode.unwrap_or(PolicyMode::Enforce),
            actions,
            thresholds,
            content_types,
            stream_types,
            scan_limit: section.scan_limit_bytes,
            over_limit: section.over_limit.unwrap_or(OverLimit::Block),
            hold_window: section.hold_window_bytes.unwrap_or(DEFAULT_HOLD_WINDOW),
            hold_timeout,
            block_status,
            on_error: section.on_error.unwrap_or(OnError::FailClosed),
            max_decoded_bytes,
            max_ratio,
            accept_encoding: section.accept_encoding.unwrap_or(AcceptEncoding::Passthrough),
            strip_range: section.strip_range.unwrap_or(true),
            exempt_paths,
            scan_requests,
            request_blocks,
            request_hold_window: section.request_hold_window_bytes.unwrap_or(DEFAULT_HOLD_WINDOW),
            request_hold_timeout,
        })
    }

    /// The built-in default policy (what `[policies.default]` with no keys
    /// gives).
    pub fn default_policy() -> Policy {
        Policy::build("default", &PolicySection::default(), &DetectSection::default())
            .expect("the default policy is valid")
    }

    /// The configured action for a kind (what metrics and audit lines say).
    pub fn action(&self, kind: Kind) -> PolicyAction {
        self.actions.get(&kind).copied().unwrap_or(PolicyAction::Detect)
    }

    /// True when every action keeps the body length (mask, detect, and
    /// block, which masks).
    pub fn length_preserving(&self) -> bool {
        self.actions
            .values()
            .all(|a| matches!(a, PolicyAction::Mask | PolicyAction::Detect | PolicyAction::Block))
    }

    /// True when responses to `path` (no query) are forwarded unscanned.
    pub fn exempt(&self, path: &str) -> bool {
        !self.exempt_paths.is_empty()
            && plain_path(path)
            && self.exempt_paths.iter().any(|p| p.matches(path))
    }

    /// The configured request-side action for a kind.
    pub fn request_action(&self, kind: Kind) -> RequestAction {
        if self.request_blocks.contains(&kind) {
            RequestAction::Block
        } else {
            RequestAction::Detect
        }
    }

    /// True when a finding in a request can block it (enforce mode and a
    /// kind whose request action is `block`).
    pub fn request_enforces(&self) -> bool {
        !self.monitor() && !self.request_blocks.is_empty()
    }

    /// True in monitor mode.
    pub fn monitor(&self) -> bool {
        self.mode == PolicyMode::Monitor
    }
}

const MIN_KEY: usize = 16;

/// The engine settings a `[detect]` section describes, with every built-in
/// detector at its default action (policies then choose theirs). Every
/// regex is compiled here, so errors surface at load time.
pub fn engine_config(detect: &DetectSection) -> Result<EngineConfig, ConfigError> {
    engine_config_with_env(detect, |k| std::env::var(k).ok())
}

/// As [`engine_config`], reading environment variables through
/// `env` (testable).
pub fn engine_config_with_env(
    detect: &DetectSection,
    env: impl Fn(&str) -> Option<String>,
) -> Result<EngineConfig, ConfigError> {
    let bad = |m: String| ConfigError::Invalid(format!("[detect] {m}"));
    let hash_key = match (&detect.hash_key, &detect.hash_key_env) {
        (Some(_), Some(_)) => return Err(bad("set hash_key or hash_key_env, not both".into())),
        (Some(k), None) => k.expose().as_bytes().to_vec(),
        (None, Some(var)) => match env(var) {
            Some(k) => k.into_bytes(),
            None => {
                return Err(bad(format!("hash_key_env: environment variable {var:?} is not set")))
            }
        },
        (None, None) => Vec::new(),
    };
    if !hash_key.is_empty() && hash_key.len() < MIN_KEY {
        // Never echo the key itself.
        return Err(bad(format!("hash key must be at least {MIN_KEY} bytes")));
    }
    let custom = detect
        .custom
        .iter()
        .map(|r| CustomRule {
            name: r.name.clone(),
            literals: r.literals.clone(),
            case_insensitive: r.case_insensitive,
            regex: r.regex_str().map(str::to_string),
            validator: r.validator.map(|v| match v {
                ValidatorName::Luhn => Validator::Luhn,
                ValidatorName::Mod97 => Validator::Mod97,
            }),
            context: words(&r.context),
            not_context: words(&r.not_context),
            context_window: r.context_window.map(|w| w.0),
            action: r.action.map(rule_action),
        })
        .collect();
    let defaults = ContextConfig::default();
    let context = ContextConfig {
        card: context_words(&detect.context.card, defaults.card),
        phone: context_words(&detect.context.phone, defaults.phone),
        ssn: context_words(&detect.context.ssn, defaults.ssn),
    };
    let cfg = EngineConfig {
        card_mask: match detect.card_mask {
            CardMaskName::Last4 => CardMask::Last4,
            CardMaskName::First6Last4 => CardMask::First6Last4,
        },
        hash_key,
        custom,
        allow_values: detect.allow_values.clone(),
        allow_patterns: detect.allow_patterns.clone(),
        max_custom_match: detect.max_custom_match,
        context,
        ..EngineConfig::default()
    };
    Engine::new(cfg.clone()).map_err(|e| {
        // An error about a custom rule's regex names where it was written.
        let at = match &e {
            EngineError::Regex { rule, .. } | EngineError::Rule { rule, .. } => {
                detect.custom.iter().find(|r| &r.name == rule).and_then(|r| r.regex_at())
            }
            EngineError::Invalid(_) => None,
        };
        match at {
            Some(at) => ConfigError::At {
                file: at.file.clone(),
                line: at.line,
                column: at.column,
                message: format!("[detect] {e}"),
            },
            None => bad(e.to_string()),
        }
    })?;
    Ok(cfg)
}

fn words(list: &[ContextWord]) -> Vec<String> {
    list.iter().map(|w| w.as_str().to_string()).collect()
}

/// A detector's context: the configured lists where set, else the engine's.
fn context_words(section: &ContextKindSection, default: ContextWords) -> ContextWords {
    ContextWords {
        words: section.words.as_deref().map_or(default.words, words),
        not_words: section.not_words.as_deref().map_or(default.not_words, words),
        window: section.window.map_or(default.window, |w| w.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ContentHint;

    fn section(toml_src: &str) -> PolicySection {
        toml::from_str(toml_src).expect("valid policy toml")
    }

    fn build(toml_src: &str) -> Result<Policy, ConfigError> {
        Policy::build("p", &section(toml_src), &DetectSection::default())
    }

    #[test]
    fn defaults_are_careful() {
        let p = build("").unwrap();
        assert_eq!(p.mode, PolicyMode::Enforce);
        assert_eq!(p.action(Kind::Card), PolicyAction::Mask);
        assert_eq!(p.action(Kind::Ssn), PolicyAction::Mask);
        assert_eq!(p.action(Kind::Iban), PolicyAction::Mask);
        assert_eq!(p.action(Kind::AwsAccessKey), PolicyAction::Mask);
        assert_eq!(p.action(Kind::Email), PolicyAction::Detect);
        assert_eq!(p.action(Kind::Phone), PolicyAction::Detect);
        assert_eq!(p.hold_window, DEFAULT_HOLD_WINDOW);
        assert_eq!(p.block_status, StatusCode::FORBIDDEN);
        assert_eq!(p.on_error, OnError::FailClosed);
        assert_eq!(p.scan_limit, None);
        assert_eq!(p.over_limit, OverLimit::Block);
        assert!(p.strip_range);
        assert!(p.length_preserving());
        assert_eq!(p.engine.config().detectors.len(), Kind::BUILTIN.len());
    }

    #[test]
    fn request_actions_block_only_the_kinds_named() {
        let p = build("").unwrap();
        assert!(p.scan_requests && p.request_blocks.is_empty() && !p.request_enforces());
        assert_eq!(p.request_hold_window, DEFAULT_HOLD_WINDOW);
        let p = build("request_actions = { card = \"block\", email = \"detect\" }\nrequest_hold_window_bytes = 0\nrequest_hold_timeout_ms = 0").unwrap();
        assert_eq!(p.request_blocks, [Kind::Card]);
        assert_eq!(p.request_action(Kind::Email), RequestAction::Detect);
        assert!(p.request_enforces());
        let monitor = build("mode = \"monitor\"\nrequest_actions = { card = \"block\" }").unwrap();
        assert!(!monitor.request_enforces());
    }

    #[test]
    fn block_is_masked_in_the_engine() {
        let p = build("actions = { card = \"block\", ssn = \"redact\" }").unwrap();
        assert_eq!(p.action(Kind::Card), PolicyAction::Block);
        assert_eq!(p.engine.config().detectors[&Kind::Card], Action::Mask);
        assert_eq!(p.engine.config().detectors[&Kind::Ssn], Action::Redact);
        assert!(!p.length_preserving());
    }

    #[test]
    fn detectors_restrict_the_engine() {
        let p = build("detectors = [\"card\", \"jwt\"]\nthresholds = { card = 20 }").unwrap();
        let kinds: Vec<Kind> = p.engine.config().detectors.keys().copied().collect();
        assert_eq!(kinds, vec![Kind::Card, Kind::Jwt]);
        assert_eq!(p.thresholds[&Kind::Card], 20);
    }

    #[test]
    fn invalid_settings_name_the_policy_and_the_setting() {
        let cases = [
            ("detectors = [\"cards\"]", "unknown kind \"cards\""),
            ("actions = { passport = \"mask\" }", "unknown kind \"passport\""),
            ("thresholds = { card = 0 }", "at least 1"),
            ("detectors = [\"ssn\"]\nthresholds = { card = 3 }", "not in detectors"),
            ("detectors = [\"ssn\"]\nactions = { card = \"mask\" }", "not in detectors"),
            ("block_status = 200", "4xx or 5xx"),
            ("request_actions = { cards = \"block\" }", "request_actions: unknown kind \"cards\""),
            ("detectors = [\"ssn\"]\nrequest_actions = { card = \"block\" }", "not in detectors"),
            (
                "scan_requests = false\nrequest_actions = { card = \"block\" }",
                "scan_requests = false",
            ),
            ("request_hold_timeout_ms = 0", "request_hold_timeout_ms"),
            ("block_status = 302", "4xx or 5xx"),
            ("content_types = [\"json\"]", "content_types"),
            ("stream_types = [\"text/ev*\"]", "stream_types"),
            ("scan_limit_bytes = 0", "scan_limit_bytes"),
            ("max_decompression_ratio = 1", "max_decompression_ratio"),
        ];
        for (src, want) in cases {
            let err = build(src).expect_err(src).to_string();
            assert!(err.contains("policy \"p\""), "{src}: {err}");
            assert!(err.contains(want), "{src}: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_values_are_rejected_by_the_parser() {
        for src in ["colour = 1", "mode = \"observe\"", "actions = { card = \"shred\" }"] {
            assert!(toml::from_str::<PolicySection>(src).is_err(), "{src}");
        }
        let s =
            section("mode = \"monitor\"\non_error = \"fail_open\"\naccept_encoding = \"identity\"");
        let p = Policy::build("m", &s, &DetectSection::default()).unwrap();
        assert!(p.monitor());
        assert_eq!(p.on_error, OnError::FailOpen);
        assert_eq!(p.accept_encoding, AcceptEncoding::Identity);
    }

    fn parse_detect(s: &str) -> Result<DetectSection, toml::de::Error> {
        toml::from_str(s)
    }

    #[test]
    fn full_detect_section() {
        let d = parse_detect(
            r#"
            allow_values = ["4111 1111 1111 1111"]
            allow_patterns = ['^5555']
            hash_key_env = "LW_KEY"
            card_mask = "first6_last4"
            max_custom_match = 128

            [[custom]]
            name = "customer_id"
            regex = 'CUST-\d{8}'
            context = ["customer"]
            action = "redact"

            [[custom]]
            name = "canary"
            literals = ["canary.internal"]
            case_insensitive = true
            validator = "luhn"
            "#,
        )
        .unwrap();
        let cfg = engine_config_with_env(&d, |_| Some("0123456789abcdef0123".into())).unwrap();
        assert_eq!(cfg.card_mask, CardMask::First6Last4);
        assert_eq!(cfg.custom.len(), 2);
        assert_eq!(cfg.custom[0].action, Some(Action::Redact));
        assert_eq!(cfg.custom[1].validator, Some(Validator::Luhn));
        assert_eq!(cfg.max_custom_match, 128);
        assert_eq!(cfg.hash_key, b"0123456789abcdef0123");
    }

    /// The configuration checks context windows against its own copy of
    /// the engine's limit (config is a leaf): they must agree.
    #[test]
    fn context_window_limits_agree() {
        assert_eq!(crate::config::detect::MAX_CONTEXT_WINDOW, crate::detect::MAX_CONTEXT_WINDOW);
    }

    #[test]
    fn detect_defaults() {
        let cfg = engine_config_with_env(&DetectSection::default(), |_| None).unwrap();
        assert!(cfg.hash_key.is_empty());
        assert_eq!(parse_detect("").unwrap().max_custom_match, 256);
    }

    #[test]
    fn bad_detect_sections() {
        for s in ["unknown = 1", "card_mask = \"first4\"", "[[custom]]\nname = \"x\"\nflavour = 1"]
        {
            assert!(parse_detect(s).is_err(), "{s}");
        }
        let cases: &[(&str, &str)] = &[
            ("[[custom]]\nname = \"x\"\nregex = '\\d+'", "literal prefix"),
            ("[[custom]]\nname = \"x\"\nregex = 'AB('", "invalid regex"),
            ("[[custom]]\nname = \"card\"\nliterals = [\"a\"]", "built-in"),
            ("allow_patterns = ['(']", "allow_patterns[0]"),
            ("hash_key = \"short\"", "at least 16"),
            ("hash_key = \"0123456789abcdef\"\nhash_key_env = \"X\"", "not both"),
            ("hash_key_env = \"NOPE\"", "not set"),
            ("max_custom_match = 0", "max_custom_match"),
        ];
        for (s, want) in cases {
            let err = engine_config_with_env(&parse_detect(s).unwrap(), |_| None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{s}: {err}");
            assert!(err.starts_with("[detect]"), "{err}");
        }
        let d = parse_detect("hash_key = \"short-secret\"").unwrap();
        let err = engine_config_with_env(&d, |_| None).unwrap_err();
        assert!(!err.to_string().contains("short-secret"));
    }

    #[test]
    fn exempt_paths_match_prefixes_and_globs_but_never_dot_segments() {
        let p = build(
            "exempt_paths = [\"/static\", \"/assets/*.css\", \"/api/*/health\", \"/media/**\"]",
        )
        .unwrap();
        let cases = [
            ("/static", true),
            ("/static/app.js", true),
            ("/statics", false),
            ("/assets/site.css", true),
            ("/assets/x/site.css", false),
            ("/assets/site.js", false),
            ("/api/v1/health", true),
            ("/api/v1/users", false),
            ("/media", true),
            ("/media/a/b/c.png", true),
            ("/account", false),
            ("/static/../account", false),
            ("/static/%2e%2e/account", false),
            ("/static/%2F..%2Faccount", false),
            ("/static//x", false),
        ];
        for (path, want) in cases {
            assert_eq!(p.exempt(path), want, "{path}");
        }
        for bad in ["static", "/a/**/b", "/a?x", "/a//b"] {
            let err = build(&format!("exempt_paths = [{bad:?}]")).unwrap_err().to_string();
            assert!(err.contains("exempt_paths"), "{bad}: {err}");
        }
    }

    #[test]
    fn policy_allow_lists_add_to_the_shared_ones() {
        let detect: DetectSection =
            toml::from_str("allow_values = [\"4111111111111111\"]").unwrap();
        let s = section("allow_values = [\"5555555555554444\"]\nallow_patterns = ['4000\\d{12}']");
        let p = Policy::build("p", &s, &detect).unwrap();
        let cfg = p.engine.config();
        assert_eq!(cfg.allow_values, ["4111111111111111", "5555555555554444"]);
        assert_eq!(cfg.allow_patterns, [r"4000\d{12}"]);
        let text = b"a 4111 1111 1111 1111 b 5555 5555 5555 4444 c 4000 0000 0000 0002";
        let (_, found) = p.engine.scan_all(text, ContentHint::Text);
        assert!(found.is_empty(), "{found:?}");
        let other = Policy::build("q", &PolicySection::default(), &detect).unwrap();
        let (_, found) = other.engine.scan_all(b"5555 5555 5555 4444", ContentHint::Text);
        assert_eq!(found.len(), 1);
        let err = build("allow_patterns = ['(']").unwrap_err().to_string();
        assert!(err.contains("policy \"p\"") && err.contains("allow_patterns"), "{err}");
    }
}

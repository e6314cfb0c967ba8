//! The `[detect]` section: detector settings shared by every policy
//! (custom rules, allow-lists, hash key, card mask style).
//!
//! Parsed with unknown keys rejected, then validated once into an
//! [`EngineConfig`] by [`DetectSection::engine_config`] (which compiles
//! every regex, so a bad rule is a config error, never a runtime one).
//! Never reads or stores a scanned value.

use serde::Deserialize;

use super::ConfigError;
use crate::detect::{Action, CardMask, CustomRule, Engine, EngineConfig, Validator};

/// The `[detect]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectSection {
    /// Custom rules (`[[detect.custom]]`), in addition to the built-in
    /// detectors. Policies enable them by name like built-in kinds.
    #[serde(default)]
    pub custom: Vec<CustomRuleSection>,
    /// Exact values that are never reported, compared in each kind's
    /// normalized form (digits only for cards, SSNs and phones; uppercase
    /// without spaces for IBANs; lowercase for emails). The well-known test
    /// card numbers are reported unless listed here.
    #[serde(default)]
    pub allow_values: Vec<String>,
    /// Regexes (whole-value match) of values that are never reported;
    /// tested against the raw and the normalized value.
    #[serde(default)]
    pub allow_patterns: Vec<String>,
    /// Key for fingerprints and `hash` tokens (at least 16 bytes). Prefer
    /// `hash_key_env`. Without either, a random per-process key is used and
    /// fingerprints do not correlate across restarts or replicas.
    #[serde(default)]
    pub hash_key: Option<super::file::Secret>,
    /// Name of the environment variable holding the hash key.
    #[serde(default)]
    pub hash_key_env: Option<String>,
    /// How much of a masked card stays visible: "last4" (default) or
    /// "first6_last4".
    #[serde(default)]
    pub card_mask: CardMaskName,
    /// Longest match a custom regex may produce, in bytes (default 256,
    /// at most 65536). It is also what a scanner may hold back for one.
    #[serde(default = "default_max_custom_match")]
    pub max_custom_match: usize,
}

fn default_max_custom_match() -> usize {
    256
}

impl Default for DetectSection {
    fn default() -> Self {
        DetectSection {
            custom: Vec::new(),
            allow_values: Vec::new(),
            allow_patterns: Vec::new(),
            hash_key: None,
            hash_key_env: None,
            card_mask: CardMaskName::default(),
            max_custom_match: default_max_custom_match(),
        }
    }
}

/// `card_mask` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardMaskName {
    /// Keep the last four digits.
    #[default]
    Last4,
    /// Keep the first six and the last four digits.
    First6Last4,
}

/// Validators a custom rule can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorName {
    /// Luhn over the digits of the match.
    Luhn,
    /// ISO 7064 mod 97 (as for IBAN) over the alphanumerics of the match.
    Mod97,
}

/// Default actions a custom rule can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleActionName {
    /// Replace characters with '*', keeping length and punctuation.
    Mask,
    /// Replace with `[REDACTED:<name>]`.
    Redact,
    /// Replace with `tok_<name>_<hex>` (keyed HMAC of the value).
    Hash,
    /// Report only.
    Detect,
}

/// One `[[detect.custom]]` rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRuleSection {
    /// The rule's kind name in findings, metrics and markers: 1-64 of
    /// a-z, 0-9, '_' and '-', not a built-in kind name.
    pub name: String,
    /// Exact strings to find (honeytokens, internal hostnames). With a
    /// `regex` these are its anchors: the regex is only tried where one of
    /// them starts.
    #[serde(default)]
    pub literals: Vec<String>,
    /// Match the literals (and the regex) ignoring ASCII case.
    #[serde(default)]
    pub case_insensitive: bool,
    /// A regex confirmed at an anchor. Without `literals` the engine derives
    /// the literal prefix every match starts with; a regex without one is
    /// rejected (regexes never sweep whole bodies).
    #[serde(default)]
    pub regex: Option<String>,
    /// A check the match must pass: "luhn" or "mod97".
    #[serde(default)]
    pub validator: Option<ValidatorName>,
    /// Keywords (case-insensitive) of which one must appear within 48 bytes
    /// before the match.
    #[serde(default)]
    pub context: Vec<String>,
    /// Default action for the rule ("mask", "redact", "hash", "detect");
    /// a policy's `actions` override it. Default "mask".
    #[serde(default)]
    pub action: Option<RuleActionName>,
}

const MIN_KEY: usize = 16;

impl DetectSection {
    /// The engine settings this section describes, with every built-in
    /// detector at its default action (policies then choose theirs). Every
    /// regex is compiled here, so errors surface at load time.
    pub fn engine_config(&self) -> Result<EngineConfig, ConfigError> {
        self.engine_config_with_env(|k| std::env::var(k).ok())
    }

    /// As [`Self::engine_config`], reading environment variables through
    /// `env` (testable).
    pub fn engine_config_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<EngineConfig, ConfigError> {
        let bad = |m: String| ConfigError::Invalid(format!("[detect] {m}"));
        let hash_key = match (&self.hash_key, &self.hash_key_env) {
            (Some(_), Some(_)) => return Err(bad("set hash_key or hash_key_env, not both".into())),
            (Some(k), None) => k.expose().as_bytes().to_vec(),
            (None, Some(var)) => match env(var) {
                Some(k) => k.into_bytes(),
                None => {
                    return Err(bad(format!(
                        "hash_key_env: environment variable {var:?} is not set"
                    )))
                }
            },
            (None, None) => Vec::new(),
        };
        if !hash_key.is_empty() && hash_key.len() < MIN_KEY {
            // Never echo the key itself.
            return Err(bad(format!("hash key must be at least {MIN_KEY} bytes")));
        }
        let custom = self
            .custom
            .iter()
            .map(|r| CustomRule {
                name: r.name.clone(),
                literals: r.literals.clone(),
                case_insensitive: r.case_insensitive,
                regex: r.regex.clone(),
                validator: r.validator.map(|v| match v {
                    ValidatorName::Luhn => Validator::Luhn,
                    ValidatorName::Mod97 => Validator::Mod97,
                }),
                context: r.context.clone(),
                action: r.action.map(|a| match a {
                    RuleActionName::Mask => Action::Mask,
                    RuleActionName::Redact => Action::Redact,
                    RuleActionName::Hash => Action::Hash,
                    RuleActionName::Detect => Action::Detect,
                }),
            })
            .collect();
        let cfg = EngineConfig {
            card_mask: match self.card_mask {
                CardMaskName::Last4 => CardMask::Last4,
                CardMaskName::First6Last4 => CardMask::First6Last4,
            },
            hash_key,
            custom,
            allow_values: self.allow_values.clone(),
            allow_patterns: self.allow_patterns.clone(),
            max_custom_match: self.max_custom_match,
            ..EngineConfig::default()
        };
        Engine::new(cfg.clone()).map_err(|e| bad(e.to_string()))?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DetectSection, toml::de::Error> {
        toml::from_str(s)
    }

    #[test]
    fn full_section() {
        let d = parse(
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
        let cfg = d.engine_config_with_env(|_| Some("0123456789abcdef0123".into())).unwrap();
        assert_eq!(cfg.card_mask, CardMask::First6Last4);
        assert_eq!(cfg.custom.len(), 2);
        assert_eq!(cfg.custom[0].action, Some(Action::Redact));
        assert_eq!(cfg.custom[1].validator, Some(Validator::Luhn));
        assert_eq!(cfg.max_custom_match, 128);
        assert_eq!(cfg.hash_key, b"0123456789abcdef0123");
    }

    #[test]
    fn defaults() {
        let cfg = DetectSection::default().engine_config_with_env(|_| None).unwrap();
        assert!(cfg.hash_key.is_empty());
        assert_eq!(parse("").unwrap().max_custom_match, 256);
    }

    #[test]
    fn bad_sections() {
        for s in ["unknown = 1", "card_mask = \"first4\"", "[[custom]]\nname = \"x\"\nflavour = 1"]
        {
            assert!(parse(s).is_err(), "{s}");
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
            let err = parse(s).unwrap().engine_config_with_env(|_| None).unwrap_err().to_string();
            assert!(err.contains(want), "{s}: {err}");
            assert!(err.starts_with("[detect]"), "{err}");
        }
        let err = parse("hash_key = \"short-secret\"")
            .unwrap()
            .engine_config_with_env(|_| None)
            .unwrap_err();
        assert!(!err.to_string().contains("short-secret"));
        let d = parse("hash_key = \"0123456789abcdef-secret\"").unwrap();
        assert!(!format!("{d:?}").contains("secret\""), "{d:?}");
    }
}

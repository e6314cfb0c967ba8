//! The `[detect]` section: detector settings shared by every policy
//! (custom rules, allow-lists, hash key, card mask style).
//!
//! Parsed with unknown keys rejected; `crate::policy` turns it into the
//! engine's settings (compiling every regex, so a bad rule is a config
//! error, never a runtime one). Never reads or stores a scanned value.

use serde::Deserialize;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_values_are_rejected() {
        for s in ["unknown = 1", "card_mask = \"first4\"", "[[custom]]\nname = \"x\"\nflavour = 1"]
        {
            assert!(toml::from_str::<DetectSection>(s).is_err(), "{s}");
        }
        assert_eq!(toml::from_str::<DetectSection>("").unwrap().max_custom_match, 256);
    }

    #[test]
    fn the_hash_key_never_prints() {
        let d: DetectSection = toml::from_str("hash_key = \"0123456789abcdef-secret\"").unwrap();
        assert!(!format!("{d:?}").contains("secret\""), "{d:?}");
    }
}

//! The `[detect]` section: detector settings shared by every policy
//! (custom rules, allow-lists, hash key, card mask style).
//!
//! Parsed with unknown keys rejected; `crate::policy` turns it into the
//! engine's settings (compiling every regex, so a bad rule is a config
//! error, never a runtime one). Never reads or stores a scanned value.

use serde::Deserialize;
use toml::Spanned;

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
    /// The words that decide ambiguous shapes (`[detect.context.card]`,
    /// `.phone`, `.ssn`): a contiguous 19-digit run is a card, ten bare
    /// digits a phone, nine bare digits an SSN only with a word of their
    /// kind shortly before them and no nearer word of another kind.
    #[serde(default)]
    pub context: ContextSection,
}

/// `[detect.context]`: per detector, the words that make an ambiguous shape
/// a value and the words that make it something else. Absent keys keep
/// the built-in lists (shown in `config/leakwarden.toml`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSection {
    /// Cards: a contiguous 19-digit run, a bare 15-digit UATP number, a
    /// grouped Luhn-valid number from no known issuer (brand `unknown`).
    #[serde(default)]
    pub card: ContextKindSection,
    /// Phones: ten bare digits.
    #[serde(default)]
    pub phone: ContextKindSection,
    /// SSNs: nine bare digits.
    #[serde(default)]
    pub ssn: ContextKindSection,
}

/// One detector's context words.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextKindSection {
    /// Words (whole words, ASCII case ignored) one of which must appear in
    /// the window before the value; replaces the built-in list.
    #[serde(default)]
    pub words: Option<Vec<ContextWord>>,
    /// Words that reject the value when nearer to it than any of `words`;
    /// replaces the built-in list.
    #[serde(default)]
    pub not_words: Option<Vec<ContextWord>>,
    /// Bytes before the value that are searched (1 to 63: the scanner keeps
    /// 64 bytes of already-sent input, and a word's first letter is judged
    /// with the byte before it).
    #[serde(default)]
    pub window: Option<ContextWindow>,
}

/// The longest context window (the engine's `MAX_CONTEXT_WINDOW`; a test
/// in `crate::policy` keeps them equal).
pub const MAX_CONTEXT_WINDOW: usize = 63;

/// A context word: 1 to 63 bytes (checked where it is written, so that an
/// error names its line and column).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ContextWord(String);

impl ContextWord {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ContextWord {
    type Error = String;
    fn try_from(w: String) -> Result<Self, String> {
        if w.is_empty() || w.len() > MAX_CONTEXT_WINDOW {
            return Err(format!("a context word must be 1 to {MAX_CONTEXT_WINDOW} bytes"));
        }
        Ok(ContextWord(w))
    }
}

/// A context window in bytes: 1 to 63.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct ContextWindow(pub usize);

impl TryFrom<i64> for ContextWindow {
    type Error = String;
    fn try_from(n: i64) -> Result<Self, String> {
        match usize::try_from(n) {
            Ok(n @ 1..=MAX_CONTEXT_WINDOW) => Ok(ContextWindow(n)),
            _ => Err(format!(
                "a context window must be 1 to {MAX_CONTEXT_WINDOW} bytes (the scanner keeps 64 bytes of history)"
            )),
        }
    }
}

/// Where a setting was written, for errors found after parsing (a custom
/// rule's regex that the engine refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
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
            context: ContextSection::default(),
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
    /// the literal prefix every match starts with; a regex without one must
    /// be bounded in length (at most `max_custom_match` bytes: `\d{9}`, not
    /// `\d+`), because the scanner holds back every byte a match could
    /// still include, and without an anchor that is any byte.
    #[serde(default)]
    pub regex: Option<Spanned<String>>,
    /// A check the match must pass: "luhn" or "mod97".
    #[serde(default)]
    pub validator: Option<ValidatorName>,
    /// Words (whole words, ASCII case ignored) one of which must appear
    /// within `context_window` bytes before the match.
    #[serde(default)]
    pub context: Vec<ContextWord>,
    /// Words that reject the match when nearer to it than any `context`
    /// word (or, without `context`, when present in the window at all).
    #[serde(default)]
    pub not_context: Vec<ContextWord>,
    /// Bytes before the match searched for `context` and `not_context`
    /// (default 48, at most 63).
    #[serde(default)]
    pub context_window: Option<ContextWindow>,
    /// Default action for the rule ("mask", "redact", "hash", "detect");
    /// a policy's `actions` override it. Default "mask".
    #[serde(default)]
    pub action: Option<RuleActionName>,
    /// Where `regex` was written (filled by `super::parse_str`).
    #[serde(skip)]
    regex_at: Option<Location>,
}

impl CustomRuleSection {
    /// The regex, if any.
    pub fn regex_str(&self) -> Option<&str> {
        self.regex.as_ref().map(|r| r.get_ref().as_str())
    }

    /// Where the regex was written, when the rule came from a file.
    pub fn regex_at(&self) -> Option<&Location> {
        self.regex_at.as_ref()
    }
}

impl DetectSection {
    /// Records where each custom rule's regex was written (`at` turns a
    /// byte span of the file into a location).
    pub(super) fn locate(&mut self, at: impl Fn(std::ops::Range<usize>) -> Location) {
        for rule in &mut self.custom {
            rule.regex_at = rule.regex.as_ref().map(|r| at(r.span()));
        }
    }
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
    fn context_settings_are_checked_where_written() {
        let ok = "[context.card]\nwords = [\"card\"]\nnot_words = []\nwindow = 63\n\
                  [[custom]]\nname = \"x\"\nliterals = [\"x\"]\ncontext = [\"a\"]\n\
                  not_context = [\"id\"]\ncontext_window = 8\n";
        let d = toml::from_str::<DetectSection>(ok).unwrap();
        assert_eq!(d.context.card.window, Some(ContextWindow(63)));
        assert_eq!(d.custom[0].not_context[0].as_str(), "id");
        for bad in [
            "[context.card]\nwindow = 64\n",
            "[context.card]\nwindow = 0\n",
            "[context.phone]\nwords = [\"\"]\n",
            "[context.ssn]\nnot_words = [\"x\"]\nflavour = 1\n",
            "[context.iban]\nwords = []\n",
            "[[custom]]\nname = \"x\"\nliterals = [\"x\"]\ncontext_window = -1\n",
        ] {
            assert!(toml::from_str::<DetectSection>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_hash_key_never_prints() {
        let d: DetectSection = toml::from_str("hash_key = \"0123456789abcdef-secret\"").unwrap();
        assert!(!format!("{d:?}").contains("secret\""), "{d:?}");
    }
}

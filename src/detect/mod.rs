//! The detection engine: finds card numbers, personal data and secrets in a
//! byte stream and rewrites them (mask, redact, hash) on the fly.
//!
//! This module tree is pure and synchronous: it only ever sees `&[u8]` and
//! writes into caller-provided buffers. It must never depend on tokio, hyper
//! or any I/O, and it must never let a raw matched value escape through a
//! [`Finding`], an error, a `Debug` impl or a panic message.
//!
//! SKELETON: the public API below is the contract the proxy, the pipeline and
//! the `scan` command are written against. The implementation is the identity
//! until the detection issue lands.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A kind of sensitive value. Canonical names (see [`Kind::as_str`]) appear
/// in findings, configuration, metrics and audit lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Card,
    Ssn,
    Iban,
    Email,
    Phone,
    AwsAccessKey,
    GithubToken,
    StripeKey,
    SlackToken,
    GoogleApiKey,
    PrivateKey,
    Jwt,
    /// A custom rule from configuration, by its index in
    /// [`EngineConfig::custom`]; its name comes from [`Engine::kind_name`].
    Custom(u16),
}

impl Kind {
    /// Every built-in kind, in a stable order.
    pub const BUILTIN: [Kind; 12] = [
        Kind::Card,
        Kind::Ssn,
        Kind::Iban,
        Kind::Email,
        Kind::Phone,
        Kind::AwsAccessKey,
        Kind::GithubToken,
        Kind::StripeKey,
        Kind::SlackToken,
        Kind::GoogleApiKey,
        Kind::PrivateKey,
        Kind::Jwt,
    ];

    /// The canonical name of a built-in kind; `"custom"` for custom rules
    /// (use [`Engine::kind_name`] for their configured name).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Card => "card",
            Kind::Ssn => "ssn",
            Kind::Iban => "iban",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::AwsAccessKey => "aws_access_key",
            Kind::GithubToken => "github_token",
            Kind::StripeKey => "stripe_key",
            Kind::SlackToken => "slack_token",
            Kind::GoogleApiKey => "google_api_key",
            Kind::PrivateKey => "private_key",
            Kind::Jwt => "jwt",
            Kind::Custom(_) => "custom",
        }
    }

    /// Parses a canonical built-in kind name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::BUILTIN.into_iter().find(|k| k.as_str() == name)
    }
}

/// Card brand, from the issuer identification number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Jcb,
    DinersClub,
    UnionPay,
    Maestro,
    Mir,
}

impl Brand {
    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::Jcb => "jcb",
            Brand::DinersClub => "diners",
            Brand::UnionPay => "unionpay",
            Brand::Maestro => "maestro",
            Brand::Mir => "mir",
        }
    }
}

/// What the engine does to a match in the output stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Length-preserving: characters replaced, separators kept.
    Mask,
    /// Replaced with `[REDACTED:<kind>]`.
    Redact,
    /// Replaced with a stable keyed token of the normalized value.
    Hash,
    /// Reported only; the bytes pass unchanged.
    Detect,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Mask => "mask",
            Action::Redact => "redact",
            Action::Hash => "hash",
            Action::Detect => "detect",
        }
    }

    /// True when the action keeps the body length unchanged.
    pub fn preserves_length(self) -> bool {
        matches!(self, Action::Mask | Action::Detect)
    }
}

/// How much of a card number a mask keeps visible.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CardMask {
    /// Keep the last four digits (the default).
    #[default]
    Last4,
    /// Keep the first six and last four digits, as PCI DSS allows.
    First6Last4,
}

/// What the body is, so that rewrites keep the document valid (a card written
/// as a bare JSON number must stay a number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContentHint {
    #[default]
    Text,
    Json,
    Html,
}

/// A keyed fingerprint of a normalized value (truncated HMAC-SHA256). Safe to
/// log: it identifies a value across responses without revealing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 12]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// One match, as it leaves the engine: never the raw value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// Absolute byte offset of the first byte in the input stream.
    pub start: u64,
    /// Absolute byte offset one past the last byte in the input stream.
    pub end: u64,
    pub brand: Option<Brand>,
    pub action: Action,
    pub fingerprint: Fingerprint,
}

/// A validator a custom rule may require of its match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validator {
    Luhn,
    Mod97,
}

/// A custom rule from configuration.
#[derive(Clone, Debug, Default)]
pub struct CustomRule {
    pub name: String,
    pub literals: Vec<String>,
    pub case_insensitive: bool,
    pub regex: Option<String>,
    pub validator: Option<Validator>,
    pub context: Vec<String>,
    pub action: Option<Action>,
}

/// Everything the engine needs, already validated by the config layer.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Enabled built-in kinds and the action for each.
    pub detectors: BTreeMap<Kind, Action>,
    pub card_mask: CardMask,
    /// Key for fingerprints and `hash` tokens.
    pub hash_key: Vec<u8>,
    pub custom: Vec<CustomRule>,
    /// Exact values that are never reported (compared normalized).
    pub allow_values: Vec<String>,
    /// Regexes of values that are never reported.
    pub allow_patterns: Vec<String>,
    /// Cap on a custom regex match length: also the cap on the hold-back.
    pub max_custom_match: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let detectors = Kind::BUILTIN
            .into_iter()
            .map(|k| {
                let a = match k {
                    Kind::Email | Kind::Phone => Action::Detect,
                    _ => Action::Mask,
                };
                (k, a)
            })
            .collect();
        EngineConfig {
            detectors,
            card_mask: CardMask::Last4,
            hash_key: Vec::new(),
            custom: Vec::new(),
            allow_values: Vec::new(),
            allow_patterns: Vec::new(),
            max_custom_match: 256,
        }
    }
}

/// A configuration the engine cannot build. Never contains a scanned value.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("custom rule {rule:?}: invalid regex: {message}")]
    Regex { rule: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The compiled, immutable engine: build once per configuration, share with
/// an `Arc`, and make one [`Scanner`] per stream.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
}

impl Engine {
    pub fn new(cfg: EngineConfig) -> Result<Engine, EngineError> {
        Ok(Engine { cfg })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The most bytes a scanner ever holds back.
    pub fn max_hold(&self) -> usize {
        0
    }

    /// The configured name of a kind (custom rules by their rule name).
    pub fn kind_name(&self, kind: Kind) -> &str {
        match kind {
            Kind::Custom(i) => {
                self.cfg.custom.get(i as usize).map(|r| r.name.as_str()).unwrap_or("custom")
            }
            k => k.as_str(),
        }
    }

    /// Scans a whole buffer at once: the reference the streaming path equals.
    pub fn scan_all(self: &Arc<Self>, input: &[u8], hint: ContentHint) -> (Vec<u8>, Vec<Finding>) {
        let mut s = Scanner::new(self.clone(), hint);
        let mut out = Vec::with_capacity(input.len());
        let mut findings = Vec::new();
        s.feed(input, &mut out, &mut findings);
        s.finish(&mut out, &mut findings);
        (out, findings)
    }
}

/// Scans one stream, chunk by chunk.
#[derive(Debug)]
pub struct Scanner {
    #[allow(dead_code)]
    engine: Arc<Engine>,
    #[allow(dead_code)]
    hint: ContentHint,
    consumed: u64,
}

impl Scanner {
    pub fn new(engine: Arc<Engine>, hint: ContentHint) -> Scanner {
        Scanner { engine, hint, consumed: 0 }
    }

    /// Consumes `input`, appends every output byte that is now final to
    /// `out`, and every finding now complete to `findings`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, _findings: &mut Vec<Finding>) {
        self.consumed += input.len() as u64;
        out.extend_from_slice(input);
    }

    /// Ends the stream: flushes whatever was held back.
    pub fn finish(&mut self, _out: &mut Vec<u8>, _findings: &mut Vec<Finding>) {}

    /// Input bytes consumed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Input bytes currently held back (not yet emitted).
    pub fn held(&self) -> usize {
        0
    }
}

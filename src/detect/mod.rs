//! The detection engine: finds card numbers, personal data and secrets in a
//! byte stream and rewrites them (mask, redact, hash) on the fly.
//!
//! This module tree is pure and synchronous: it only ever sees `&[u8]` and
//! writes into caller-provided buffers. It must never depend on tokio, hyper
//! or any I/O, and it must never let a raw matched value escape through a
//! [`Finding`], an error, a `Debug` impl or a panic message.
//!
//! Layout: [`view`] is the window detectors read through, with the byte
//! classes of [`classes`], the check digits of [`validate`] and the context
//! keywords of [`keywords`]; [`context`] decides ambiguous shapes (a
//! contiguous 19-digit card, ten bare digits as a phone, nine as an SSN)
//! from the words before them; one module per detector family ([`card`],
//! [`ssn`], [`iban`], [`email`], [`phone`], [`secrets`], [`custom`]);
//! [`allow`] and [`fingerprint`] decide what is reported and how it is
//! identified; [`rewrite`] produces masks, markers and tokens; [`scanner`]
//! is the streaming loop: [`seek`] finds where a detector may start from
//! the byte-class masks of [`simd`] (the one module of the crate allowed
//! `unsafe`, for its vector loads), and [`stream`] rewrites a secret too
//! long to hold back as it passes. [`units`] reads a value however a page
//! writes it (character references, JSON escapes, percent-encoding,
//! Unicode separators and fullwidth digits, inline tags) for the numeric
//! detectors when the ASCII fast path cannot decide. The scanner reads the
//! [`Engine`] through its methods only.
//!
//! Defaults worth knowing: the well-known test card numbers (4111 1111 1111
//! 1111 and friends) ARE reported; allow-list them with `allow_values` if a
//! test environment needs them to pass. With an empty `hash_key` the
//! fingerprints and tokens use a random per-process key and do not correlate
//! across restarts.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

mod allow;
mod card;
mod classes;
mod context;
mod custom;
mod email;
mod fingerprint;
mod iban;
mod issuers;
mod keywords;
mod phone;
mod rewrite;
mod scanner;
mod secrets;
mod seek;
mod simd;
mod ssn;
mod stream;
mod units;
mod validate;
mod view;

pub use context::{ContextConfig, ContextWords, MAX_CONTEXT_WINDOW};
pub use fingerprint::FingerprintList;
pub use scanner::Scanner;
use secrets::Secret;

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
    RuPay,
    Elo,
    Hipercard,
    Troy,
    Verve,
    Dankort,
    Bancontact,
    Uatp,
    InstaPayment,
    InterPayment,
    /// A Luhn-valid number printed in a card's groups, from no range of
    /// the issuer table, reported only with card context.
    Unknown,
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
            Brand::RuPay => "rupay",
            Brand::Elo => "elo",
            Brand::Hipercard => "hipercard",
            Brand::Troy => "troy",
            Brand::Verve => "verve",
            Brand::Dankort => "dankort",
            Brand::Bancontact => "bancontact",
            Brand::Uatp => "uatp",
            Brand::InstaPayment => "instapayment",
            Brand::InterPayment => "interpayment",
            Brand::Unknown => "unknown",
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
    /// `None` only past the limit set with
    /// [`Scanner::limit_fingerprints`], for a finding whose action needs no
    /// MAC (a `hash` token always has one).
    pub fingerprint: Option<Fingerprint>,
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
    /// Words one of which must be near before a match (see
    /// [`ContextWords::words`]).
    pub context: Vec<String>,
    /// Words that reject a match when nearer than any `context` word (see
    /// [`ContextWords::not_words`]).
    pub not_context: Vec<String>,
    /// Bytes before a match searched for `context` and `not_context`
    /// (default 48, at most [`MAX_CONTEXT_WINDOW`]).
    pub context_window: Option<usize>,
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
    /// The words that decide the ambiguous shapes of cards, phones and
    /// SSNs ([`context`]).
    pub context: ContextConfig,
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
            context: ContextConfig::default(),
        }
    }
}

/// A configuration the engine cannot build. Never contains a scanned value.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("custom rule {rule:?}: invalid regex: {message}")]
    Regex { rule: String, message: String },
    #[error("custom rule {rule:?}: {message}")]
    Rule { rule: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// What a literal anchor in the automaton starts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Anchor {
    Secret(Secret),
    /// A custom rule's literal; `exact` when the automaton is
    /// case-insensitive but this literal is not (verified at the site).
    Custom {
        rule: u16,
        exact: bool,
    },
}

/// The enabled kinds that start outside the anchor automaton, looked up
/// once per engine rather than per position.
#[derive(Clone, Debug)]
pub(crate) struct StartKinds {
    pub card: bool,
    pub ssn: bool,
    pub phone: bool,
    pub iban: bool,
    pub email: bool,
    /// What makes nine bare digits an SSN and ten a phone: the seek asks
    /// them too.
    pub contexts: Arc<context::Contexts>,
}

impl StartKinds {
    /// Whether an enabled card, SSN or national phone number can start at
    /// a digit cluster of this shape: what [`Self::start_digits`] is tested
    /// against.
    #[cfg(test)]
    pub(crate) fn numeric(&self, s: &view::Shape) -> bool {
        self.numeric_with(s, ssn::may_start, phone::may_start)
    }

    /// `Self::numeric` at `p` of `buf`, which the seek asks: it also
    /// passes over a bare 9-digit run with no SSN context before it (the
    /// first field of many CSV exports) and ten bare digits with no phone
    /// context, so no probe stops there.
    #[inline(always)]
    pub(crate) fn numeric_at(&self, buf: &[u8], p: usize, s: &view::Shape) -> bool {
        self.numeric_with(
            s,
            |s| ssn::may_start_at(buf, p, s, &self.contexts.ssn),
            |s| phone::may_start_at(buf, p, s, &self.contexts.phone),
        )
    }

    #[inline(always)]
    fn numeric_with(
        &self,
        s: &view::Shape,
        ssn: impl Fn(&view::Shape) -> bool,
        phone: impl Fn(&view::Shape) -> bool,
    ) -> bool {
        (self.card && card::may_start(s)) || (self.ssn && ssn(s)) || (self.phone && phone(s))
    }

    /// Per first-run length (below 20), the first digits (bit `d` for
    /// digit `d`) with which `Self::numeric` can be true.
    pub(crate) fn start_digits(&self) -> [u16; 20] {
        let mut t = [0u16; 20];
        let kinds = [
            (self.card, &card::START_DIGITS),
            (self.ssn, &ssn::START_DIGITS),
            (self.phone, &phone::START_DIGITS),
        ];
        for (_, digits) in kinds.into_iter().filter(|k| k.0) {
            for (t, d) in t.iter_mut().zip(digits) {
                *t |= d;
            }
        }
        t
    }
}

/// Largest accepted `max_custom_match` (it bounds the hold-back).
pub const MAX_CUSTOM_MATCH_LIMIT: usize = 64 * 1024;

/// The compiled, immutable engine: build once per configuration, share with
/// an `Arc`, and make one [`Scanner`] per stream.
pub struct Engine {
    cfg: EngineConfig,
    /// Per kind (built-in kinds, then custom rules), the MAC already keyed
    /// and fed the kind's name: cloned per finding, so the key schedule is
    /// not recomputed for each.
    macs: Vec<fingerprint::HmacSha256>,
    /// One automaton for every literal anchor (secret prefixes and custom
    /// literals).
    ac: Option<AhoCorasick>,
    /// Per automaton pattern: what it starts and its length.
    anchors: Vec<(Anchor, usize)>,
    anchor_text: Vec<Vec<u8>>,
    /// Automaton pattern ids by first byte (both cases when the automaton
    /// ignores case), ascending: every anchor starting at a site.
    by_first: Vec<Vec<u32>>,
    max_anchor: usize,
    anchors_ci: bool,
    /// Which kinds that start outside the automaton are enabled.
    kinds: StartKinds,
    /// [`StartKinds::start_digits`] of `kinds`.
    start_digits: [u16; 20],
    customs: Vec<custom::Compiled>,
    /// Custom rules with no literal anchor (rule, pattern id past the
    /// automaton's), the bytes their matches can start with, and how far
    /// past a position they are decided.
    bounded: Vec<(u16, u32)>,
    bounded_first: [bool; 256],
    bounded_tail: usize,
    /// The contexts that decide ambiguous card, phone and SSN shapes.
    contexts: Arc<context::Contexts>,
    allow: allow::AllowList,
    enabled: [Option<Action>; 12],
    max_hold: usize,
}

impl fmt::Debug for Engine {
    // Keys and allow-listed values stay out of Debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.cfg.detectors)
            .field("card_mask", &self.cfg.card_mask)
            .field(
                "custom_rules",
                &self.customs.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            )
            .field("allow", &self.allow)
            .field("max_hold", &self.max_hold)
            .finish_non_exhaustive()
    }
}

fn builtin_index(kind: Kind) -> Option<usize> {
    Kind::BUILTIN.iter().position(|&k| k == kind)
}

impl Engine {
    pub fn new(cfg: EngineConfig) -> Result<Engine, EngineError> {
        if cfg.max_custom_match == 0 || cfg.max_custom_match > MAX_CUSTOM_MATCH_LIMIT {
            return Err(EngineError::Invalid(format!(
                "max_custom_match must be between 1 and {MAX_CUSTOM_MATCH_LIMIT}"
            )));
        }
        if cfg.custom.len() > usize::from(u16::MAX) {
            return Err(EngineError::Invalid("too many custom rules".into()));
        }
        let mut enabled = [None; 12];
        for (&k, &a) in &cfg.detectors {
            match builtin_index(k) {
                Some(i) => enabled[i] = Some(a),
                None => {
                    return Err(EngineError::Invalid(
                        "custom kinds are configured as custom rules".into(),
                    ))
                }
            }
        }
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut anchors = Vec::new();
        for &(text, s) in secrets::ANCHORS {
            patterns.push(text.as_bytes().to_vec());
            anchors.push((Anchor::Secret(s), text.len()));
        }
        let mut customs = Vec::new();
        let mut names = std::collections::HashSet::new();
        let mut any_ci = false;
        let mut custom_anchors = Vec::new();
        for (i, rule) in cfg.custom.iter().enumerate() {
            if !names.insert(rule.name.clone()) {
                return Err(EngineError::Invalid(format!(
                    "custom rule {:?}: duplicate name",
                    rule.name
                )));
            }
            let (c, lits) = custom::compile(rule, cfg.max_custom_match)?;
            for (lit, ci) in lits {
                any_ci |= ci;
                custom_anchors.push((i as u16, lit, ci));
            }
            customs.push(c);
        }
        for (rule, lit, ci) in custom_anchors {
            anchors.push((Anchor::Custom { rule, exact: any_ci && !ci }, lit.len()));
            patterns.push(lit);
        }
        let max_anchor = patterns.iter().map(Vec::len).max().unwrap_or(1);
        // Leftmost-first, not standard: only a leftmost automaton gets the
        // SIMD (Teddy) prefilter; the scanner recovers every anchor at each
        // leftmost site through `by_first`.
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .ascii_case_insensitive(any_ci)
            .build(&patterns)
            .map_err(|e| EngineError::Invalid(format!("literal anchors: {e}")))?;
        // Rules with no literal anchor: each gets a pattern id past the
        // automaton's, under which the scanner lists the places where it
        // matches, after any anchor at the same place.
        let mut bounded = Vec::new();
        let mut bounded_first = [false; 256];
        let mut bounded_tail = 0;
        for (i, c) in customs.iter().enumerate() {
            if let Some(b) = &c.bounded {
                let pid = anchors.len() as u32;
                anchors.push((Anchor::Custom { rule: i as u16, exact: false }, 0));
                bounded.push((i as u16, pid));
                for (f, &g) in bounded_first.iter_mut().zip(&b.first) {
                    *f |= g;
                }
                bounded_tail = bounded_tail.max(b.max_len + custom::LOOK_AHEAD);
            }
        }
        let allow = allow::AllowList::new(&cfg.allow_values, &cfg.allow_patterns)?;
        // What any detector needs past its start to decide.
        let own = [
            card::LOOKAHEAD,
            ssn::LOOKAHEAD,
            iban::LOOKAHEAD,
            phone::LOOKAHEAD,
            secrets::LOOKAHEAD,
            secrets::MAX_PEM_LINE + 16,
            // A window of units may end inside a tag that starts at its cap.
            units::RAW_CAP + units::MAX_TAG,
            if customs.is_empty() { 0 } else { cfg.max_custom_match + 1 },
            bounded_tail,
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        // An email address and any value that starts at its last byte (a
        // card, or a secret running on past it: `a.b@example.ghp_...`),
        // decided together.
        let email_on = builtin_index(Kind::Email).is_some_and(|i| enabled[i].is_some());
        let lookahead = if email_on { email::LOOKAHEAD + own } else { own };
        let key = fingerprint::effective_key(&cfg.hash_key);
        let macs = Kind::BUILTIN
            .iter()
            .map(|k| k.as_str())
            .chain(cfg.custom.iter().map(|r| r.name.as_str()))
            .map(|name| fingerprint::start(&key, name))
            .collect();
        let mut by_first = vec![Vec::new(); 256];
        for (pid, p) in patterns.iter().enumerate() {
            let Some(&b) = p.first() else { continue };
            by_first[usize::from(b)].push(pid as u32);
            let other = if b.is_ascii_lowercase() {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            if any_ci && other != b {
                by_first[usize::from(other)].push(pid as u32);
            }
        }
        let on = |k: Kind| builtin_index(k).is_some_and(|i| enabled[i].is_some());
        let contexts =
            Arc::new(context::Contexts::new(&cfg.context).map_err(EngineError::Invalid)?);
        let kinds = StartKinds {
            card: on(Kind::Card),
            ssn: on(Kind::Ssn),
            phone: on(Kind::Phone),
            iban: on(Kind::Iban),
            email: on(Kind::Email),
            contexts: contexts.clone(),
        };
        let start_digits = kinds.start_digits();
        Ok(Engine {
            by_first,
            kinds,
            start_digits,
            macs,
            ac: Some(ac),
            anchor_text: patterns,
            anchors,
            max_anchor,
            anchors_ci: any_ci,
            customs,
            bounded,
            bounded_first,
            bounded_tail,
            contexts,
            allow,
            enabled,
            max_hold: lookahead + max_anchor,
            cfg,
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The most bytes a scanner ever holds back: the longest lookahead any
    /// detector needs to decide (8 KiB for a JWT, past which a confirmed
    /// token is rewritten as a stream instead of held; a custom regex,
    /// `max_custom_match`), plus, with emails on, an email's 320 (a value
    /// that starts at an address's last byte is decided with it), plus the
    /// longest literal anchor: 8,525 bytes for the built-in kinds.
    pub fn max_hold(&self) -> usize {
        self.max_hold
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

    /// A MAC keyed for `kind`, ready for its normalized value.
    pub(crate) fn mac(&self, kind: Kind) -> fingerprint::HmacSha256 {
        let i = match kind {
            Kind::Custom(i) => Kind::BUILTIN.len() + usize::from(i),
            k => builtin_index(k).expect("a built-in kind"),
        };
        self.macs[i].clone()
    }

    /// The action for a kind, `None` when its detector is off.
    pub fn action(&self, kind: Kind) -> Option<Action> {
        match kind {
            Kind::Custom(i) => self.customs.get(usize::from(i)).map(|c| c.action),
            k => builtin_index(k).and_then(|i| self.enabled[i]),
        }
    }

    /// True when `tail` is a proper prefix of a literal anchor (compared
    /// ignoring ASCII case when the automaton does).
    pub(crate) fn is_anchor_prefix(&self, tail: &[u8]) -> bool {
        let Some(&first) = tail.first() else { return false };
        // Only the anchors that start with this byte: most tail bytes start
        // none, and a chunk's end is tried at every one of them.
        self.by_first[usize::from(first)].iter().any(|&pid| {
            let a = &self.anchor_text[pid as usize];
            a.len() > tail.len()
                && if self.anchors_ci {
                    a[..tail.len()].eq_ignore_ascii_case(tail)
                } else {
                    a.starts_with(tail)
                }
        })
    }

    /// Appends `(s, pattern)` for every anchor that matches at `s` and ends
    /// inside `hay`, in pattern order.
    pub(crate) fn anchors_at(&self, hay: &[u8], s: usize, out: &mut Vec<(usize, u32)>) {
        for &pid in &self.by_first[usize::from(hay[s])] {
            let a = &self.anchor_text[pid as usize];
            let Some(text) = hay.get(s..s + a.len()) else { continue };
            let hit = if self.anchors_ci { a.eq_ignore_ascii_case(text) } else { a[..] == *text };
            if hit {
                out.push((s, pid));
            }
        }
    }

    pub(crate) fn anchor_text_matches(&self, pid: usize, text: &[u8]) -> bool {
        self.anchor_text[pid] == text
    }

    /// Appends every anchor site that starts in `from..limit` of `hay`
    /// (`(start, pattern)`, in order). A leftmost search uses the
    /// automaton's SIMD prefilter (an overlapping one cannot): each hit
    /// gives the leftmost start of any anchor, and every anchor starting
    /// there is listed in pattern order, so the sites equal the overlapping
    /// ones ([`Engine::overlapping_anchors`], the specification).
    pub(crate) fn anchor_sites(
        &self,
        hay: &[u8],
        from: usize,
        limit: usize,
        out: &mut Vec<(usize, u32)>,
    ) {
        let Some(ac) = &self.ac else { return };
        let mut at = from;
        while at < limit {
            let Some(m) = ac.find(aho_corasick::Input::new(hay).range(at..hay.len())) else {
                break;
            };
            let s = m.start();
            if s >= limit {
                break;
            }
            self.anchors_at(hay, s, out);
            at = s + 1;
        }
    }

    /// An automaton that reports every anchor at every position,
    /// overlapping: what [`Scanner::exhaustive`] searches with.
    pub(crate) fn overlapping_anchors(&self) -> AhoCorasick {
        AhoCorasick::builder()
            .ascii_case_insensitive(self.anchors_ci)
            .build(&self.anchor_text)
            .expect("the anchors built once already")
    }

    /// What automaton pattern `pid` starts, and its length.
    pub(crate) fn anchor(&self, pid: u32) -> (Anchor, usize) {
        self.anchors[pid as usize]
    }

    /// The longest literal anchor.
    pub(crate) fn max_anchor(&self) -> usize {
        self.max_anchor
    }

    /// Which kinds that start outside the anchor automaton are enabled.
    pub(crate) fn kinds(&self) -> &StartKinds {
        &self.kinds
    }

    /// Whether a hit at `p` stands: its shape is accepted bare, or the
    /// context before it says it is a value ([`context`]).
    #[inline]
    pub(crate) fn confirms(&self, buf: &[u8], p: usize, hit: &view::Hit) -> bool {
        self.contexts.confirms(buf, p, hit)
    }

    /// [`StartKinds::start_digits`] of [`Engine::kinds`].
    pub(crate) fn start_digits(&self) -> &[u16; 20] {
        &self.start_digits
    }

    /// Whether some custom rule has no literal anchor: the scanner's extra
    /// work for them happens only then.
    #[inline]
    pub(crate) fn has_bounded(&self) -> bool {
        !self.bounded.is_empty()
    }

    /// Where bytes must be held for rules with no literal anchor: the first
    /// position in the last `bounded_tail` bytes before `end` (not before
    /// `from`) whose byte may start one of their matches, or `end`. A match
    /// starting earlier is decided by the bytes at hand.
    pub(crate) fn bounded_hold(&self, buf: &[u8], from: usize, end: usize) -> usize {
        let lo = end.saturating_sub(self.bounded_tail).max(from);
        (lo..end).find(|&p| self.bounded_first[usize::from(buf[p])]).unwrap_or(end)
    }

    /// Appends `(start, pattern)` for every place in `from..limit` where a
    /// rule with no literal anchor matches: found by unanchored searches,
    /// or, for [`Scanner::exhaustive`], by an anchored match tried at every
    /// position (the specification).
    pub(crate) fn bounded_sites(
        &self,
        buf: &[u8],
        from: usize,
        limit: usize,
        eof: bool,
        exhaustive: bool,
        out: &mut Vec<(usize, u32)>,
    ) {
        for &(rule, pid) in &self.bounded {
            let b = self.customs[usize::from(rule)].bounded.as_ref().expect("a bounded rule");
            if exhaustive {
                out.extend(
                    (from..limit)
                        .filter(|&p| matches!(b.at(buf, p, eof), Ok(Some(_))))
                        .map(|p| (p, pid)),
                );
                continue;
            }
            let mut at = from;
            while let Some(s) = b.next_site(buf, at, limit) {
                out.push((s, pid));
                at = s + 1;
            }
        }
    }

    /// Appends `(q, pattern)` for every rule with no literal anchor whose
    /// match may start with the byte at `q` (inside an email address,
    /// where the scanner tries each place).
    pub(crate) fn bounded_at(&self, buf: &[u8], q: usize, out: &mut Vec<(usize, u32)>) {
        for &(rule, pid) in &self.bounded {
            let b = self.customs[usize::from(rule)].bounded.as_ref().expect("a bounded rule");
            if b.first[usize::from(buf[q])] {
                out.push((q, pid));
            }
        }
    }

    /// Custom rule `rule`, compiled.
    pub(crate) fn custom(&self, rule: u16) -> &custom::Compiled {
        &self.customs[usize::from(rule)]
    }

    pub(crate) fn max_custom_match(&self) -> usize {
        self.cfg.max_custom_match
    }

    pub(crate) fn card_mask(&self) -> CardMask {
        self.cfg.card_mask
    }

    /// Whether the allow list passes this value (`norm` is its normalized
    /// form).
    pub(crate) fn allows(&self, kind: Kind, raw: &[u8], norm: &[u8]) -> bool {
        self.allow.allows(kind, raw, norm)
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

/// The engine's unit tests' source of random inputs: xorshift64, seeded,
/// so a failing case is the same on every run.
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

//! Context decisions: whether the words shortly before an ambiguous shape
//! make it a value. A contiguous 19-digit run that passes Luhn and an
//! issuer range is also the width of a 64-bit ID; ten bare digits are a
//! phone number or a reference; nine bare digits an SSN or anything else.
//! Those shapes are reported only when a word of their kind (`card`,
//! `phone`, `ssn`...) is near before them and no word of another kind
//! (`id`, `order_id`, `#`...) is nearer. Custom rules use the same
//! mechanism (`context`, `not_context`).
//!
//! A decision reads only the `window` bytes before the value (at most
//! [`MAX_CONTEXT_WINDOW`]), which the scanner always keeps as history: it
//! is the same for every chunking of the stream. It must never read a byte
//! after the value's start, and never look further back than
//! [`HISTORY`].

use super::keywords::Keywords;
use super::view::{Hit, HISTORY};
use super::{Brand, Kind};

/// The longest context window: one byte less than the scanner's history,
/// because a word that starts at the window's first byte is judged with
/// the byte before it ([`is_word_at`](super::keywords::is_word_at)).
pub const MAX_CONTEXT_WINDOW: usize = HISTORY - 1;

/// The words of one detector's context, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextWords {
    /// Words that make the shape a value (matched ignoring ASCII case, as
    /// whole words). Empty: no word is needed, only `not_words` reject.
    pub words: Vec<String>,
    /// Words that make it not a value when nearer to it than any of
    /// `words` (or present at all, when `words` is empty).
    pub not_words: Vec<String>,
    /// How many bytes before the value are searched (1 to
    /// [`MAX_CONTEXT_WINDOW`]).
    pub window: usize,
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

impl ContextWords {
    /// Card context: what makes a contiguous 19-digit run, a 15-digit UATP
    /// number written bare, or a grouped Luhn-valid number from no known
    /// issuer a card. `card #` is a card word of its own, so that the
    /// nearer `#` of an order number does not outweigh it there.
    pub fn card_default() -> ContextWords {
        ContextWords {
            words: words(&[
                "card",
                "card #",
                "card#",
                "cardnumber",
                "creditcard",
                "credit",
                "debit",
                "payment",
                "pan",
                "cc",
                "cc #",
                "cc#",
                "ccnum",
                "ccnumber",
            ]),
            not_words: words(&[
                "id",
                "order_id",
                "trace",
                "trace_id",
                "#",
                "ref",
                "reference",
                "tracking",
                "invoice",
                "isbn",
            ]),
            window: 48,
        }
    }

    /// Phone context: what makes ten bare digits a phone number.
    pub fn phone_default() -> ContextWords {
        ContextWords {
            words: words(&[
                "tel",
                "telephone",
                "phone",
                "mobile",
                "cell",
                "cellphone",
                "fax",
                "whatsapp",
            ]),
            not_words: words(&["id", "#", "ref", "order", "invoice", "account", "isbn"]),
            window: 32,
        }
    }

    /// SSN context: what makes nine bare digits a Social Security number.
    pub fn ssn_default() -> ContextWords {
        ContextWords {
            words: words(&[
                "ssn",
                "social security",
                "soc sec",
                "soc. sec",
                "taxpayer",
                "tax id",
                "ss#",
                "ss no",
            ]),
            not_words: Vec::new(),
            window: 32,
        }
    }
}

/// The context of every built-in detector that has ambiguous shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextConfig {
    pub card: ContextWords,
    pub phone: ContextWords,
    pub ssn: ContextWords,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            card: ContextWords::card_default(),
            phone: ContextWords::phone_default(),
            ssn: ContextWords::ssn_default(),
        }
    }
}

/// One detector's context, compiled.
#[derive(Clone, Debug, Default)]
pub(crate) struct Context {
    words: Keywords,
    not_words: Keywords,
    window: usize,
}

impl Context {
    /// Compiles a context; the message names what is wrong (never a
    /// scanned value: only configured words).
    pub(crate) fn new(c: &ContextWords) -> Result<Context, String> {
        if c.window == 0 || c.window > MAX_CONTEXT_WINDOW {
            return Err(format!("context window must be between 1 and {MAX_CONTEXT_WINDOW}"));
        }
        for w in c.words.iter().chain(&c.not_words) {
            if w.is_empty() || w.len() > c.window {
                return Err(format!(
                    "context word {w:?} must be 1 to {} bytes (the window)",
                    c.window
                ));
            }
        }
        let build = |list: &[String]| Keywords::new(list).map_err(|e| format!("context: {e}"));
        Ok(Context { words: build(&c.words)?, not_words: build(&c.not_words)?, window: c.window })
    }

    /// True when nothing is required and nothing can reject.
    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty() && self.not_words.is_empty()
    }

    /// Whether the context before `p` makes the shape at `p` a value: a
    /// word in the window and no nearer not-word (on a tie, the longer
    /// one: `card #` against `#`); with no words configured, no not-word
    /// in the window.
    pub(crate) fn accepts(&self, buf: &[u8], p: usize) -> bool {
        let pos = if self.words.is_empty() {
            None
        } else {
            match self.words.nearest_before(buf, p, self.window) {
                None => return false,
                found => found,
            }
        };
        if self.not_words.is_empty() {
            return true;
        }
        match (pos, self.not_words.nearest_before(buf, p, self.window)) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(w), Some(n)) => (w.end, w.len) >= (n.end, n.len),
        }
    }
}

/// The compiled contexts of the built-in detectors.
#[derive(Clone, Debug, Default)]
pub(crate) struct Contexts {
    pub card: Context,
    pub phone: Context,
    pub ssn: Context,
}

impl Contexts {
    pub(crate) fn new(c: &ContextConfig) -> Result<Contexts, String> {
        let one = |name: &str, w: &ContextWords| {
            Context::new(w).map_err(|e| format!("[detect.context.{name}] {e}"))
        };
        Ok(Contexts {
            card: one("card", &c.card)?,
            phone: one("phone", &c.phone)?,
            ssn: one("ssn", &c.ssn)?,
        })
    }

    /// The context a hit at `p` needs, judged from its shape alone, or
    /// `None` when its shape is accepted bare: a contiguous 19-digit card,
    /// a bare 15-digit UATP number, a card from no known issuer, ten bare
    /// digits as a phone, nine bare digits as an SSN.
    pub(crate) fn needed(&self, buf: &[u8], p: usize, hit: &Hit) -> Option<&Context> {
        let raw = &buf[p..p + hit.len];
        let bare = || raw.iter().all(u8::is_ascii_digit);
        match hit.kind {
            Kind::Card
                if hit.brand == Some(Brand::Unknown)
                    || (hit.len == 19 && bare())
                    || (hit.brand == Some(Brand::Uatp) && hit.len == 15) =>
            {
                Some(&self.card)
            }
            Kind::Phone if hit.len == 10 && bare() => Some(&self.phone),
            Kind::Ssn if hit.len == 9 && bare() => Some(&self.ssn),
            _ => None,
        }
    }

    /// Whether a hit at `p` stands: its shape needs no context, or its
    /// context accepts it.
    pub(crate) fn confirms(&self, buf: &[u8], p: usize, hit: &Hit) -> bool {
        self.needed(buf, p, hit).is_none_or(|c| c.accepts(buf, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(text before the value, accepted)`: the value itself is `|`.
    fn judge(c: &ContextWords, cases: &[(&str, bool)]) {
        let ctx = Context::new(c).unwrap();
        for &(before, want) in cases {
            let buf = format!("{before}|");
            assert_eq!(ctx.accepts(buf.as_bytes(), before.len()), want, "{before:?}");
        }
    }

    #[test]
    fn card_context_table() {
        judge(
            &ContextWords::card_default(),
            &[
                ("card number ", true),
                ("Card: ", true),
                ("{\"card_number\": \"", true),
                ("{\"cardNumber\":", true),
                ("<input name=\"cc-number\" value=\"", true),
                ("cc_num=", true),
                ("PAN ", true),
                ("Credit card ", true),
                ("payment method ", true),
                ("Card #", true),
                ("card # ", true),
                // ID context, nearer than any card word.
                ("id ", false),
                ("order_id: ", false),
                ("{\"orderId\": ", false),
                ("card_id=", false),
                ("card, order #", false),
                ("trace ", false),
                ("payment ref ", false),
                // None at all.
                ("", false),
                ("total: ", false),
                // Words glued to other letters are not words.
                ("company ", false),
                ("panel ", false),
                ("accent ", false),
                ("scar ", false),
                // A card word nearer than an ID word.
                ("order_id 5, card ", true),
                ("cards: ", true),
            ],
        );
    }

    #[test]
    fn phone_and_ssn_context_tables() {
        judge(
            &ContextWords::phone_default(),
            &[
                ("tel:", true),
                ("<a href=\"tel:", true),
                ("Phone: ", true),
                ("{\"phone\":\"", true),
                ("mobile_number=", true),
                ("Fax ", true),
                ("phoneNumber: ", true),
                ("ref ", false),
                ("hotel ", false),
                ("order ", false),
                ("phone id ", false),
                ("", false),
            ],
        );
        judge(
            &ContextWords::ssn_default(),
            &[
                ("SSN: ", true),
                ("ssn_no=", true),
                ("SS# ", true),
                ("Social Security number ", true),
                ("assn ", false),
                ("", false),
            ],
        );
    }

    /// A word must lie wholly inside the window; one that starts at the
    /// window's first byte counts, one byte earlier does not.
    #[test]
    fn window_edges() {
        let c = ContextWords { words: words(&["card"]), not_words: vec![], window: 10 };
        judge(&c, &[("card 67890", true), ("card 678901", false), ("xcard 67890", false)]);
        let only_not = ContextWords { words: vec![], not_words: words(&["id"]), window: 8 };
        judge(&only_not, &[("value ", true), ("id ", false), ("", true)]);
    }

    #[test]
    fn invalid_contexts_are_refused() {
        let base = ContextWords::card_default();
        for bad in [
            ContextWords { window: 0, ..base.clone() },
            ContextWords { window: MAX_CONTEXT_WINDOW + 1, ..base.clone() },
            ContextWords { words: vec![String::new()], ..base.clone() },
            ContextWords { words: vec!["x".repeat(49)], ..base.clone() },
        ] {
            assert!(Context::new(&bad).is_err(), "{bad:?}");
        }
        assert!(Contexts::new(&ContextConfig::default()).is_ok());
    }
}

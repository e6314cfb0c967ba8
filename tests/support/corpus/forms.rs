//! How a planted value is written in a document: its textual form.
//!
//! A form turns a [`Value`] into the exact text that goes into a document
//! of a given [`DocType`], already in that document's syntax (the label's
//! span covers exactly this text). `plain` writes the value as a program
//! prints it, escaped as the document needs (JSON string escapes, HTML and
//! XML entities for `&<>"`, CSV quoting), so a PEM block in JSON has its
//! newlines as `\n`.
//!
//! The other rows are the forms of issue 16: separators as HTML character
//! references (named, decimal, hexadecimal), digits as references, inline
//! tags between digit groups, Unicode separators, fullwidth digits,
//! punctuation and mixed separators, JSON `\uXXXX` escapes,
//! percent-encoding and `+` for a space, PEM newlines as the two
//! characters `\n` or as `&#10;`. Each row says:
//! - `applies`: the values and document types it makes sense for (an HTML
//!   reference only in HTML and XML; digit separators only for numeric
//!   values, positives and decoys alike, so hard negatives are written in
//!   the same forms);
//! - `write`: the written text, escaped for the document except where the
//!   form itself is the escape (`&nbsp;` must stay as written);
//! - `weight`: how often it is chosen among the forms that apply.
//!
//! Every label records its form, so the corpus test can print recall per
//! form and a form the engine does not see shows as one line.

use super::docs::DocType;
use super::values::{Class, Value};
use super::Rng;

pub struct Form {
    pub name: &'static str,
    pub applies: fn(&Value, DocType) -> bool,
    pub write: fn(&Value, DocType) -> String,
    pub weight: usize,
}

/// Values written with digit separators: cards, SSNs, IBANs and phone
/// numbers, and every single-line decoy but the secret-shaped ones.
fn numeric(v: &Value) -> bool {
    let kind_ok = match v.class {
        Class::Pii => matches!(v.kind, "card" | "ssn" | "iban" | "phone"),
        Class::Decoy => !v.multiline && !matches!(v.kind, "secret_near_miss"),
    };
    kind_ok && v.text.bytes().any(|b| b.is_ascii_digit())
}

/// [`numeric`] with a space or hyphen to rewrite.
fn separated(v: &Value) -> bool {
    numeric(v) && v.text.bytes().any(|b| matches!(b, b' ' | b'-'))
}

/// Values whose digits may be written encoded: every numeric value, an
/// IBAN's check digits and the digit after a phone number's `+` or `(`
/// included, and the decoys alike.
fn digits_encodable(v: &Value) -> bool {
    numeric(v)
}

fn html(t: DocType) -> bool {
    t == DocType::Html
}

fn markup(t: DocType) -> bool {
    matches!(t, DocType::Html | DocType::Xml)
}

fn json(t: DocType) -> bool {
    matches!(t, DocType::Json | DocType::Ndjson | DocType::Sse)
}

/// A stable choice among `options` from the value's text (forms have no
/// random source of their own: the same value, the same text).
fn pick<'a>(v: &Value, salt: usize, options: &[&'a str]) -> &'a str {
    let h = v.text.bytes().fold(salt, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
    options[h % options.len()]
}

/// The value with each space and hyphen replaced (`space`, `hyphen`) and
/// each digit through `digit`; every other character escaped for `t`.
fn rewrite(
    v: &Value,
    t: DocType,
    space: &str,
    hyphen: &str,
    digit: impl Fn(char) -> String,
) -> String {
    let mut out = String::new();
    for c in v.text.chars() {
        match c {
            ' ' => out.push_str(space),
            '-' => out.push_str(hyphen),
            '0'..='9' => out.push_str(&digit(c)),
            _ => out.push_str(&t.escape(&c.to_string())),
        }
    }
    out
}

fn same(c: char) -> String {
    c.to_string()
}

fn html_named(v: &Value, t: DocType) -> String {
    let sp = pick(v, 1, &["&nbsp;", "&thinsp;", "&ensp;", "&emsp;", "&NBSP;"]);
    let hy = pick(v, 2, &["&#8209;", "&#8211;", "&ndash;", "&hyphen;"]);
    rewrite(v, t, sp, hy, same)
}

fn html_decimal(v: &Value, t: DocType) -> String {
    let sp = pick(v, 3, &["&#160;", "&#32;", "&#8239;", "&#8201;"]);
    rewrite(v, t, sp, "&#45;", same)
}

fn html_hex(v: &Value, t: DocType) -> String {
    let sp = pick(v, 4, &["&#xA0;", "&#xa0;", "&#x20;", "&#X2007;"]);
    let hy = pick(v, 5, &["&#x2D;", "&#x2d;", "&#x2011;"]);
    rewrite(v, t, sp, hy, same)
}

fn html_digits(v: &Value, t: DocType) -> String {
    let hex = pick(v, 6, &["d", "x"]) == "x";
    rewrite(v, t, " ", "-", |c| {
        if hex {
            format!("&#x{:X};", u32::from(c))
        } else {
            format!("&#{};", u32::from(c))
        }
    })
}

/// Each group of digits in an inline tag: `<span>4111</span> <span>...`.
fn html_tags(v: &Value, t: DocType) -> String {
    let tag = pick(v, 7, &["span", "b", "span class=\"d\"", "strong"]);
    let close = tag.split(' ').next().unwrap_or(tag);
    let mut out = String::new();
    let mut group = String::new();
    let flush = |out: &mut String, group: &mut String| {
        if !group.is_empty() {
            out.push_str(&format!("<{tag}>{}</{close}>", t.escape(group)));
            group.clear();
        }
    };
    for c in v.text.chars() {
        if c == ' ' || c == '-' {
            flush(&mut out, &mut group);
            out.push(c);
        } else {
            group.push(c);
        }
    }
    flush(&mut out, &mut group);
    out
}

fn unicode_sep(v: &Value, t: DocType) -> String {
    let sp = pick(v, 8, &["\u{a0}", "\u{2007}", "\u{202f}", "\u{2009}"]);
    let hy = pick(v, 9, &["\u{2011}", "\u{2013}"]);
    t.escape(&v.text.replace(' ', sp).replace('-', hy))
}

fn fullwidth(v: &Value, t: DocType) -> String {
    let text: String = v
        .text
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0xff10 + (c as u32 - 0x30)).expect("a fullwidth digit"),
            _ => c,
        })
        .collect();
    t.escape(&text)
}

/// Cards and SSNs: `.`, `/` or `_` throughout; cards also spaces and
/// hyphens mixed (an SSN's groups are printed with one separator). IBANs:
/// `.` between their groups of four. (Phone numbers: their `/` form is a
/// value of its own, the German notation; no convention writes a phone
/// number with `_` or with `/` throughout.)
fn punctuation(v: &Value, t: DocType) -> String {
    let options: &[&str] = if v.kind.starts_with("iban") {
        &["."]
    } else if v.kind.starts_with("ssn") {
        &[".", "/", "_"]
    } else {
        &[".", "/", "_", "mixed"]
    };
    let sep = pick(v, 10, options);
    if sep != "mixed" {
        return t.escape(&v.text.replace([' ', '-'], sep));
    }
    let mut k = 0;
    let text: String = v
        .text
        .chars()
        .map(|c| match c {
            ' ' | '-' => {
                k += 1;
                if k % 2 == 0 {
                    '-'
                } else {
                    ' '
                }
            }
            _ => c,
        })
        .collect();
    t.escape(&text)
}

fn json_escape(v: &Value, t: DocType) -> String {
    let sp = pick(v, 11, &["\\u0020", "\\u00a0", "\\u00A0", "\\u202f"]);
    let encode_digits = pick(v, 12, &["no", "yes"]) == "yes" && digits_encodable(v);
    rewrite(v, t, sp, "\\u002d", |c| {
        if encode_digits {
            format!("\\u{:04x}", u32::from(c))
        } else {
            c.to_string()
        }
    })
}

fn percent(v: &Value, t: DocType) -> String {
    let sp = pick(v, 13, &["%20", "+", "%C2%A0", "%20"]);
    let hy = pick(v, 14, &["%2D", "%2d"]);
    let encode_digits = pick(v, 15, &["no", "no", "yes"]) == "yes" && digits_encodable(v);
    rewrite(v, t, sp, hy, |c| {
        if encode_digits {
            format!("%{:02X}", u32::from(c))
        } else {
            c.to_string()
        }
    })
}

/// A PEM block whose line breaks are the two characters `\n` (a JSON value
/// pasted into a text, a CSV field or an environment dump), or `&#10;` in
/// markup.
fn pem_escaped(v: &Value, t: DocType) -> String {
    let nl = if markup(t) { pick(v, 16, &["&#10;", "\\n"]) } else { "\\n" };
    v.text.split('\n').map(|line| t.escape(line)).collect::<Vec<_>>().join(nl)
}

/// Every form the generator writes.
pub const FORMS: &[Form] = &[
    Form { name: "plain", applies: |_, _| true, write: |v, t| t.escape(&v.text), weight: 4 },
    Form {
        name: "html_named",
        applies: |v, t| html(t) && separated(v),
        write: html_named,
        weight: 1,
    },
    Form {
        name: "html_decimal",
        applies: |v, t| markup(t) && separated(v),
        write: html_decimal,
        weight: 1,
    },
    Form {
        name: "html_hex",
        applies: |v, t| markup(t) && separated(v),
        write: html_hex,
        weight: 1,
    },
    Form {
        name: "html_digits",
        applies: |v, t| markup(t) && digits_encodable(v),
        write: html_digits,
        weight: 1,
    },
    Form {
        name: "html_tags",
        applies: |v, t| html(t) && separated(v),
        write: html_tags,
        weight: 1,
    },
    Form { name: "unicode_sep", applies: |v, _| separated(v), write: unicode_sep, weight: 1 },
    Form { name: "fullwidth", applies: |v, _| digits_encodable(v), write: fullwidth, weight: 1 },
    Form {
        name: "punctuation",
        applies: |v, _| {
            separated(v)
                && matches!(v.kind, "card" | "luhn_bad" | "ssn" | "ssn_bad" | "iban" | "iban_bad")
        },
        write: punctuation,
        weight: 1,
    },
    Form {
        name: "json_escape",
        applies: |v, t| json(t) && separated(v),
        write: json_escape,
        weight: 2,
    },
    Form { name: "percent", applies: |v, _| separated(v), write: percent, weight: 1 },
    Form {
        name: "pem_escaped",
        applies: |v, t| v.multiline && !json(t),
        write: pem_escaped,
        weight: 4,
    },
];

/// A form for `v` in a document of type `t`, drawn by weight among those
/// that apply (`plain` always does).
pub fn choose(rng: &mut Rng, v: &Value, t: DocType) -> &'static Form {
    let ok: Vec<&'static Form> = FORMS.iter().filter(|f| (f.applies)(v, t)).collect();
    let form: &&'static Form = rng.weighted(&ok, |f| f.weight);
    form
}

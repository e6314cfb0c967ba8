//! How a planted value is written in a document: its textual form.
//!
//! A form turns a [`Value`] into the exact text that goes into a document
//! of a given [`DocType`], already in that document's syntax (the label's
//! span covers exactly this text). `plain` writes the value as a program
//! prints it, escaped as the document needs (JSON string escapes, HTML and
//! XML entities for `&<>"`, CSV quoting), so a PEM block in JSON has its
//! newlines as `\n`.
//!
//! Adding a form (issue 16: separators as HTML character references,
//! Unicode separators, JSON `\u00a0` escapes, percent-encoding in URLs,
//! PEM newlines as `&#10;`...): add a row to [`FORMS`] with
//! - `applies`: the values and document types it makes sense for (an HTML
//!   reference only in HTML and XML; digit separators only for numeric
//!   kinds);
//! - `write`: the written text, escaped for the document except where the
//!   form itself is the escape (`&nbsp;` must stay as written);
//! - `weight`: how often it is chosen among the forms that apply.
//!
//! Every label records its form, so the corpus test can print recall per
//! form and a form the engine does not see yet shows as one line.

use super::docs::DocType;
use super::values::Value;
use super::Rng;

pub struct Form {
    pub name: &'static str,
    pub applies: fn(&Value, DocType) -> bool,
    pub write: fn(&Value, DocType) -> String,
    pub weight: usize,
}

/// Every form the generator writes.
pub const FORMS: &[Form] =
    &[Form { name: "plain", applies: |_, _| true, write: |v, t| t.escape(&v.text), weight: 1 }];

/// A form for `v` in a document of type `t`, drawn by weight among those
/// that apply (`plain` always does).
pub fn choose(rng: &mut Rng, v: &Value, t: DocType) -> &'static Form {
    let ok: Vec<&'static Form> = FORMS.iter().filter(|f| (f.applies)(v, t)).collect();
    let form: &&'static Form = rng.weighted(&ok, |f| f.weight);
    form
}

//! What a streamed HTML page asks for and whom it loads: its forms (where
//! they post, which personal data their inputs ask for) and the
//! third-party origins of its scripts, iframes and form actions.
//!
//! Parsing is lol_html's (streaming, chunk-safe, with a hard memory cap);
//! this module only classifies what its handlers see. It never keeps an
//! attribute value other than URL origins and input names, types and
//! autocomplete tokens, and input names go through the engine first.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, PoisonError};

use lol_html::send::{Element, ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{HandlerResult, MemorySettings, Selector};
use url::Url;

use super::template;
use crate::detect::Engine;

/// Forms kept per page.
pub const MAX_FORMS: usize = 32;
/// Inputs kept per form.
pub const MAX_INPUTS: usize = 64;
/// Third-party origins kept per page.
pub const MAX_ORIGINS: usize = 64;
/// Longest input name kept (longer ones become `{long}`).
const MAX_NAME: usize = 64;
/// lol_html's memory cap per page (its buffer for a tag split across
/// chunks); past it the page is no longer observed.
pub const HTML_MEMORY: usize = 256 * 1024;

/// One input of a form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct InputFacts {
    pub name: String,
    #[serde(rename = "type")]
    pub kind_attr: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub autocomplete: String,
    /// The personal-data kind the input asks for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// One form of a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormFacts {
    /// Origin the form posts to (the page's own when the action is
    /// relative or absent).
    pub action_origin: String,
    pub third_party: bool,
    pub method: String,
    pub inputs: Vec<InputFacts>,
}

/// Where a third-party origin is loaded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    Script,
    Iframe,
    FormAction,
}

/// Everything observed on one page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageFacts {
    pub forms: Vec<FormFacts>,
    pub third_parties: Vec<(String, Load)>,
    /// True when lol_html gave up (memory cap, parse ambiguity): the facts
    /// cover the page up to that point.
    pub truncated: bool,
}

#[derive(Default)]
struct State {
    facts: PageFacts,
    /// Index of the form whose inputs are being read.
    open_form: Option<usize>,
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// lol_html's rewriter with its output discarded (only handlers matter).
type Rewriter = HtmlRewriter<'static, fn(&[u8])>;

/// Feeds a page through lol_html and collects [`PageFacts`].
pub struct HtmlObserver {
    rewriter: Option<Rewriter>,
    state: Shared,
}

fn discard(_: &[u8]) {}

impl HtmlObserver {
    /// `page` is the page's own URL (scheme and host), against which
    /// relative URLs resolve and origins are judged first- or third-party.
    pub fn new(page: Url) -> HtmlObserver {
        let state: Shared = Arc::default();
        let page = Arc::new(page);
        let (s1, p1) = (state.clone(), page.clone());
        let (s2, p2) = (state.clone(), page.clone());
        let s3 = state.clone();
        // Parsed once per process: compiling selectors per page cost more
        // than reading a small page.
        static SELECTORS: std::sync::OnceLock<[Selector; 3]> = std::sync::OnceLock::new();
        let [loads, forms, inputs] = SELECTORS.get_or_init(|| {
            ["script[src], iframe[src]", "form", "input, select, textarea"]
                .map(|s| s.parse::<Selector>().expect("a valid selector"))
        });
        let sel = |s: &'static Selector| Cow::Borrowed(s);
        let handlers: Vec<(Cow<'static, Selector>, ElementContentHandlers<'static>)> = vec![
            (
                sel(loads),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                    let load = if el.tag_name() == "script" { Load::Script } else { Load::Iframe };
                    if let Some(origin) =
                        el.get_attribute("src").and_then(|s: String| third(&p1, &s))
                    {
                        add_origin(&mut lock(&s1).facts, origin, load);
                    }
                    Ok(())
                }),
            ),
            (
                sel(forms),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                    let action = el.get_attribute("action").unwrap_or_default();
                    let resolved = p2.join(action.trim()).ok();
                    let origin = resolved.as_ref().map_or_else(|| origin_of(&p2), origin_of);
                    let third_party = resolved.as_ref().is_some_and(|u| !same_site(&p2, u));
                    let method =
                        el.get_attribute("method").unwrap_or_default().to_ascii_uppercase();
                    let method = if method == "POST" { method } else { "GET".into() };
                    {
                        let mut st = lock(&s2);
                        if third_party {
                            add_origin(&mut st.facts, origin.clone(), Load::FormAction);
                        }
                        if st.facts.forms.len() >= MAX_FORMS {
                            st.open_form = None;
                            return Ok(());
                        }
                        st.facts.forms.push(FormFacts {
                            action_origin: origin,
                            third_party,
                            method,
                            inputs: Vec::new(),
                        });
                        st.open_form = Some(st.facts.forms.len() - 1);
                    }
                    let s = s2.clone();
                    if el.can_have_content() {
                        el.on_end_tag(Box::new(move |_| -> HandlerResult {
                            lock(&s).open_form = None;
                            Ok(())
                        }))?;
                    }
                    Ok(())
                }),
            ),
            (
                sel(inputs),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                    let tag = el.tag_name();
                    let kind_attr = match tag.as_str() {
                        "input" => el
                            .get_attribute("type")
                            .unwrap_or_else(|| "text".into())
                            .to_ascii_lowercase(),
                        other => other.to_string(),
                    };
                    if matches!(
                        kind_attr.as_str(),
                        "hidden" | "submit" | "button" | "reset" | "image"
                    ) {
                        return Ok(());
                    }
                    let name = el.get_attribute("name").or_else(|| el.get_attribute("id"));
                    let autocomplete =
                        el.get_attribute("autocomplete").unwrap_or_default().to_ascii_lowercase();
                    let mut st = lock(&s3);
                    let Some(i) = st.open_form else { return Ok(()) };
                    let form = &mut st.facts.forms[i];
                    if form.inputs.len() >= MAX_INPUTS {
                        return Ok(());
                    }
                    let raw = name.unwrap_or_default();
                    let data = classify_input(&raw, &kind_attr, &autocomplete);
                    let name = if raw.len() > MAX_NAME { "{long}".into() } else { raw };
                    form.inputs.push(InputFacts {
                        name,
                        kind_attr,
                        autocomplete: autocomplete.chars().take(MAX_NAME).collect(),
                        data: data.map(str::to_string),
                    });
                    Ok(())
                }),
            ),
        ];
        let settings = Settings {
            element_content_handlers: handlers,
            memory_settings: MemorySettings {
                preallocated_parsing_buffer_size: 1024,
                max_allowed_memory_usage: HTML_MEMORY,
            },
            ..Settings::new_send()
        };
        let rewriter = HtmlRewriter::new(settings, discard as fn(&[u8]));
        HtmlObserver { rewriter: Some(rewriter), state }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if let Some(r) = self.rewriter.as_mut() {
            if r.write(chunk).is_err() {
                self.rewriter = None;
                lock(&self.state).facts.truncated = true;
            }
        }
    }

    /// Ends the page and returns what it holds, input names checked by the
    /// engine (a name that holds a value becomes its placeholder).
    pub fn finish(mut self, engine: &Arc<Engine>) -> PageFacts {
        if let Some(r) = self.rewriter.take() {
            if r.end().is_err() {
                lock(&self.state).facts.truncated = true;
            }
        }
        let mut facts = std::mem::take(&mut lock(&self.state).facts);
        // An origin is a host name the page chose: checked like the rest.
        for (origin, _) in &mut facts.third_parties {
            *origin = template::checked(engine, origin);
        }
        for f in &mut facts.forms {
            f.action_origin = template::checked(engine, &f.action_origin);
            for i in &mut f.inputs {
                i.name = template::segment(engine, &i.name);
                i.kind_attr = template::segment(engine, &i.kind_attr);
                if let Some(p) = template::classify(engine, &i.autocomplete) {
                    i.autocomplete = format!("{{{p}}}");
                }
            }
        }
        facts
    }
}

fn add_origin(facts: &mut PageFacts, origin: String, load: Load) {
    if facts.third_parties.len() < MAX_ORIGINS
        && !facts.third_parties.iter().any(|(o, l)| *o == origin && *l == load)
    {
        facts.third_parties.push((origin, load));
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(u: &Url) -> String {
    u.origin().ascii_serialization()
}

/// The origin of `reference` when it is on another site than `page`.
fn third(page: &Url, reference: &str) -> Option<String> {
    let u = page.join(reference.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") || same_site(page, &u) {
        return None;
    }
    Some(origin_of(&u))
}

/// Same site: the same host, or the same last two labels of a domain
/// (`www.shop.example` and `cdn.shop.example` are one site; a public
/// suffix list would also tell `a.co.uk` from `b.co.uk`, which this does
/// not).
pub fn same_site(a: &Url, b: &Url) -> bool {
    match (a.host_str(), b.host_str()) {
        (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => true,
        (Some(x), Some(y)) => match (a.domain(), b.domain()) {
            (Some(_), Some(_)) => site(x).eq_ignore_ascii_case(site(y)),
            _ => false,
        },
        _ => true,
    }
}

fn site(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    match host.rmatch_indices('.').nth(1) {
        Some((i, _)) => &host[i + 1..],
        None => host,
    }
}

/// The personal-data kind an input asks for, from its autocomplete token,
/// its type and its name.
pub fn classify_input(name: &str, kind_attr: &str, autocomplete: &str) -> Option<&'static str> {
    // `section-x shipping street-address`: the field name is the last
    // token that is not `webauthn`.
    let token = autocomplete.split_ascii_whitespace().rfind(|t| *t != "webauthn").unwrap_or("");
    let by_token = match token {
        "email" => Some("email"),
        t if t.starts_with("tel") => Some("tel"),
        "cc-number" => Some("cc-number"),
        "cc-csc" => Some("cc-csc"),
        t if t.starts_with("cc-exp") => Some("cc-exp"),
        "cc-name" | "name" | "given-name" | "family-name" | "additional-name" | "nickname"
        | "honorific-prefix" | "honorific-suffix" => Some("name"),
        t if t.starts_with("address-") || t.starts_with("country") => Some("address"),
        "street-address" | "postal-code" => Some("address"),
        t if t.starts_with("bday") => Some("birthday"),
        "current-password" | "new-password" => Some("password"),
        "username" => Some("username"),
        "sex" => Some("gender"),
        _ => None,
    };
    if by_token.is_some() {
        return by_token;
    }
    match kind_attr {
        "email" => return Some("email"),
        "tel" => return Some("tel"),
        "password" => return Some("password"),
        _ => {}
    }
    let n: String =
        name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    let rules: [(&[&str], &str); 11] = [
        (&["ssn", "socialsecurity", "nationalid", "taxid", "passport", "nino"], "national_id"),
        (&["cardnumber", "ccnumber", "cardno", "ccnum", "creditcard"], "cc-number"),
        (&["cvv", "cvc", "csc", "securitycode"], "cc-csc"),
        (&["expiry", "expdate", "ccexp", "cardexp", "expiration"], "cc-exp"),
        (&["iban", "accountnumber", "bankaccount"], "iban"),
        (&["email", "mail"], "email"),
        (&["phone", "mobile", "tel"], "tel"),
        (&["dob", "birth", "bday"], "birthday"),
        (&["password", "passwd"], "password"),
        (&["address", "street", "zip", "postcode", "postal", "city"], "address"),
        (&["firstname", "lastname", "fullname", "surname", "name"], "name"),
    ];
    rules.iter().find(|(words, _)| has(words)).map(|(_, kind)| *kind)
}

/// Kinds of card data (a card field on a plain-HTTP page is flagged).
pub fn is_card_field(kind: &str) -> bool {
    matches!(kind, "cc-number" | "cc-csc" | "cc-exp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::tests_support::engine;

    const PAGE: &str = r#"<!doctype html><html><head>
<script src="/app.js"></script>
<script src="https://cdn.shop.example/lib.js"></script>
<script src="https://tracker.example.net/t.js?id=1"></script>
<script src="//ads.example.org/a.js"></script>
</head><body>
<iframe src="https://video.example.com/embed/1"></iframe>
<form action="https://leads.example.io/collect" method="post">
  <input name="email" type="email" autocomplete="email">
  <input name="phone_number">
  <input type="hidden" name="campaign" value="x">
  <input name="jane@example.com">
  <button type="submit">Send</button>
</form>
<form action="/checkout" method="POST">
  <input name="cc" autocomplete="cc-number"><input name="cvv"><select name="country"></select>
</form>
<input name="outside">
</body></html>"#;

    fn observe(cuts: &[usize]) -> PageFacts {
        let e = engine();
        let page = Url::parse("https://www.shop.example/contact").unwrap();
        let mut o = HtmlObserver::new(page);
        let b = PAGE.as_bytes();
        let mut at = 0;
        for &c in cuts {
            let next = (at + c).min(b.len());
            o.feed(&b[at..next]);
            at = next;
        }
        o.feed(&b[at..]);
        o.finish(&e)
    }

    fn input(name: &str, t: &str, ac: &str, data: Option<&str>) -> InputFacts {
        InputFacts {
            name: name.into(),
            kind_attr: t.into(),
            autocomplete: ac.into(),
            data: data.map(str::to_string),
        }
    }

    #[test]
    fn forms_and_third_parties_are_found() {
        let facts = observe(&[]);
        assert!(!facts.truncated);
        assert_eq!(
            facts.third_parties,
            vec![
                ("https://tracker.example.net".to_string(), Load::Script),
                ("https://ads.example.org".to_string(), Load::Script),
                ("https://video.example.com".to_string(), Load::Iframe),
                ("https://leads.example.io".to_string(), Load::FormAction),
            ]
        );
        assert_eq!(
            facts.forms,
            vec![
                FormFacts {
                    action_origin: "https://leads.example.io".into(),
                    third_party: true,
                    method: "POST".into(),
                    inputs: vec![
                        input("email", "email", "email", Some("email")),
                        input("phone_number", "text", "", Some("tel")),
                        input("{email}", "text", "", None),
                    ],
                },
                FormFacts {
                    action_origin: "https://www.shop.example".into(),
                    third_party: false,
                    method: "POST".into(),
                    inputs: vec![
                        input("cc", "text", "cc-number", Some("cc-number")),
                        input("cvv", "text", "", Some("cc-csc")),
                        input("country", "select", "", None),
                    ],
                },
            ]
        );
    }

    #[test]
    fn any_chunking_gives_the_same_facts() {
        let whole = observe(&[]);
        for size in [1, 2, 3, 7, 64] {
            let cuts = vec![size; PAGE.len() / size + 1];
            assert_eq!(observe(&cuts), whole, "chunks of {size}");
        }
    }

    #[test]
    fn memory_is_capped() {
        let e = engine();
        let mut o = HtmlObserver::new(Url::parse("http://a.example/").unwrap());
        // One endless tag: lol_html must buffer it, up to its cap.
        o.feed(b"<form action=\"");
        for _ in 0..100 {
            o.feed(&[b'a'; 8192]);
        }
        assert!(o.finish(&e).truncated);
    }

    #[test]
    fn inputs_are_classified() {
        let cases = [
            ("x", "text", "shipping street-address", Some("address")),
            ("x", "text", "section-a billing cc-exp-month", Some("cc-exp")),
            ("user_ssn", "text", "", Some("national_id")),
            ("card_number", "text", "", Some("cc-number")),
            ("dob", "date", "", Some("birthday")),
            ("q", "search", "", None),
            ("pw", "password", "", Some("password")),
            ("first_name", "text", "", Some("name")),
        ];
        for (name, t, ac, want) in cases {
            assert_eq!(classify_input(name, t, ac), want, "{name} {t} {ac}");
        }
    }
}

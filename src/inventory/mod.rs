//! The privacy inventory: from real traffic, what personal data each
//! endpoint exposes (responses) and collects (requests), which forms ask
//! visitors for it and which third parties pages load, built in the same
//! pass that scans.
//!
//! Layout: [`template`] turns paths into endpoint templates, [`fields`]
//! tracks JSON and form field paths in a streamed body, [`collect`]
//! projects a request body or query string onto the bytes the engine scans
//! (percent-decoded forms, multipart text parts) with their field names, [`html`] reads
//! forms and third-party origins from a streamed page, [`store`] holds the
//! data, its JSON schema and the merge, [`render`] writes it as HTML or
//! Markdown, [`persist`] snapshots it to disk.
//!
//! It only observes: it never changes a byte of traffic. It must never
//! keep a scanned value: paths, keys and input names are checked by the
//! engine before they are stored, and values are never read at all. The
//! proxy holds one [`Inventory`]; the pipeline gets an [`Exchange`] per
//! request, feeds an [`Observer`] per response and a [`Collector`] per
//! scanned request.

pub mod collect;
pub mod fields;
pub mod html;
pub mod persist;
pub mod render;
pub mod report;
pub mod sample;
pub mod store;
pub mod template;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::header::{HeaderName, HOST};
use url::Url;

use crate::config::inventory::InventorySection;
use crate::detect::{ContentHint, Engine, Finding, Kind};
use crate::metrics::Metrics;
use crate::policy::Policy;
use fields::{Fields, JsonTracker};
use html::{HtmlObserver, PageFacts};
use sample::Sampler;
use store::{FormRecord, KindRecord, Limits, RequestRecord, ResponseRecord, Snapshot, Store};

/// Field-path tracking window beyond the engine's hold-back: a finding is
/// reported at most its own length plus the hold-back after its last byte.
const FIELD_SLACK: usize = 16 * 1024;

/// Global Privacy Control's request header (a name made once: looking a
/// header up by `&str` parses the name on every request).
static SEC_GPC: HeaderName = HeaderName::from_static("sec-gpc");

/// The inventory of a running guard, shared by every request.
pub struct Inventory {
    /// Taken once per recorded exchange.
    live: Mutex<Live>,
    limits: Limits,
    max_templates: usize,
    max_field_len: usize,
    metrics: Option<Arc<Metrics>>,
    /// The snapshot file and how often it is written.
    file: Option<(std::path::PathBuf, std::time::Duration)>,
    /// Which responses the structural observer reads (see [`sample`]).
    sampler: Sampler,
    /// Path segment decisions per route (see [`template::SegmentCache`]).
    segments: template::SegmentCache,
}

/// The store and the clock its records are stamped with, behind one lock.
struct Live {
    store: Store,
    clock: Clock,
}

fn lock(m: &Mutex<Live>) -> std::sync::MutexGuard<'_, Live> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// `secs` as RFC 3339 and the start of its hour.
fn stamps(secs: u64) -> (String, String) {
    let utc = |t: u64| crate::clock::format_utc(t as i64, Some(0));
    (utc(secs), utc(secs - secs % 3600))
}

/// Current time as RFC 3339 and the start of its hour.
fn now() -> (String, String) {
    stamps(unix_secs())
}

/// The time records are stamped with (whole seconds), formatted once per
/// second rather than once per exchange.
#[derive(Default)]
struct Clock {
    secs: Option<u64>,
    now: String,
    hour: String,
}

impl Clock {
    /// The current second as RFC 3339 and the start of its hour.
    fn tick(&mut self) -> (&str, &str) {
        let secs = unix_secs();
        if self.secs != Some(secs) {
            (self.now, self.hour) = stamps(secs);
            self.secs = Some(secs);
        }
        (&self.now, &self.hour)
    }
}

impl Inventory {
    /// An empty inventory, or the one in `store` (loaded from a snapshot).
    pub fn new(
        cfg: &InventorySection,
        store: Option<Store>,
        metrics: Option<Arc<Metrics>>,
    ) -> Inventory {
        Inventory {
            live: Mutex::new(Live {
                store: store.unwrap_or_else(|| Store::new(now().0)),
                clock: Clock::default(),
            }),
            limits: Limits {
                max_fields: cfg.max_fields,
                max_forms: cfg.max_forms,
                max_third_parties: cfg.max_third_parties,
                timeline_hours: cfg.timeline_hours,
            },
            max_templates: cfg.max_templates_per_route,
            max_field_len: cfg.max_field_len,
            metrics,
            file: cfg.file.clone().map(|f| (f, cfg.snapshot_interval.0)),
            sampler: Sampler::new(cfg.observe_interval.0),
            segments: template::SegmentCache::default(),
        }
    }

    /// The inventory a guard starts with: `None` when disabled, else the
    /// snapshot file's content if there is one. A file that cannot be read
    /// is moved aside (`.unreadable`) rather than overwritten, and the
    /// inventory starts empty. Runs once, at start.
    pub fn open(cfg: &InventorySection, metrics: &Arc<Metrics>) -> Option<Arc<Inventory>> {
        if !cfg.enabled {
            return None;
        }
        let store = cfg.file.as_deref().and_then(|path| match persist::load(path) {
            Ok(store) => store,
            Err(e) => {
                let aside = path.with_extension("unreadable");
                let _ = std::fs::rename(path, &aside);
                tracing::warn!(error = %e, aside = %aside.display(), "inventory snapshot unreadable; starting empty");
                None
            }
        });
        Some(Arc::new(Inventory::new(cfg, store, Some(metrics.clone()))))
    }

    /// The inventory as JSON data.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.live).store.to_snapshot()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// What the pipeline needs to know of one request for its response.
    pub fn exchange(
        self: &Arc<Self>,
        route: &Arc<str>,
        parts: &http::request::Parts,
        https: bool,
    ) -> Exchange {
        // Reference-counted copies: the host is only read for a sampled
        // page, and then taken as it was before (the URI's authority, else
        // the Host header).
        let host = match parts.uri.authority() {
            Some(_) => None,
            None => parts.headers.get(HOST).cloned(),
        };
        let gpc = parts.headers.get(&SEC_GPC).is_some_and(|v| v.as_bytes().trim_ascii() == b"1");
        Exchange(Arc::new(ExchangeData {
            inventory: self.clone(),
            route: route.clone(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            host,
            https,
            gpc,
        }))
    }

    /// Templates the exchange's path (under the route's limit), takes the
    /// lock once and hands `add` the store, the template and the time
    /// (RFC 3339 and the start of its hour).
    fn record_with(
        &self,
        ex: &ExchangeData,
        policy: &Policy,
        add: impl FnOnce(&mut Store, &str, &str, &str),
    ) {
        let template = self.segments.template(&ex.route, &policy.engine, ex.uri.path());
        let mut live = lock(&self.live);
        let Live { store, clock } = &mut *live;
        let (now, hour) = clock.tick();
        let template = self.admit(store, &ex.route, &template);
        add(store, template, now, hour);
    }

    /// The template kept for `template` on `route`: itself, or `{other}`
    /// past the route's template limit (counted).
    fn admit<'t>(&self, st: &mut Store, route: &str, template: &'t str) -> &'t str {
        if st.has_template(route, template) || st.templates_of(route) < self.max_templates {
            template
        } else {
            st.count_overflow(route);
            if let Some(m) = &self.metrics {
                m.inventory_template_overflow_total.with_label_values(&[route]).inc();
            }
            template::OTHER
        }
    }

    /// Adds a snapshot (another replica's, or the file loaded at start).
    pub fn merge(&self, other: &Store) {
        lock(&self.live).store.merge(other, &self.limits);
    }
}

/// Serves `GET /inventory` (JSON) and `GET /inventory.html` on the admin
/// listener.
pub fn admin_response<B>(
    inventory: Option<&Arc<Inventory>>,
    req: &http::Request<B>,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
    use http::{Method, StatusCode};
    let reply = |status: StatusCode, ctype: &'static str, body: Vec<u8>| {
        let mut r = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
        r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    };
    const TEXT: &str = "text/plain; charset=utf-8";
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, b"method not allowed\n".to_vec());
        r.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(inv) = inventory else {
        return reply(StatusCode::NOT_FOUND, TEXT, b"the inventory is disabled\n".to_vec());
    };
    let snap = inv.snapshot();
    if req.uri().path().ends_with(".html") {
        reply(StatusCode::OK, "text/html; charset=utf-8", render::html(&snap).into_bytes())
    } else {
        let mut body = serde_json::to_vec_pretty(&snap).unwrap_or_default();
        body.push(b'\n');
        reply(StatusCode::OK, "application/json", body)
    }
}

/// One request, as its response's observer needs it. Cloning it (once per
/// response, into the observer) is a reference count, not a copy.
#[derive(Clone)]
pub struct Exchange(Arc<ExchangeData>);

struct ExchangeData {
    inventory: Arc<Inventory>,
    route: Arc<str>,
    method: http::Method,
    /// Request URI: its path is never stored (it is templated first).
    uri: http::Uri,
    /// The Host header, when the URI has no authority.
    host: Option<http::HeaderValue>,
    https: bool,
    gpc: bool,
}

impl Exchange {
    /// An observer for a response body of this kind; the engine's
    /// hold-back sets how far back a finding may point.
    pub fn observer(&self, hint: ContentHint, max_hold: usize) -> Observer {
        self.observer_at(hint, max_hold, Instant::now())
    }

    /// [`Exchange::observer`] for a response starting at `now`. It counts
    /// every finding; it reads the body's structure (field paths, forms,
    /// third-party origins) only when the sampler picks the response, and
    /// always for a page served to a `Sec-GPC: 1` visitor (so the pages
    /// that load third-party scripts despite it are counted exactly). An
    /// unpicked response's observer neither allocates nor reads a byte.
    pub fn observer_at(&self, hint: ContentHint, max_hold: usize, now: Instant) -> Observer {
        let this = &*self.0;
        let inv = &this.inventory;
        let structural = matches!(hint, ContentHint::Json | ContentHint::Html);
        let picked = structural
            && ((this.gpc && hint == ContentHint::Html)
                || inv.sampler.sample(
                    inv.sampler.key(&this.route, this.method.as_str(), this.uri.path(), hint),
                    now,
                ));
        let retain = max_hold + FIELD_SLACK;
        let body = match hint {
            _ if !picked => Body::Plain,
            ContentHint::Json => Body::Fields(Fields::Json(JsonTracker::new(retain))),
            ContentHint::Html => {
                let scheme = if this.https { "https" } else { "http" };
                let host = match this.uri.authority() {
                    Some(a) => Some(a.as_str()),
                    None => this.host.as_ref().and_then(|h| h.to_str().ok()),
                };
                let host = host.unwrap_or("localhost");
                match Url::parse(&format!("{scheme}://{host}/")) {
                    Ok(page) => Body::Html(Box::new(HtmlObserver::new(page))),
                    Err(_) => Body::Plain,
                }
            }
            ContentHint::Text => Body::Plain,
        };
        Observer { exchange: self.clone(), body, found: KindFields::default() }
    }
}

impl Exchange {
    /// A collector of what this request carries (its query string and
    /// body), recorded in the endpoint's `collects` when finished.
    pub fn collector(&self) -> Collector {
        Collector { exchange: self.clone(), found: KindFields::default(), files: Vec::new() }
    }
}

/// What one request carried: findings per kind, the fields that carried
/// them (rendered through the engine, bounded) and the declared types of
/// the files it uploaded. Never a value.
pub struct Collector {
    exchange: Exchange,
    found: KindFields,
    files: Vec<String>,
}

/// Findings per kind and the field paths they sat in (bounded), with the
/// last path rendered: findings of a kind mostly sit in one field, so each
/// distinct path is rendered (the engine run over its keys) once.
#[derive(Default)]
struct KindFields {
    /// A kind, its findings and fields. A short list searched from the
    /// start: a response holds a few kinds and may hold hundreds of
    /// findings, each counted here (a map's entry cost several times more).
    kinds: Vec<(Kind, u64, Vec<String>)>,
    /// Where each built-in kind is in `kinds` (plus one; zero: absent), so
    /// that a finding of one is counted without a search.
    builtin: [usize; Kind::BUILTIN.len()],
    last: Option<(Vec<u8>, String)>,
}

/// A built-in kind's place in [`Kind::BUILTIN`] (exhaustive: a new kind
/// must be given one).
fn builtin_index(kind: Kind) -> Option<usize> {
    Some(match kind {
        Kind::Card => 0,
        Kind::Ssn => 1,
        Kind::Iban => 2,
        Kind::Email => 3,
        Kind::Phone => 4,
        Kind::AwsAccessKey => 5,
        Kind::GithubToken => 6,
        Kind::StripeKey => 7,
        Kind::SlackToken => 8,
        Kind::GoogleApiKey => 9,
        Kind::PrivateKey => 10,
        Kind::Jwt => 11,
        Kind::Custom(_) => return None,
    })
}

impl KindFields {
    /// The counts and fields of `kind`.
    fn of(&mut self, kind: Kind) -> &mut (Kind, u64, Vec<String>) {
        let b = builtin_index(kind);
        let known = match b {
            Some(b) => self.builtin[b].checked_sub(1),
            None => self.kinds.iter().position(|e| e.0 == kind),
        };
        let i = match known {
            Some(i) => i,
            None => {
                self.kinds.push((kind, 0, Vec::new()));
                if let Some(b) = b {
                    self.builtin[b] = self.kinds.len();
                }
                self.kinds.len() - 1
            }
        };
        &mut self.kinds[i]
    }

    /// Counts a finding of `kind`; true while its list of fields has room
    /// (when full, rendering another path would change nothing).
    fn count(&mut self, kind: Kind, max_fields: usize) -> bool {
        let entry = self.of(kind);
        entry.1 += 1;
        entry.2.len() < max_fields
    }

    /// The kinds in their order, with their findings and fields.
    fn into_sorted(self) -> Vec<(Kind, u64, Vec<String>)> {
        let mut kinds = self.kinds;
        kinds.sort_unstable_by_key(|e| e.0);
        kinds
    }

    /// Adds the field a finding of `kind` sat in (`enc`, its encoded path).
    fn field(&mut self, kind: Kind, enc: &[u8], engine: &Arc<Engine>, max_len: usize) {
        let p = match &self.last {
            Some((e, p)) if e[..] == *enc => p.clone(),
            _ => {
                let p = fields::render(engine, enc, max_len);
                self.last = Some((enc.to_vec(), p.clone()));
                p
            }
        };
        let fields = &mut self.of(kind).2;
        if !fields.contains(&p) {
            fields.push(p);
        }
    }
}

impl Collector {
    /// One finding; `field` is the encoded path of the field it sat in
    /// ([`collect::Projection::field`]).
    pub fn finding(&mut self, f: &Finding, field: Option<&[u8]>, policy: &Policy) {
        let inv = &self.exchange.0.inventory;
        let (max_fields, max_len) = (inv.limits.max_fields, inv.max_field_len);
        if let (true, Some(enc)) = (self.found.count(f.kind, max_fields), field) {
            self.found.field(f.kind, enc, &policy.engine, max_len);
        }
    }

    /// Declared types of the files the body uploaded.
    pub fn files(&mut self, files: &[String]) {
        self.files.extend_from_slice(files);
    }

    /// Records the request. `blocked` is true when the policy refused it.
    pub fn finish(self, policy: &Policy, blocked: bool) {
        let ex = &*self.exchange.0;
        let kinds = kind_records(self.found.into_sorted(), policy, blocked, |k| {
            policy.request_action(k).as_str()
        });
        let (inv, files) = (&ex.inventory, self.files);
        inv.record_with(ex, policy, |store, template, now, _| {
            let rec = RequestRecord {
                route: &ex.route,
                method: ex.method.as_str(),
                template,
                now,
                kinds,
                files,
            };
            store.record_request(&rec, &inv.limits);
        });
    }
}

/// One exchange's findings per kind as records, each with the action it
/// got: `monitor` in monitor mode, `block` when the exchange was blocked,
/// else the policy's action for the kind on this side (`action_of`).
fn kind_records(
    kinds: Vec<(Kind, u64, Vec<String>)>,
    policy: &Policy,
    blocked: bool,
    action_of: impl Fn(Kind) -> &'static str,
) -> Vec<KindRecord<'_>> {
    kinds
        .into_iter()
        .map(|(k, findings, fields)| {
            let action = if policy.monitor() {
                "monitor"
            } else if blocked {
                "block"
            } else {
                action_of(k)
            };
            KindRecord { kind: policy.engine.kind_name(k), findings, action, fields }
        })
        .collect()
}

enum Body {
    Plain,
    Fields(Fields),
    Html(Box<HtmlObserver>),
}

/// Watches one response body: fed the same decoded bytes the engine scans
/// (before the engine sees them) and every finding, it records the
/// response when finished.
pub struct Observer {
    exchange: Exchange,
    body: Body,
    /// Findings and field paths per kind.
    found: KindFields,
}

impl Observer {
    /// Whether this observer reads the body's structure (the response was
    /// sampled), rather than only counting findings.
    pub fn observes(&self) -> bool {
        !matches!(self.body, Body::Plain)
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        match &mut self.body {
            Body::Plain => {}
            Body::Fields(f) => f.feed(chunk),
            Body::Html(h) => h.feed(chunk),
        }
    }

    pub fn finding(&mut self, f: &Finding, policy: &Policy) {
        let inv = &self.exchange.0.inventory;
        let (max_fields, max_len) = (inv.limits.max_fields, inv.max_field_len);
        let room = self.found.count(f.kind, max_fields);
        if let (true, Body::Fields(t)) = (room, &self.body) {
            if let Some(enc) = t.encoded(f.start, f.end) {
                self.found.field(f.kind, enc, &policy.engine, max_len);
            }
        }
    }

    /// Records the response. `blocked` is true when the policy blocked it.
    pub fn finish(self, policy: &Policy, blocked: bool) {
        let ex = &*self.exchange.0;
        let engine = &policy.engine;
        let page = match self.body {
            Body::Html(h) => h.finish(engine),
            _ => PageFacts::default(),
        };
        let kinds =
            kind_records(self.found.into_sorted(), policy, blocked, |k| policy.action(k).as_str());
        let mut rec = ResponseRecord {
            route: &ex.route,
            method: ex.method.as_str(),
            gpc: ex.gpc,
            kinds,
            ..ResponseRecord::default()
        };
        for (origin, load) in page.third_parties {
            match load {
                html::Load::Script => rec.scripts.push(origin),
                html::Load::Iframe => rec.iframes.push(origin),
                html::Load::FormAction => rec.form_actions.push(origin),
            }
        }
        let metrics = ex.inventory.metrics.as_ref();
        for f in page.forms {
            let personal = f.inputs.iter().any(|i| i.data.is_some());
            let mut flags = std::collections::BTreeSet::new();
            if personal && f.third_party {
                flags.insert("pii_to_third_party".to_string());
                if let Some(m) = metrics {
                    m.inventory_third_party_pii_forms_total.with_label_values(&[&ex.route]).inc();
                }
            }
            let card = f.inputs.iter().any(|i| i.data.as_deref().is_some_and(html::is_card_field));
            if card && !ex.https {
                flags.insert("card_over_http".to_string());
            }
            rec.forms.push(FormRecord {
                action_origin: f.action_origin,
                form_method: f.method,
                third_party: f.third_party,
                inputs: f.inputs,
                flags,
            });
        }
        if let Some(m) = metrics {
            if ex.gpc {
                m.inventory_gpc_requests_total.with_label_values(&[&ex.route]).inc();
            }
        }
        let inv = &ex.inventory;
        inv.record_with(ex, policy, |store, template, now, hour| {
            store.record(&ResponseRecord { template, now, hour, ..rec }, &inv.limits);
        });
    }
}

/// The hasher of maps whose keys already are keyed hashes (the sampler's
/// and the segment cache's): hashing them again with SipHash would only
/// cost time. A key's shard is picked by its low bits, so the map takes
/// other bits.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by the maps' keys (u64, u128); any input still hashes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.rotate_left(32);
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = (n >> 64) as u64;
    }
}

/// A map keyed by keyed hashes (see [`Prehashed`]).
pub(crate) type PrehashedMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<Prehashed>>;

#[cfg(test)]
pub(crate) mod tests_support {
    use std::sync::Arc;

    use crate::detect::{Engine, EngineConfig};

    /// The engine with every built-in detector at its default action.
    pub fn engine() -> Arc<Engine> {
        Arc::new(Engine::new(EngineConfig::default()).expect("the default engine"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::config::file::ConfigDuration;
    use crate::detect::Scanner;

    /// Streams `body` through the engine and an observer of a `GET` of
    /// `path` starting at `at`, as the pipeline does; returns whether the
    /// observer read its structure.
    fn respond(inv: &Arc<Inventory>, policy: &Policy, path: &str, body: &str, at: Instant) -> bool {
        let (parts, ()) =
            http::Request::get(format!("http://shop.example{path}")).body(()).unwrap().into_parts();
        let route: Arc<str> = Arc::from("api");
        let ex = inv.exchange(&route, &parts, true);
        let mut obs = ex.observer_at(ContentHint::Json, policy.engine.max_hold(), at);
        let observed = obs.observes();
        let mut scanner = Scanner::new(policy.engine.clone(), ContentHint::Json);
        let (mut out, mut findings) = (Vec::new(), Vec::new());
        for chunk in body.as_bytes().chunks(7) {
            obs.feed(chunk);
            scanner.feed(chunk, &mut out, &mut findings);
        }
        scanner.finish(&mut out, &mut findings);
        for f in &findings {
            obs.finding(f, policy);
        }
        obs.finish(policy, false);
        observed
    }

    #[test]
    fn kinds_are_counted_in_their_own_places() {
        for (i, &k) in Kind::BUILTIN.iter().enumerate() {
            assert_eq!(builtin_index(k), Some(i), "{k:?}");
        }
        assert_eq!(builtin_index(Kind::Custom(0)), None);
        let mut found = KindFields::default();
        for k in [Kind::Jwt, Kind::Custom(2), Kind::Card, Kind::Jwt, Kind::Custom(2), Kind::Jwt] {
            assert!(found.count(k, 1));
        }
        found.of(Kind::Custom(0)).2.push("x".into());
        assert!(!found.count(Kind::Custom(0), 1), "its one field is the limit");
        let counts: Vec<(Kind, u64)> = found.into_sorted().iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(
            counts,
            [(Kind::Card, 1), (Kind::Jwt, 3), (Kind::Custom(0), 1), (Kind::Custom(2), 2)]
        );
        // A built-in kind after hundreds of custom ones keeps its own place.
        let mut many = KindFields::default();
        for i in 0..300 {
            many.count(Kind::Custom(i), 1);
        }
        many.count(Kind::Card, 1);
        many.count(Kind::Card, 1);
        assert_eq!((many.of(Kind::Card).1, many.of(Kind::Custom(299)).1), (2, 1));
        assert_eq!(many.kinds.len(), 301);
    }

    #[test]
    fn structure_is_sampled_per_endpoint_and_counts_stay_exact() {
        let policy = Policy::default_policy();
        let cfg = InventorySection {
            observe_interval: ConfigDuration(Duration::from_secs(60)),
            ..InventorySection::default()
        };
        let inv = Arc::new(Inventory::new(&cfg, None, None));
        let body = r#"{"customers": [{"ssn": "SSN 536-22-1945"}, {"ssn": "SSN 536-22-1945"}]}"#;
        let t0 = Instant::now();
        let secs = |s| t0 + Duration::from_secs(s);
        // First response of the endpoint: read; the next within the
        // interval (another id, same endpoint): only counted; one after
        // the interval: read again.
        let seen: Vec<bool> = [("/c/1", 0), ("/c/2", 30), ("/c/3", 60), ("/c/4", 61)]
            .iter()
            .map(|&(path, at)| respond(&inv, &policy, path, body, secs(at)))
            .collect();
        assert_eq!(seen, [true, false, true, false]);

        let json = serde_json::to_value(inv.snapshot()).unwrap();
        let ep = &json["endpoints"][0];
        assert_eq!(ep["template"], "/c/{id}");
        assert_eq!(ep["responses"], 4);
        let ssn = &ep["exposes"]["ssn"];
        assert_eq!(ssn["responses"], 4, "{json}");
        assert_eq!(ssn["findings"], 8, "{json}");
        assert_eq!(ssn["fields"]["items"], serde_json::json!(["customers[].ssn"]));

        // `0s`: every response is read.
        let every = InventorySection {
            observe_interval: ConfigDuration(Duration::ZERO),
            ..InventorySection::default()
        };
        let inv = Arc::new(Inventory::new(&every, None, None));
        assert!((0..3).all(|_| respond(&inv, &policy, "/c/1", body, t0)));
    }
}

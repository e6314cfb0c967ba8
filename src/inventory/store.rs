//! The inventory's data: per endpoint and kind what it exposes (responses)
//! and collects (requests), the forms pages ask visitors to fill, the
//! third-party origins pages load, and findings over time. Also its JSON
//! form ([`Snapshot`], schema in `docs/inventory-schema.md`) and the merge
//! of snapshots from several replicas.
//!
//! The merge is associative and commutative, and every count adds up;
//! bounded sets (field paths, pages) keep their smallest members and say
//! when they were cut, which keeps the merge associative too. Nothing here
//! holds a scanned value: keys are templates, field paths and origins that
//! were checked by the engine before they got here.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::html::InputFacts;

/// Version of the JSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Pages listed per third-party origin.
pub const MAX_PAGES: usize = 32;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A bounded sorted set: its `limit` smallest members, and whether more
/// were seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounded {
    pub items: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl Bounded {
    /// Adds `item` (copied only when new).
    pub fn insert(&mut self, item: &str, limit: usize) {
        if self.items.contains(item) {
            return;
        }
        self.items.insert(item.to_owned());
        self.cap(limit);
    }

    fn cap(&mut self, limit: usize) {
        while self.items.len() > limit {
            self.items.pop_last();
            self.truncated = true;
        }
    }

    fn merge(&mut self, other: &Bounded, limit: usize) {
        self.truncated |= other.truncated;
        self.items.extend(other.items.iter().cloned());
        self.cap(limit);
    }
}

/// First and last time something was seen (RFC 3339 UTC, one format, so
/// that text order is time order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub first_seen: String,
    pub last_seen: String,
}

impl Seen {
    fn at(now: &str) -> Seen {
        Seen { first_seen: now.into(), last_seen: now.into() }
    }

    /// `self.merge(&Seen::at(now))` without building that `Seen`: called
    /// per exchange, and mostly changing nothing or overwriting
    /// `last_seen` in place.
    fn touch(&mut self, now: &str) {
        if self.first_seen.is_empty() || (!now.is_empty() && now < self.first_seen.as_str()) {
            self.first_seen.clear();
            self.first_seen.push_str(now);
        }
        if now > self.last_seen.as_str() {
            self.last_seen.clear();
            self.last_seen.push_str(now);
        }
    }

    fn merge(&mut self, o: &Seen) {
        if self.first_seen.is_empty()
            || (!o.first_seen.is_empty() && o.first_seen < self.first_seen)
        {
            self.first_seen.clone_from(&o.first_seen);
        }
        if o.last_seen > self.last_seen {
            self.last_seen.clone_from(&o.last_seen);
        }
    }
}

/// One kind in one endpoint's `exposes` or `collects`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindStats {
    /// Responses that held the kind (`exposes`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub responses: u64,
    /// Requests that carried the kind (`collects`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub requests: u64,
    pub findings: u64,
    #[serde(flatten)]
    pub seen: Seen,
    /// Responses (or requests) per action taken: `mask`, `redact`, `hash`,
    /// `block`, `detect` or `monitor`.
    pub actions: BTreeMap<String, u64>,
    /// Field paths the kind was found in (JSON and form bodies).
    pub fields: Bounded,
}

impl KindStats {
    /// Adds one exchange's findings of kind `k` at `now` to `map` (its
    /// `exposes` or `collects`); the caller counts the response or request.
    fn count<'a>(
        map: &'a mut BTreeMap<String, KindStats>,
        k: &KindRecord,
        now: &str,
        max_fields: usize,
    ) -> &'a mut KindStats {
        let s = slot(map, k.kind, || KindStats { seen: Seen::at(now), ..KindStats::default() });
        s.findings += k.findings;
        s.seen.touch(now);
        *slot(&mut s.actions, k.action, || 0) += 1;
        for f in &k.fields {
            s.fields.insert(f, max_fields);
        }
        s
    }

    fn merge(&mut self, o: &KindStats, max_fields: usize) {
        self.responses += o.responses;
        self.requests += o.requests;
        self.findings += o.findings;
        self.seen.merge(&o.seen);
        for (a, n) in &o.actions {
            *self.actions.entry(a.clone()).or_default() += n;
        }
        self.fields.merge(&o.fields, max_fields);
    }
}

/// One endpoint: route, method and path template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub route: String,
    pub method: String,
    pub template: String,
    /// Responses observed.
    pub responses: u64,
    /// Requests that carried `Sec-GPC: 1`.
    #[serde(default)]
    pub gpc_requests: u64,
    /// Pages served to a `Sec-GPC: 1` visitor that load third-party scripts.
    #[serde(default)]
    pub gpc_third_party_pages: u64,
    #[serde(flatten)]
    pub seen: Seen,
    pub exposes: BTreeMap<String, KindStats>,
    pub collects: BTreeMap<String, KindStats>,
    /// Requests whose query string or body was scanned.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub requests: u64,
    /// Files uploaded (multipart file parts, not scanned) per declared
    /// type.
    #[serde(default, skip_serializing_if = "Counted::is_empty")]
    pub uploads: Counted,
}

/// A bounded map of counts: the `limit` smallest keys (counts of a kept key
/// add up across merges), and whether more keys were seen. Keeping the
/// smallest keys, as [`Bounded`] does, keeps the merge associative.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    pub items: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl Counted {
    fn is_empty(&self) -> bool {
        self.items.is_empty() && !self.truncated
    }

    pub fn add(&mut self, key: &str, n: u64, limit: usize) {
        match self.items.get_mut(key) {
            Some(c) => *c += n,
            None => {
                self.items.insert(key.to_string(), n);
                self.cap(limit);
            }
        }
    }

    fn cap(&mut self, limit: usize) {
        while self.items.len() > limit {
            self.items.pop_last();
            self.truncated = true;
        }
    }

    fn merge(&mut self, other: &Counted, limit: usize) {
        self.truncated |= other.truncated;
        for (k, n) in &other.items {
            *self.items.entry(k.clone()).or_default() += n;
        }
        self.cap(limit);
    }
}

/// One form, as served on one endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub route: String,
    pub method: String,
    pub template: String,
    pub action_origin: String,
    pub form_method: String,
    pub third_party: bool,
    pub inputs: Vec<InputFacts>,
    /// Personal-data kinds the inputs ask for.
    pub kinds: BTreeSet<String>,
    /// `pii_to_third_party`, `card_over_http`.
    pub flags: BTreeSet<String>,
    /// Pages served with this form.
    pub pages: u64,
    #[serde(flatten)]
    pub seen: Seen,
}

/// A third-party origin pages load.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThirdParty {
    pub origin: String,
    /// Pages loading a script from it.
    pub scripts: u64,
    pub iframes: u64,
    pub form_actions: u64,
    /// Of the pages loading its scripts, those served to `Sec-GPC: 1`
    /// visitors.
    pub gpc_pages: u64,
    /// Endpoints (`METHOD route template`) whose pages load it.
    pub pages: Bounded,
    #[serde(flatten)]
    pub seen: Seen,
}

/// The inventory as JSON: `GET /inventory`, the snapshot file, `leakwarden
/// report`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    /// When recording started (the earliest of merged snapshots).
    pub since: String,
    pub endpoints: Vec<Endpoint>,
    pub forms: Vec<Form>,
    pub third_parties: Vec<ThirdParty>,
    /// Per route: paths counted under `{other}` past the template limit.
    #[serde(default)]
    pub template_overflow: BTreeMap<String, u64>,
    /// Findings per hour (RFC 3339 start of the hour) and kind.
    #[serde(default)]
    pub timeline: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Bounds applied while recording and merging.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_fields: usize,
    pub max_forms: usize,
    pub max_third_parties: usize,
    pub timeline_hours: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_fields: 32, max_forms: 1000, max_third_parties: 1000, timeline_hours: 168 }
    }
}

/// Endpoints by route, method and template: nested, rather than keyed by
/// the triple, so that an exchange finds its endpoint by `&str` without
/// copying the three into a key (the order is the triple's all the same).
type Endpoints = BTreeMap<String, BTreeMap<String, BTreeMap<String, Endpoint>>>;
type FormKey = (String, String, String, String, String, Vec<InputFacts>);

/// The live inventory, keyed for recording.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Store {
    pub since: String,
    endpoints: Endpoints,
    forms: BTreeMap<FormKey, Form>,
    third_parties: BTreeMap<String, ThirdParty>,
    overflow: BTreeMap<String, u64>,
    timeline: BTreeMap<String, BTreeMap<String, u64>>,
    /// Index: the templates of each route (derived from `endpoints`), so
    /// that the per-response limit check does not walk every endpoint.
    templates: BTreeMap<String, BTreeSet<String>>,
}

/// One kind's findings in one response. Records borrow what they can (names
/// from the engine and the policy, the time from the inventory's clock):
/// the store copies a string only when it is new to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindRecord<'a> {
    pub kind: &'a str,
    pub findings: u64,
    pub action: &'a str,
    pub fields: Vec<String>,
}

/// A page's form as recorded (already classified and checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormRecord {
    pub action_origin: String,
    pub form_method: String,
    pub third_party: bool,
    pub inputs: Vec<InputFacts>,
    pub flags: BTreeSet<String>,
}

/// Everything one response adds to the inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseRecord<'a> {
    pub route: &'a str,
    pub method: &'a str,
    pub template: &'a str,
    /// RFC 3339 time of the response.
    pub now: &'a str,
    /// RFC 3339 start of its hour.
    pub hour: &'a str,
    pub gpc: bool,
    pub kinds: Vec<KindRecord<'a>>,
    pub forms: Vec<FormRecord>,
    /// Third-party origins and how the page loads them.
    pub scripts: Vec<String>,
    pub iframes: Vec<String>,
    pub form_actions: Vec<String>,
}

/// Everything one request adds to the inventory (`collects`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestRecord<'a> {
    pub route: &'a str,
    pub method: &'a str,
    pub template: &'a str,
    /// RFC 3339 time of the request.
    pub now: &'a str,
    /// Kinds found; `action` is `detect`, `block` or `monitor`.
    pub kinds: Vec<KindRecord<'a>>,
    /// Declared types of the files it uploaded.
    pub files: Vec<String>,
}

impl Store {
    pub fn new(since: String) -> Store {
        Store { since, ..Store::default() }
    }

    /// Templates recorded for a route so far.
    pub fn templates_of(&self, route: &str) -> usize {
        self.templates.get(route).map_or(0, BTreeSet::len)
    }

    pub fn has_template(&self, route: &str, template: &str) -> bool {
        self.templates.get(route).is_some_and(|t| t.contains(template))
    }

    fn index(&mut self, route: &str, template: &str) {
        let templates = slot(&mut self.templates, route, BTreeSet::new);
        if !templates.contains(template) {
            templates.insert(template.to_owned());
        }
    }

    pub fn count_overflow(&mut self, route: &str) {
        *slot(&mut self.overflow, route, || 0) += 1;
    }

    /// Every endpoint, ordered by route, method and template.
    fn all_endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.values().flat_map(BTreeMap::values).flat_map(BTreeMap::values)
    }

    /// The endpoints of `route` and `method`, by template.
    fn templates_mut(&mut self, route: &str, method: &str) -> &mut BTreeMap<String, Endpoint> {
        let by_method = slot(&mut self.endpoints, route, BTreeMap::new);
        slot(by_method, method, BTreeMap::new)
    }

    /// The endpoint an exchange at `now` belongs to, created if new (its
    /// template indexed), and touched.
    fn endpoint(&mut self, route: &str, method: &str, template: &str, now: &str) -> &mut Endpoint {
        // A known endpoint's template is indexed already.
        let by_template = self.endpoints.get(route).and_then(|m| m.get(method));
        if !by_template.is_some_and(|m| m.contains_key(template)) {
            self.index(route, template);
            self.templates_mut(route, method).insert(
                template.to_owned(),
                Endpoint {
                    route: route.to_string(),
                    method: method.to_string(),
                    template: template.to_string(),
                    seen: Seen::at(now),
                    ..Endpoint::default()
                },
            );
        }
        let ep = self.endpoints.get_mut(route).and_then(|m| m.get_mut(method));
        let ep = ep.and_then(|m| m.get_mut(template)).expect("known or just inserted");
        ep.seen.touch(now);
        ep
    }

    pub fn record(&mut self, r: &ResponseRecord, lim: &Limits) {
        let ep = self.endpoint(r.route, r.method, r.template, r.now);
        ep.responses += 1;
        if r.gpc {
            ep.gpc_requests += 1;
            if !r.scripts.is_empty() {
                ep.gpc_third_party_pages += 1;
            }
        }
        for k in &r.kinds {
            KindStats::count(&mut ep.exposes, k, r.now, lim.max_fields).responses += 1;
        }
        if r.kinds.iter().any(|k| k.findings > 0) {
            let hour = slot(&mut self.timeline, r.hour, BTreeMap::new);
            for k in r.kinds.iter().filter(|k| k.findings > 0) {
                *slot(hour, k.kind, || 0) += k.findings;
            }
        }
        cap_timeline(&mut self.timeline, lim.timeline_hours);
        // Forms are only read from sampled pages: their keys are copied.
        for f in &r.forms {
            let key = (
                r.route.to_string(),
                r.method.to_string(),
                r.template.to_string(),
                f.action_origin.clone(),
                f.form_method.clone(),
                f.inputs.clone(),
            );
            if !self.forms.contains_key(&key) && self.forms.len() >= lim.max_forms {
                continue;
            }
            let form = self.forms.entry(key).or_insert_with(|| Form {
                route: r.route.to_string(),
                method: r.method.to_string(),
                template: r.template.to_string(),
                action_origin: f.action_origin.clone(),
                form_method: f.form_method.clone(),
                third_party: f.third_party,
                inputs: f.inputs.clone(),
                kinds: f.inputs.iter().filter_map(|i| i.data.clone()).collect(),
                seen: Seen::at(r.now),
                ..Form::default()
            });
            form.pages += 1;
            form.seen.touch(r.now);
            form.flags.extend(f.flags.iter().cloned());
        }
        let mut page = String::new();
        let loads = [(&r.scripts, 0), (&r.iframes, 1), (&r.form_actions, 2)];
        for (origins, which) in loads {
            for o in origins {
                if !self.third_parties.contains_key(o)
                    && self.third_parties.len() >= lim.max_third_parties
                {
                    continue;
                }
                let tp = slot(&mut self.third_parties, o, || ThirdParty {
                    origin: o.clone(),
                    seen: Seen::at(r.now),
                    ..ThirdParty::default()
                });
                match which {
                    0 => {
                        tp.scripts += 1;
                        if r.gpc {
                            tp.gpc_pages += 1;
                        }
                    }
                    1 => tp.iframes += 1,
                    _ => tp.form_actions += 1,
                }
                tp.seen.touch(r.now);
                if page.is_empty() {
                    page = format!("{} {} {}", r.method, r.route, r.template);
                }
                tp.pages.insert(&page, MAX_PAGES);
            }
        }
    }

    /// Adds one scanned request to its endpoint's `collects`.
    pub fn record_request(&mut self, r: &RequestRecord, lim: &Limits) {
        let ep = self.endpoint(r.route, r.method, r.template, r.now);
        ep.requests += 1;
        for k in &r.kinds {
            KindStats::count(&mut ep.collects, k, r.now, lim.max_fields).requests += 1;
        }
        for f in &r.files {
            ep.uploads.add(f, 1, lim.max_fields);
        }
    }

    /// Adds `other` into `self`. Counts add up; the earliest `since` wins.
    /// No recording limit on endpoints, forms or third parties applies
    /// here: a merge never drops what a replica counted.
    pub fn merge(&mut self, other: &Store, lim: &Limits) {
        if self.since.is_empty() || (!other.since.is_empty() && other.since < self.since) {
            self.since.clone_from(&other.since);
        }
        for o in other.all_endpoints() {
            self.index(&o.route, &o.template);
            let by_template = self.templates_mut(&o.route, &o.method);
            match by_template.get_mut(&o.template) {
                None => {
                    by_template.insert(o.template.clone(), o.clone());
                }
                Some(e) => {
                    e.responses += o.responses;
                    e.gpc_requests += o.gpc_requests;
                    e.gpc_third_party_pages += o.gpc_third_party_pages;
                    e.seen.merge(&o.seen);
                    merge_kinds(&mut e.exposes, &o.exposes, lim.max_fields);
                    merge_kinds(&mut e.collects, &o.collects, lim.max_fields);
                    e.requests += o.requests;
                    e.uploads.merge(&o.uploads, lim.max_fields);
                }
            }
        }
        for (k, o) in &other.forms {
            match self.forms.get_mut(k) {
                None => {
                    self.forms.insert(k.clone(), o.clone());
                }
                Some(f) => {
                    f.pages += o.pages;
                    f.seen.merge(&o.seen);
                    f.flags.extend(o.flags.iter().cloned());
                    f.kinds.extend(o.kinds.iter().cloned());
                    f.third_party |= o.third_party;
                }
            }
        }
        for (k, o) in &other.third_parties {
            match self.third_parties.get_mut(k) {
                None => {
                    self.third_parties.insert(k.clone(), o.clone());
                }
                Some(t) => {
                    t.scripts += o.scripts;
                    t.iframes += o.iframes;
                    t.form_actions += o.form_actions;
                    t.gpc_pages += o.gpc_pages;
                    t.pages.merge(&o.pages, MAX_PAGES);
                    t.seen.merge(&o.seen);
                }
            }
        }
        for (r, n) in &other.overflow {
            *self.overflow.entry(r.clone()).or_default() += n;
        }
        for (h, kinds) in &other.timeline {
            let mine = self.timeline.entry(h.clone()).or_default();
            for (k, n) in kinds {
                *mine.entry(k.clone()).or_default() += n;
            }
        }
        cap_timeline(&mut self.timeline, lim.timeline_hours);
    }

    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            version: SCHEMA_VERSION,
            since: self.since.clone(),
            endpoints: self.all_endpoints().cloned().collect(),
            forms: self.forms.values().cloned().collect(),
            third_parties: self.third_parties.values().cloned().collect(),
            template_overflow: self.overflow.clone(),
            timeline: self.timeline.clone(),
        }
    }

    /// The store a snapshot describes; `Err` for a schema version this
    /// build does not read.
    pub fn from_snapshot(s: Snapshot) -> Result<Store, String> {
        if s.version != SCHEMA_VERSION {
            return Err(format!(
                "inventory schema version {} (this build reads {SCHEMA_VERSION})",
                s.version
            ));
        }
        let mut st = Store::new(s.since);
        for e in s.endpoints {
            st.index(&e.route, &e.template);
            let by_template = st.templates_mut(&e.route, &e.method);
            by_template.insert(e.template.clone(), e);
        }
        for f in s.forms {
            let key = (
                f.route.clone(),
                f.method.clone(),
                f.template.clone(),
                f.action_origin.clone(),
                f.form_method.clone(),
                f.inputs.clone(),
            );
            st.forms.insert(key, f);
        }
        for t in s.third_parties {
            st.third_parties.insert(t.origin.clone(), t);
        }
        st.overflow = s.template_overflow;
        st.timeline = s.timeline;
        Ok(st)
    }
}

/// `map[key]`, made by `new` if missing: the key is copied only then (the
/// entry API would copy it on every call).
fn slot<'m, V>(map: &'m mut BTreeMap<String, V>, key: &str, new: impl FnOnce() -> V) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), new());
    }
    map.get_mut(key).expect("present or just inserted")
}

fn merge_kinds(
    mine: &mut BTreeMap<String, KindStats>,
    other: &BTreeMap<String, KindStats>,
    max_fields: usize,
) {
    for (k, o) in other {
        mine.entry(k.clone()).or_default().merge(o, max_fields);
    }
}

/// Keeps the latest `hours` buckets.
fn cap_timeline(t: &mut BTreeMap<String, BTreeMap<String, u64>>, hours: usize) {
    while t.len() > hours {
        t.pop_first();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Half past each hour of a day and the hour's start.
    const TIMES: [(&str, &str); 8] = [
        ("2026-12-01T00:30:00.000Z", "2026-12-01T00:00:00.000Z"),
        ("2026-12-01T01:30:00.000Z", "2026-12-01T01:00:00.000Z"),
        ("2026-12-01T02:30:00.000Z", "2026-12-01T02:00:00.000Z"),
        ("2026-12-01T03:30:00.000Z", "2026-12-01T03:00:00.000Z"),
        ("2026-12-01T04:30:00.000Z", "2026-12-01T04:00:00.000Z"),
        ("2026-12-01T05:30:00.000Z", "2026-12-01T05:00:00.000Z"),
        ("2026-12-01T06:30:00.000Z", "2026-12-01T06:00:00.000Z"),
        ("2026-12-01T07:30:00.000Z", "2026-12-01T07:00:00.000Z"),
    ];

    fn record<'a>(
        route: &'a str,
        t: &'a str,
        hour: u8,
        kinds: &[(&'a str, u64, &'a str, &[&str])],
    ) -> ResponseRecord<'a> {
        let (now, hour_start) = TIMES[usize::from(hour)];
        ResponseRecord {
            route,
            method: "GET",
            template: t,
            now,
            hour: hour_start,
            gpc: hour.is_multiple_of(2),
            kinds: kinds
                .iter()
                .map(|&(kind, n, action, f)| KindRecord {
                    kind,
                    findings: n,
                    action,
                    fields: f.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            forms: Vec::new(),
            scripts: if hour.is_multiple_of(3) { vec!["https://t.example".into()] } else { vec![] },
            iframes: Vec::new(),
            form_actions: Vec::new(),
        }
    }

    fn small_limits() -> Limits {
        Limits { max_fields: 3, max_forms: 10, max_third_parties: 10, timeline_hours: 4 }
    }

    prop_compose! {
        fn arb_store()(recs in proptest::collection::vec(
            (0usize..2, 0usize..3, 0u8..8, 0usize..3, 1u64..5, 0usize..6, 0usize..3), 0..12)) -> Store {
            let lim = small_limits();
            let mut s = Store::new(String::new());
            for (r, t, h, k, n, f, side) in recs {
                let route = ["api", "web"][r];
                let tpl = ["/a", "/b/{id}", "/c"][t];
                let kind = ["card", "email", "ssn"][k];
                let action = ["mask", "monitor"][f % 2];
                let field = ["a", "b", "c", "d", "e", "f"][f];
                let rec = record(route, tpl, h, &[(kind, n, action, &[field])]);
                if s.since.is_empty() || rec.now < s.since.as_str() { s.since = rec.now.to_string(); }
                if side == 0 {
                    // A request: what the endpoint collects.
                    let files = ["image/png", "text/csv", "application/pdf", "image/jpeg"];
                    let req = RequestRecord {
                        route: rec.route,
                        method: "POST",
                        template: rec.template,
                        now: rec.now,
                        kinds: rec.kinds.iter().map(|k| KindRecord {
                            action: ["detect", "block"][f % 2], ..k.clone()
                        }).collect(),
                        files: files[..f % 5].iter().map(|s| s.to_string()).collect(),
                    };
                    s.record_request(&req, &lim);
                    continue;
                }
                s.record(&rec, &lim);
                if h == 7 { s.count_overflow(route); }
            }
            s
        }
    }

    fn total_findings(s: &Store) -> u64 {
        s.all_endpoints()
            .flat_map(|e| e.exposes.values().chain(e.collects.values()))
            .map(|k| k.findings)
            .sum()
    }

    proptest! {
        #[test]
        fn merge_is_associative_and_counts_add_up(a in arb_store(), b in arb_store(), c in arb_store()) {
            let lim = small_limits();
            let mut ab = a.clone();
            ab.merge(&b, &lim);
            let mut ab_c = ab.clone();
            ab_c.merge(&c, &lim);
            let mut bc = b.clone();
            bc.merge(&c, &lim);
            let mut a_bc = a.clone();
            a_bc.merge(&bc, &lim);
            prop_assert_eq!(&ab_c, &a_bc);
            let mut ba = b.clone();
            ba.merge(&a, &lim);
            prop_assert_eq!(&ab, &ba);
            prop_assert_eq!(total_findings(&ab_c), total_findings(&a) + total_findings(&b) + total_findings(&c));
            let responses = |s: &Store| s.all_endpoints().map(|e| e.responses).sum::<u64>();
            prop_assert_eq!(responses(&ab_c), responses(&a) + responses(&b) + responses(&c));
            let requests = |s: &Store| s.all_endpoints().map(|e| e.requests).sum::<u64>();
            prop_assert_eq!(requests(&ab_c), requests(&a) + requests(&b) + requests(&c));
            let collected = |s: &Store| s.all_endpoints().flat_map(|e| e.collects.values()).map(|k| k.requests).sum::<u64>();
            prop_assert_eq!(collected(&ab_c), collected(&a) + collected(&b) + collected(&c));
            // The JSON form round-trips.
            let back = Store::from_snapshot(ab_c.to_snapshot()).unwrap();
            prop_assert_eq!(back, ab_c);
        }
    }

    #[test]
    fn recording_counts_per_endpoint_and_kind() {
        let lim = Limits::default();
        let mut s = Store::new("2026-12-01T00:00:00.000Z".into());
        s.record(&record("api", "/c/{id}", 3, &[("ssn", 2, "mask", &["customers[].ssn"])]), &lim);
        s.record(
            &record(
                "api",
                "/c/{id}",
                4,
                &[("ssn", 1, "mask", &["x.ssn"]), ("email", 1, "detect", &[])],
            ),
            &lim,
        );
        let snap = s.to_snapshot();
        let json = serde_json::to_value(&snap).unwrap();
        let ssn = &json["endpoints"][0]["exposes"]["ssn"];
        assert_eq!(ssn["responses"], 2);
        assert_eq!(ssn["findings"], 3);
        assert_eq!(ssn["first_seen"], "2026-12-01T03:30:00.000Z");
        assert_eq!(ssn["last_seen"], "2026-12-01T04:30:00.000Z");
        assert_eq!(ssn["actions"], serde_json::json!({"mask": 2}));
        assert_eq!(ssn["fields"]["items"], serde_json::json!(["customers[].ssn", "x.ssn"]));
        assert_eq!(json["endpoints"][0]["gpc_requests"], 1);
        assert_eq!(json["third_parties"][0]["origin"], "https://t.example");
        assert_eq!(
            json["timeline"]["2026-12-01T04:00:00.000Z"],
            serde_json::json!({"email": 1, "ssn": 1})
        );
    }

    #[test]
    fn bounded_sets_keep_the_smallest_and_say_so() {
        let mut b = Bounded::default();
        for x in ["d", "b", "a", "c"] {
            b.insert(x, 2);
        }
        assert_eq!(b.items.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert!(b.truncated);
    }

    #[test]
    fn other_versions_are_refused() {
        let snap = Snapshot { version: 99, ..Snapshot::default() };
        assert!(Store::from_snapshot(snap).unwrap_err().contains("99"));
    }
}

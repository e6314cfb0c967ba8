//! Bulk-exfiltration budgets: how many sensitive values of each kind one
//! client may receive in a window, across every response and, with a
//! shared store, across every replica.
//!
//! The model: at request start, [`Exfil::check`] names the client (a keyed
//! hash, [`key`]), reads its counts for the window ([`window`]) and decides:
//! over budget on a route under a policy with `action = "block"`, the proxy
//! answers with the block page before calling the upstream. Every scanned
//! response then [`Charge::charge`]s its findings per kind to that client
//! when it ends or is cut. Counters live in this process ([`local`]) or in
//! Redis ([`redis_store`]), which falls back to the local ones while
//! unreachable: they hold this replica's charges and, handed over by the
//! [`mirror`], the fleet's counts as last read.
//!
//! This module must never delay a response for a write, never wait on the
//! store longer than `read_timeout`, never fail a request because the store
//! failed, and never store, log or label a client identifier other than
//! its keyed hash. It knows nothing of bodies: the pipeline hands it counts.

pub mod key;
pub mod local;
pub mod mirror;
pub mod outbox;
mod pair;
pub mod redis_store;
pub mod window;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use http::HeaderMap;
use prometheus::IntCounter;
use serde::Serialize;
use smallvec::SmallVec;

use crate::config::exfiltration::{
    BudgetAction, BudgetRule, ExfilSettings, OnStoreError, StoreSettings,
};
use crate::metrics::{exfil_op, ExfilMetrics, Metrics};
use crate::policy::Policy;
use key::{BucketKey, ClientId, ScopeId, Scopes};
use local::LocalStore;
use redis_store::RedisStore;

/// How long a bucket is kept after its window: the previous bucket still
/// counts (weighted) for one more window, plus slack for clock skew.
const KEEP_SLACK: Duration = Duration::from_secs(60);

/// The budget service of a running guard: settings (swapped on reload),
/// the local counters (kept across reloads) and the shared store, if any.
pub struct Exfil {
    settings: ArcSwap<Live>,
    /// Scope names as numbers, shared by every configuration (counters
    /// are kept across reloads) and the shared store.
    scopes: Arc<Scopes>,
    local: Arc<LocalStore>,
    redis: ArcSwapOption<Shared>,
    metrics: ExfilMetrics,
}

/// The settings in force, the client hash keyed from them and each
/// policy's budget with its metric handles, swapped together on reload.
struct Live {
    settings: ExfilSettings,
    keyer: key::Keyer,
    /// By policy name. Names come from the configuration, never from a
    /// client, so the fast hasher is safe here (looked up per request).
    budgets: HashMap<String, Arc<PolicyBudget>, foldhash::fast::RandomState>,
}

/// One policy's budget rule, with what a request needs of it resolved
/// once per configuration rather than per request: its scope's number,
/// its kind names as shared strings, its metric handles.
struct PolicyBudget {
    rule: Arc<BudgetRule>,
    scope: ScopeId,
    /// The budgeted kinds, in the order of `rule.budget`.
    kinds: Arc<[Arc<str>]>,
    /// In the order of `rule.budget`.
    charged: Vec<IntCounter>,
    /// `store_errors_total{op="local_full"}`.
    local_full: IntCounter,
}

impl Live {
    fn new(settings: &ExfilSettings, metrics: &ExfilMetrics, scopes: &Scopes) -> Arc<Live> {
        let budgets = settings
            .rules
            .iter()
            .map(|(policy, rule)| {
                let charged = rule
                    .budget
                    .iter()
                    .map(|(kind, _)| metrics.charged_total.with_label_values(&[policy, kind]))
                    .collect();
                let budget = PolicyBudget {
                    rule: rule.clone(),
                    scope: scopes.intern(&rule.scope),
                    kinds: rule.budget.iter().map(|(kind, _)| Arc::from(kind.as_str())).collect(),
                    charged,
                    local_full: metrics
                        .store_errors_total
                        .with_label_values(&[exfil_op::LOCAL_FULL]),
                };
                (policy.clone(), Arc::new(budget))
            })
            .collect();
        Arc::new(Live {
            settings: settings.clone(),
            keyer: key::Keyer::new(&settings.hash_key),
            budgets,
        })
    }
}

/// A shared store and the settings it was started with.
struct Shared {
    url: String,
    prefix: String,
    store: RedisStore,
}

/// What the request-start read decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Under budget for every kind.
    Within,
    /// At or over the budget of a kind (index into the rule's budget).
    Over(usize),
    /// The shared store could not answer and `on_store_error =
    /// "fail_closed"`.
    StoreUnavailable,
}

/// Which counters a decision was made from (for the audit line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Local,
    Redis,
    /// The shared store failed; the local counters decided.
    LocalFallback,
    /// The shared store failed; nothing could be read.
    None,
}

impl Source {
    /// As the audit line writes it (serde's snake_case name).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Redis => "redis",
            Source::LocalFallback => "local_fallback",
            Source::None => "none",
        }
    }
}

/// One request's budget: its client, its decision, and the handle that
/// charges the response's findings when it ends.
#[derive(Clone)]
pub struct Charge {
    inner: Arc<ChargeInner>,
}

struct ChargeInner {
    budget: Arc<PolicyBudget>,
    client: ClientId,
    decision: Decision,
    source: Source,
    /// The policy's budget action, forced to monitor in a monitor policy.
    action: BudgetAction,
    local: Arc<LocalStore>,
    redis: Option<Arc<Shared>>,
}

/// The budget decision as the audit line records it (borrowed from the
/// request's [`Charge`]: written once per audited response, so it copies
/// nothing).
#[derive(Debug, Serialize)]
pub struct AuditNote<'a> {
    /// The client's keyed hash (32 hex digits).
    pub key: ClientId,
    /// `within`, `over_budget` or `store_unavailable`.
    pub decision: &'static str,
    /// The kind whose budget was reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'a str>,
    /// `block` or `monitor`.
    pub action: &'static str,
    pub source: Source,
}

impl Exfil {
    /// Starts the service for `settings`; with a shared store it connects in
    /// the background (the store counts as down until then). Needs a tokio
    /// runtime when a shared store is configured.
    pub fn start(settings: &ExfilSettings, metrics: &Metrics) -> Arc<Exfil> {
        let scopes = Arc::new(Scopes::default());
        let exfil = Arc::new(Exfil {
            settings: ArcSwap::new(Live::new(settings, &metrics.exfiltration, &scopes)),
            scopes,
            local: Arc::new(LocalStore::default()),
            redis: ArcSwapOption::empty(),
            metrics: metrics.exfiltration.clone(),
        });
        exfil.connect(settings);
        exfil
    }

    /// Takes a reloaded configuration. Counters are kept; the shared store
    /// is reconnected only when its URL or prefix changed.
    pub fn apply(&self, settings: &ExfilSettings) {
        self.connect(settings);
        self.settings.store(Live::new(settings, &self.metrics, &self.scopes));
    }

    fn connect(&self, settings: &ExfilSettings) {
        let wanted = match &settings.store {
            StoreSettings::Redis { url, prefix } if !settings.is_off() => Some((url, prefix)),
            _ => None,
        };
        let current = self.redis.load();
        let same = match (&*current, wanted) {
            (Some(s), Some((url, prefix))) => s.url == *url && s.prefix == *prefix,
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        let next = wanted.and_then(|(url, prefix)| {
            if tokio::runtime::Handle::try_current().is_err() {
                tracing::error!("exfiltration store needs a tokio runtime; counting locally");
                return None;
            }
            let (scopes, metrics) = (self.scopes.clone(), self.metrics.clone());
            match RedisStore::start(url, prefix, scopes, metrics, self.local.clone()) {
                Ok(store) => {
                    Some(Arc::new(Shared { url: url.clone(), prefix: prefix.clone(), store }))
                }
                Err(_) => {
                    // Validated at load time; the client's message may quote
                    // the URL, so it is not logged.
                    tracing::error!("exfiltration store URL rejected; counting locally");
                    None
                }
            }
        });
        if next.is_none() {
            self.metrics.store_degraded.set(0);
        }
        self.redis.store(next);
    }

    /// True when some policy has a budget.
    pub fn is_on(&self) -> bool {
        !self.settings.load().settings.is_off()
    }

    /// Decides a request at its start. `None` when the policy has no budget.
    /// Waits on a shared store at most `read_timeout`.
    pub async fn check(
        &self,
        policy: &Policy,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Option<Charge> {
        // The feature off costs one atomic load per request.
        let live = self.settings.load();
        if live.settings.is_off() {
            return None;
        }
        // Owned: it is held across the store's read.
        let live = arc_swap::Guard::into_inner(live);
        let settings = &live.settings;
        let budget = live.budgets.get(&policy.name)?.clone();
        let rule = &budget.rule;
        let client = live.keyer.identify(&rule.key, headers, peer);
        let now = window::now_ms();
        let pos = window::position(now, rule.window);
        let cur = budget.key(client, pos.bucket);
        let prev = budget.key(client, pos.bucket.wrapping_sub(1));
        let redis = self.redis.load_full();

        let mut source = Source::Local;
        let mut counts = None;
        if let Some(shared) = &redis {
            let expires_ms = now + keep(rule).as_millis() as u64;
            let timeout = settings.read_timeout;
            counts = shared.store.read(&prev, &cur, &budget.kinds, timeout, now, expires_ms).await;
            source = if counts.is_some() { Source::Redis } else { Source::LocalFallback };
        }
        let decision = match counts {
            None if source == Source::LocalFallback
                && settings.on_store_error == OnStoreError::FailClosed =>
            {
                source = Source::None;
                Decision::StoreUnavailable
            }
            counts => {
                let [p, c] =
                    counts.unwrap_or_else(|| self.local.read([&prev, &cur], &budget.kinds, now));
                over(rule, &p, &c, pos.prev_weight)
            }
        };
        let action = if policy.monitor() { BudgetAction::Monitor } else { rule.action };
        if decision != Decision::Within {
            self.metrics
                .over_budget_total
                .with_label_values(&[policy.name.as_str(), action.as_str()])
                .inc();
        }
        Some(Charge {
            inner: Arc::new(ChargeInner {
                budget,
                client,
                decision,
                source,
                action,
                local: self.local.clone(),
                redis,
            }),
        })
    }
}

impl PolicyBudget {
    /// `client`'s counters in `bucket` of this budget's scope and window.
    fn key(&self, client: ClientId, bucket: u64) -> BucketKey {
        let window_ms = self.rule.window.as_millis() as u64;
        BucketKey { scope: self.scope, window_ms, client, bucket }
    }
}

/// How long a bucket is kept: its own window, the next (where it counts
/// as the previous bucket), and slack.
fn keep(rule: &BudgetRule) -> Duration {
    rule.window * 2 + KEEP_SLACK
}

/// The first kind at or over its budget.
fn over(rule: &BudgetRule, prev: &[u64], cur: &[u64], prev_weight: f64) -> Decision {
    for (i, (_, budget)) in rule.budget.iter().enumerate() {
        let n = window::estimate(prev[i], cur[i], prev_weight);
        if n >= *budget {
            return Decision::Over(i);
        }
    }
    Decision::Within
}

impl Charge {
    /// True when the proxy must answer with the block page instead of
    /// calling the upstream.
    pub fn blocks(&self) -> bool {
        self.inner.action == BudgetAction::Block && self.inner.decision != Decision::Within
    }

    /// True when the client was found over budget (or could not be checked
    /// and the policy fails closed), whatever the action.
    pub fn flagged(&self) -> bool {
        self.inner.decision != Decision::Within
    }

    pub fn decision(&self) -> Decision {
        self.inner.decision
    }

    /// Charges a finished (or cut) response's findings, `(kind name,
    /// count)`, to the client. Kinds without a budget are ignored. Never
    /// waits: the shared store gets the charge through its writer's outbox,
    /// and the local counters take it at once unless the shared store's
    /// mirror holds it (see [`mirror`]).
    pub fn charge<'a>(&self, counts: impl IntoIterator<Item = (&'a str, u64)>) {
        let c = &*self.inner;
        let rule = &c.budget.rule;
        let mut budgeted: SmallVec<[(Arc<str>, u64); 4]> = SmallVec::new();
        for (kind, n) in counts {
            if n == 0 {
                continue;
            }
            if let Some(i) = rule.budget.iter().position(|(k, _)| k == kind) {
                c.budget.charged[i].inc_by(n);
                budgeted.push((c.budget.kinds[i].clone(), n));
            }
        }
        if budgeted.is_empty() {
            return;
        }
        let now = window::now_ms();
        // Nearly always the bucket of the request's start.
        let key = c.budget.key(c.client, window::position(now, rule.window).bucket);
        let keep = keep(rule);
        let held =
            c.redis.as_ref().is_some_and(|shared| shared.store.charge(&key, &budgeted, keep));
        if !held && !c.local.add(&key, &budgeted, now + keep.as_millis() as u64, now) {
            c.budget.local_full.inc();
        }
    }

    /// The decision for the audit line.
    pub fn audit(&self) -> AuditNote<'_> {
        let c = &*self.inner;
        let (decision, kind) = match c.decision {
            Decision::Within => ("within", None),
            Decision::Over(i) => ("over_budget", Some(c.budget.rule.budget[i].0.as_str())),
            Decision::StoreUnavailable => ("store_unavailable", None),
        };
        AuditNote { key: c.client, decision, kind, action: c.action.as_str(), source: c.source }
    }
}

#[cfg(test)]
mod tests;

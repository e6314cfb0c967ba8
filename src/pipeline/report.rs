//! Reporting of one scanned response: the per-response metrics (bytes
//! scanned, findings, errors, blocks, modified) and its audit line.
//!
//! It only records and writes what the body tells it; it never decides,
//! never touches a body byte and never writes a matched value: the audit
//! line carries kinds, counts, actions and keyed fingerprints, and the
//! client-controlled path and request id go through [`audit::masked`].

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::PipelineError;
use super::{FindingCounter, ResponseContext, RouteCounters};
use crate::access_log::ScanSummary;
use crate::audit::{self, AuditRecord, MAX_FINGERPRINTS};
use crate::detect::{Action, Engine, Finding, Fingerprint, FingerprintList, Kind};
use crate::metrics::{skip_reason, MONITOR_ACTION};

/// What one response showed, as metrics and the audit line see it.
pub(crate) struct Report {
    /// The route's per-response series, resolved once per configuration.
    counters: Arc<RouteCounters>,
    /// `findings_total` handles this response resolved itself: kinds the
    /// policy does not name (their action is the default, `detect`).
    extra_counters: Vec<(Kind, FindingCounter)>,
    counts: BTreeMap<Kind, u64>,
    fingerprints: FingerprintList,
    modified: bool,
    blocked: Option<&'static str>,
    would_block: Option<&'static str>,
    reported: bool,
    /// The privacy inventory's observer of this body (field paths, forms).
    observer: Option<crate::inventory::Observer>,
}

impl Report {
    /// Starts the report of a response that is scanned (and counts it).
    pub(crate) fn new(
        counters: Arc<RouteCounters>,
        observer: Option<crate::inventory::Observer>,
    ) -> Report {
        counters.responses_scanned.inc();
        Report {
            counters,
            extra_counters: Vec::new(),
            counts: BTreeMap::new(),
            fingerprints: FingerprintList::new(MAX_FINGERPRINTS),
            modified: false,
            blocked: None,
            would_block: None,
            reported: false,
            observer,
        }
    }

    /// True when some output differs from the input.
    pub(crate) fn modified(&self) -> bool {
        self.modified
    }

    pub(crate) fn scanned(&mut self, input: &[u8]) {
        self.counters.scan_bytes.inc_by(input.len() as u64);
        if let Some(o) = &mut self.observer {
            o.feed(input);
        }
    }

    pub(crate) fn skipped_size_limit(&self, ctx: &ResponseContext) {
        ctx.metrics
            .scan_skipped_total
            .with_label_values(&[&ctx.route, skip_reason::SIZE_LIMIT])
            .inc();
    }

    /// Counts one finding; returns how many of its kind the response has
    /// shown so far. `enforce` says whether its action was applied.
    pub(crate) fn finding(&mut self, ctx: &ResponseContext, f: &Finding, enforce: bool) -> u64 {
        if let Some(o) = &mut self.observer {
            o.finding(f, &ctx.policy);
        }
        match self
            .counters
            .finding(f.kind)
            .or_else(|| self.extra_counters.iter().find(|(k, _)| *k == f.kind).map(|(_, c)| c))
        {
            Some(c) => c.inc(),
            None => {
                let c = FindingCounter::new(&ctx.metrics, &ctx.route, &ctx.policy, f.kind);
                c.inc();
                self.extra_counters.push((f.kind, c));
            }
        }
        let n = self.counts.entry(f.kind).or_insert(0);
        *n += 1;
        self.fingerprints.add(f.fingerprint);
        if enforce && f.action != Action::Detect {
            self.modified = true;
        }
        *n
    }

    /// Monitor mode: a block decision that was not enforced.
    pub(crate) fn would_block(&mut self, e: PipelineError) {
        self.would_block = self.would_block.or(Some(e.would_block()));
    }

    pub(crate) fn scan_error(&self, ctx: &ResponseContext, e: PipelineError) {
        if let Some(reason) = e.error_reason() {
            ctx.metrics.scan_errors_total.with_label_values(&[&ctx.route, reason]).inc();
        }
    }

    /// The response was blocked or cut (a `responses_blocked_total` reason).
    pub(crate) fn blocked(&mut self, ctx: &ResponseContext, reason: &'static str) {
        ctx.metrics.responses_blocked_total.with_label_values(&[&ctx.route, reason]).inc();
        self.blocked = Some(reason);
    }

    /// Writes the end-of-response metrics and the audit line, once.
    /// `status` is what the client got; `complete` whether it was handed
    /// the whole body.
    pub(crate) fn finish(
        &mut self,
        ctx: &ResponseContext,
        enforce: bool,
        status: u16,
        complete: bool,
    ) {
        if std::mem::replace(&mut self.reported, true) {
            return;
        }
        if let Some(o) = self.observer.take() {
            o.finish(&ctx.policy, self.blocked.is_some());
        }
        // The access line's scan summary (kinds, counts, actions: never a
        // value), whether or not an audit line follows.
        if ctx.access.wanted() {
            let name = |k: Kind| policy_kind_name(ctx, k);
            ctx.access.set(ScanSummary {
                scanned: true,
                findings: self.counts.iter().map(|(&k, &n)| (name(k), n)).collect(),
                actions: self
                    .counts
                    .keys()
                    .map(|&k| {
                        let action =
                            if enforce { ctx.policy.action(k).as_str() } else { MONITOR_ACTION };
                        (name(k), action)
                    })
                    .collect(),
                blocked: self.blocked,
            });
        }
        if self.modified {
            ctx.metrics.responses_modified_total.with_label_values(&[&ctx.route]).inc();
        }
        let policy = &ctx.policy;
        let engine = &policy.engine;
        // Exfiltration budget (src/exfil): the counts are final here, for a
        // finished and a cut response alike. Never waits.
        if let Some(charge) = &ctx.exfil {
            charge.charge(self.counts.iter().map(|(&k, &n)| (engine.kind_name(k), n)));
        }
        let flagged = ctx.exfil.as_ref().is_some_and(|c| c.flagged());
        if self.counts.is_empty() && self.blocked.is_none() && !flagged {
            return;
        }
        let (counts, actions, would_actions) =
            kind_maps(&self.counts, engine, enforce, |k| policy.action(k).as_str());
        write_audit(
            ctx,
            status,
            AuditExtra {
                counts,
                actions,
                would_actions,
                fingerprints: self.fingerprints.as_slice(),
                truncated: self.fingerprints.truncated(),
                blocked: self.blocked,
                would_block: self.would_block,
                complete,
                side: None,
            },
        );
    }
}

fn policy_kind_name(ctx: &ResponseContext, k: Kind) -> String {
    ctx.policy.engine.kind_name(k).to_string()
}

/// An audit line's per-kind maps: `counts`, `actions` and
/// `would_actions`.
pub(crate) type KindMaps<'a> =
    (BTreeMap<&'a str, u64>, BTreeMap<&'a str, &'static str>, BTreeMap<&'a str, &'static str>);

/// The per-kind maps of an audit line from one side's counts: enforced,
/// `actions` says what was done to each kind (`action_of`); not enforced
/// (monitor mode), nothing was done to any value, so every action is
/// `monitor` and what enforce mode would have done goes in
/// `would_actions`.
pub(crate) fn kind_maps<'a>(
    counts: &BTreeMap<Kind, u64>,
    engine: &'a Engine,
    enforced: bool,
    action_of: impl Fn(Kind) -> &'static str,
) -> KindMaps<'a> {
    let named = counts.iter().map(|(&k, &n)| (engine.kind_name(k), n)).collect();
    let configured = counts.keys().map(|&k| (engine.kind_name(k), action_of(k)));
    if enforced {
        (named, configured.collect(), BTreeMap::new())
    } else {
        let monitor = counts.keys().map(|&k| (engine.kind_name(k), MONITOR_ACTION)).collect();
        (named, monitor, configured.collect())
    }
}

/// The per-response part of an audit line.
pub(crate) struct AuditExtra<'a> {
    pub counts: BTreeMap<&'a str, u64>,
    pub actions: BTreeMap<&'a str, &'static str>,
    pub would_actions: BTreeMap<&'a str, &'static str>,
    pub fingerprints: &'a [Fingerprint],
    pub truncated: bool,
    pub blocked: Option<&'static str>,
    pub would_block: Option<&'static str>,
    pub complete: bool,
    /// `Some("request")` for a request's line.
    pub side: Option<&'static str>,
}

/// Writes one audit line for a response.
pub(crate) fn write_audit(ctx: &ResponseContext, status: u16, extra: AuditExtra<'_>) {
    if !ctx.audit.enabled() {
        return;
    }
    // The path and the request id come from the client and may carry a
    // value (a card number as an id): masked with the same engine before
    // they are written anywhere.
    let engine = &ctx.policy.engine;
    let path = audit::masked_remembered(engine, audit::path_without_query(&ctx.path));
    let request_id = ctx.request_id.for_log(engine);
    let queued = ctx.audit.write(&AuditRecord {
        ts: audit::now_rfc3339(),
        request_id: &request_id,
        route: &ctx.route,
        method: audit::method_label(&ctx.method),
        path: &path,
        status,
        mode: ctx.policy.mode.as_str(),
        policy: &ctx.policy.name,
        client: ctx.client,
        counts: extra.counts,
        actions: extra.actions,
        would_actions: extra.would_actions,
        fingerprints: extra.fingerprints,
        fingerprints_truncated: extra.truncated,
        blocked: extra.blocked,
        would_block: extra.would_block,
        complete: extra.complete,
        exfil: ctx.exfil.as_ref().map(|c| c.audit()),
        side: extra.side,
    });
    if !queued {
        ctx.metrics.audit_lines_dropped_total.inc();
    }
}

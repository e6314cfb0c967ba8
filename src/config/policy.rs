//! The `[policies.<name>]` and `[audit]` sections: what the file says, as
//! written. Validation and defaults live in [`crate::policy::Policy::build`]
//! and [`crate::audit::AuditSink::from_config`]; every field here is optional
//! so that "not set" stays distinguishable from "set to the default".

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// One `[policies.<name>]` section. Routes refer to it by name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// `"enforce"` (default: rewrite and block) or `"monitor"` (bodies pass
    /// byte-identical; findings are still counted and audited with the action
    /// that enforce mode would have taken).
    #[serde(default)]
    pub mode: Option<PolicyMode>,
    /// Kinds to detect, by name (built-in kinds such as `"card"`, `"ssn"`, or
    /// the names of `[[detect.custom]]` rules). Default: every built-in kind
    /// and every custom rule.
    #[serde(default)]
    pub detectors: Option<Vec<String>>,
    /// Action per kind: `"mask"`, `"redact"`, `"hash"`, `"block"` or
    /// `"detect"`. Kinds not listed keep the defaults: email and phone
    /// `detect`, everything else `mask`.
    #[serde(default)]
    pub actions: BTreeMap<String, PolicyAction>,
    /// Bulk-leak thresholds: block a response carrying at least N findings of
    /// a kind (for example `card = 20`). N must be at least 1.
    #[serde(default)]
    pub thresholds: BTreeMap<String, u64>,
    /// Media types whose bodies are scanned (`"text/*"`, `"application/json"`,
    /// `"application/*+json"`, ...). Parameters are ignored and matching is
    /// case-insensitive. Replaces the default list when set.
    #[serde(default)]
    pub content_types: Option<Vec<String>>,
    /// Decoded bytes scanned per response before `over_limit` applies.
    /// Default: no limit (every byte is scanned).
    #[serde(default)]
    pub scan_limit_bytes: Option<u64>,
    /// What happens past `scan_limit_bytes`: `"block"` (default: the
    /// response is cut, fail closed) or `"pass"` (the rest goes out
    /// unscanned; counted in `leakwarden_scan_skipped_total{reason="size_limit"}`).
    #[serde(default)]
    pub over_limit: Option<OverLimit>,
    /// Output bytes held before the response headers are sent, so that a
    /// block decided inside the window can still replace the whole response.
    /// Default 65536; 0 disables the hold.
    #[serde(default)]
    pub hold_window_bytes: Option<usize>,
    /// Longest time, in milliseconds, the headers are held while the window
    /// fills, so slow streams still get their headers. Default 2000.
    #[serde(default)]
    pub hold_timeout_ms: Option<u64>,
    /// Media types that are never held (long-lived streams). Default
    /// `["text/event-stream", "application/x-ndjson"]`.
    #[serde(default)]
    pub stream_types: Option<Vec<String>>,
    /// Status of the generic page that replaces a blocked response (4xx or
    /// 5xx). Default 403.
    #[serde(default)]
    pub block_status: Option<u16>,
    /// What a pipeline error does: `"fail_closed"` (default: the block page
    /// inside the hold window, an aborted response after it) or
    /// `"fail_open"`: a response whose content coding cannot be decoded
    /// (unknown or stacked codings) passes untouched and unscanned. A stream
    /// that turns out corrupt or a decompression bomb once re-encoding has
    /// begun is cut either way: what was sent cannot be continued.
    #[serde(default)]
    pub on_error: Option<OnError>,
    /// Decoded bytes a compressed response may expand to before it counts as
    /// a decompression bomb. Default 1 GiB.
    #[serde(default)]
    pub max_decoded_bytes: Option<u64>,
    /// Decoded/encoded size ratio (checked once 1 MiB is decoded) above which
    /// a compressed response counts as a decompression bomb. Default 250.
    #[serde(default)]
    pub max_decompression_ratio: Option<u64>,
    /// `"passthrough"` (default: the client's Accept-Encoding, filtered to
    /// codings leakwarden can decode) or `"identity"` (ask upstreams for
    /// uncompressed bodies).
    #[serde(default)]
    pub accept_encoding: Option<AcceptEncoding>,
    /// Drop `Range` and `If-Range` from requests (default true): a range can
    /// cut a card number in half, and the type of the response is unknown
    /// when the request leaves.
    #[serde(default)]
    pub strip_range: Option<bool>,
    /// Exact values never reported on this policy's routes, in addition to
    /// `[detect] allow_values` (same normalized comparison).
    #[serde(default)]
    pub allow_values: Vec<String>,
    /// Regexes (whole-value match) of values never reported on this
    /// policy's routes, in addition to `[detect] allow_patterns`.
    #[serde(default)]
    pub allow_patterns: Vec<String>,
    /// Request paths whose responses are forwarded unscanned, counted in
    /// `leakwarden_scan_skipped_total{reason="exempt_path"}`. A pattern
    /// without `*` is a segment-wise prefix (`/static` matches `/static` and
    /// `/static/app.js`, not `/statics`); with `*` it is a glob over the
    /// whole path where `*` matches within one segment and a final `/**`
    /// matches any rest (`/assets/*.css`, `/api/*/health`, `/media/**`).
    /// Paths with dot segments or encoded separators are always scanned.
    #[serde(default)]
    pub exempt_paths: Vec<String>,
    /// Scan what requests carry (query strings; form, JSON, multipart text
    /// parts and text bodies) for the inventory's `collects`, the request
    /// metrics and audit lines. Default true. Requests are forwarded
    /// byte-for-byte unless a kind in `request_actions` blocks.
    #[serde(default)]
    pub scan_requests: Option<bool>,
    /// Action per kind found in a request: `"detect"` (the default for
    /// every kind: count, audit, forward untouched) or `"block"` (the
    /// request never reaches the upstream with the value: refused with the
    /// block page inside `request_hold_window_bytes`, the upstream request
    /// aborted before the value's bytes past it). Example:
    /// `{ card = "block" }` everywhere but the payment route.
    #[serde(default)]
    pub request_actions: BTreeMap<String, RequestAction>,
    /// Request body bytes read (and scanned) before the upstream request is
    /// opened when a kind blocks, so that a value found inside them is
    /// refused before the upstream sees a byte. Default 65536; 0 opens the
    /// upstream request at once (a block then always aborts it).
    #[serde(default)]
    pub request_hold_window_bytes: Option<usize>,
    /// Longest wait, in milliseconds, for the request hold window to fill
    /// before the upstream request is opened anyway. Default 2000.
    #[serde(default)]
    pub request_hold_timeout_ms: Option<u64>,
}

/// What the policy does with a finding of a kind in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestAction {
    /// Count and audit; the request goes on untouched.
    Detect,
    /// Refuse the request (or abort it upstream) before the value is sent.
    Block,
}

impl RequestAction {
    /// The name used in metrics labels and audit lines.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestAction::Detect => "detect",
            RequestAction::Block => "block",
        }
    }
}

/// Enforce or only observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    /// Rewrite and block as configured.
    Enforce,
    /// Pass bodies unchanged; count and audit what would have happened.
    Monitor,
}

impl PolicyMode {
    /// The name used in audit lines.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyMode::Enforce => "enforce",
            PolicyMode::Monitor => "monitor",
        }
    }
}

/// What the policy does with a finding of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyAction {
    /// Replace characters, keep length and separators.
    Mask,
    /// Replace with `[REDACTED:<kind>]`.
    Redact,
    /// Replace with a keyed token of the value.
    Hash,
    /// Block the response (masked while the decision is made).
    Block,
    /// Count and audit only.
    Detect,
}

impl PolicyAction {
    /// The name used in metrics labels and audit lines.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyAction::Mask => "mask",
            PolicyAction::Redact => "redact",
            PolicyAction::Hash => "hash",
            PolicyAction::Block => "block",
            PolicyAction::Detect => "detect",
        }
    }
}

/// What happens past the scan limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverLimit {
    /// Send the rest unscanned.
    Pass,
    /// Cut the response.
    Block,
}

/// What a pipeline error does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Block (inside the hold window) or abort the response.
    FailClosed,
    /// Let the rest of the body through unscanned.
    FailOpen,
}

/// How the guard shapes the request's `Accept-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptEncoding {
    /// Keep the client's codings that leakwarden can decode.
    Passthrough,
    /// Ask for `identity`.
    Identity,
}

/// The `[audit]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Write audit lines at all. Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `"stdout"` (default), `"stderr"` or `"file"`.
    #[serde(default)]
    pub output: Option<AuditOutput>,
    /// The file appended to when `output = "file"` (required then).
    #[serde(default)]
    pub path: Option<PathBuf>,
}

/// Where audit lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutput {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// A file, opened for appending.
    File,
}

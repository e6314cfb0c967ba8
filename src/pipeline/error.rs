//! The data path's error vocabulary: everything that makes the guard answer
//! or cut a response itself. Each cause has its client status and its
//! bounded metric label here, and nowhere else; [`super::block::reply`]
//! turns a [`Rejection`] into the one generic response it gets.
//!
//! Messages are generic on purpose: they may end up in a client-facing
//! error or a log, so they never carry a byte of a request or a body.

use std::error::Error as StdError;
use std::io;

use http::StatusCode;

use crate::metrics::{block_reason, client_reason, upstream_reason};

/// What went wrong talking to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream refused the connection")]
    Refused,
    #[error("upstream timed out")]
    Timeout,
    #[error("upstream connection reset")]
    Reset,
    #[error("upstream broke the HTTP protocol")]
    Protocol,
    #[error("upstream TLS handshake failed")]
    Tls,
}

impl UpstreamError {
    /// Every cause, for tables indexed by cause.
    pub const ALL: [UpstreamError; 5] = [
        UpstreamError::Refused,
        UpstreamError::Timeout,
        UpstreamError::Reset,
        UpstreamError::Protocol,
        UpstreamError::Tls,
    ];

    /// The `leakwarden_upstream_errors_total` reason.
    pub fn reason(self) -> &'static str {
        match self {
            UpstreamError::Refused => upstream_reason::REFUSED,
            UpstreamError::Timeout => upstream_reason::TIMEOUT,
            UpstreamError::Reset => upstream_reason::RESET,
            UpstreamError::Protocol => upstream_reason::PROTOCOL,
            UpstreamError::Tls => upstream_reason::TLS,
        }
    }

    /// The cause a reason label names (the TLS connector reports labels).
    pub fn from_reason(reason: &str) -> Option<UpstreamError> {
        UpstreamError::ALL.into_iter().find(|e| e.reason() == reason)
    }

    /// Classifies a failed upstream exchange from an error and its causes:
    /// the one mapping for a failure before the head (a client error) and
    /// for one while the body streams (a body error). `connect` says that no
    /// connection was made, so nothing was sent. TLS connect failures are
    /// the connector's to name (see `crate::proxy::upstream`).
    pub fn classify(err: &(dyn StdError + 'static), connect: bool) -> UpstreamError {
        let mut io_kind = None;
        let mut hyper_err: Option<&hyper::Error> = None;
        let mut source: Option<&(dyn StdError + 'static)> = Some(err);
        while let Some(e) = source {
            if let Some(ioe) = e.downcast_ref::<io::Error>() {
                io_kind.get_or_insert(ioe.kind());
            }
            if let Some(he) = e.downcast_ref::<hyper::Error>() {
                hyper_err.get_or_insert(he);
            }
            source = e.source();
        }
        if io_kind == Some(io::ErrorKind::TimedOut) || hyper_err.is_some_and(|h| h.is_timeout()) {
            return UpstreamError::Timeout;
        }
        if connect {
            return UpstreamError::Refused;
        }
        match hyper_err {
            Some(h) if h.is_parse() || h.is_parse_status() || h.is_user() => {
                UpstreamError::Protocol
            }
            Some(h) if h.is_incomplete_message() || h.is_canceled() || h.is_closed() => {
                UpstreamError::Reset
            }
            _ => match io_kind {
                Some(io::ErrorKind::InvalidData) => UpstreamError::Protocol,
                _ => UpstreamError::Reset,
            },
        }
    }

    /// The status a client gets when this happens before the head.
    pub fn status(self) -> StatusCode {
        match self {
            UpstreamError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

/// Why the pipeline cut or blocked a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// A finding of a kind whose action is `block`.
    #[error("response blocked by policy")]
    BlockedKind,
    /// A kind reached its threshold.
    #[error("response blocked by policy (threshold)")]
    BlockedThreshold,
    /// The content coding is corrupt or truncated.
    #[error("response cut: undecodable content coding")]
    Decode,
    /// Decompression bomb limits.
    #[error("response cut: decompression limit exceeded")]
    Bomb,
    /// Past the scan limit with `over_limit = "block"`.
    #[error("response cut: scan limit exceeded")]
    SizeLimit,
    /// Re-encoding failed.
    #[error("response cut: re-encoding failed")]
    Encode,
    /// A content coding the pipeline cannot decode (unknown, or stacked).
    #[error("response blocked: content coding not inspectable")]
    UnknownEncoding,
    /// The client is over its exfiltration budget ([`crate::exfil`]): the
    /// upstream was never called.
    #[error("request blocked: exfiltration budget exceeded")]
    ExfilBudget,
}

impl PipelineError {
    /// The `scan_errors_total` reason, for errors that are not decisions.
    pub fn error_reason(self) -> Option<&'static str> {
        match self {
            PipelineError::BlockedKind
            | PipelineError::BlockedThreshold
            | PipelineError::ExfilBudget => None,
            PipelineError::Decode => Some("decode"),
            PipelineError::Bomb => Some("bomb"),
            PipelineError::SizeLimit => Some("size_limit"),
            PipelineError::Encode => Some("encode"),
            PipelineError::UnknownEncoding => Some("unknown_encoding"),
        }
    }

    /// The `responses_blocked_total` reason.
    pub fn block_reason(self, headers_sent: bool) -> &'static str {
        match self {
            PipelineError::BlockedKind | PipelineError::BlockedThreshold if headers_sent => {
                block_reason::ABORTED
            }
            PipelineError::BlockedKind => block_reason::BEFORE_HEADERS,
            PipelineError::BlockedThreshold => block_reason::THRESHOLD,
            PipelineError::ExfilBudget => block_reason::EXFIL_BUDGET,
            _ => block_reason::FAIL_CLOSED,
        }
    }

    /// The audit line's `would_block` for a decision monitor mode did not
    /// enforce.
    pub fn would_block(self) -> &'static str {
        match self {
            PipelineError::BlockedThreshold => "threshold",
            _ => "block_action",
        }
    }
}

/// What a client got wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The request body broke while it streamed upstream (malformed
    /// chunked framing, cut short).
    #[error("malformed request body")]
    RequestBody,
}

impl ClientError {
    /// The `leakwarden_client_errors_total` reason.
    pub fn reason(self) -> &'static str {
        match self {
            ClientError::RequestBody => client_reason::REQUEST_BODY,
        }
    }
}

/// Why the guard answers a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No route matched (404).
    NoRoute,
    /// The client's fault (400).
    Client(ClientError),
    /// The upstream failed before a head could be sent (502/504).
    Upstream(UpstreamError),
    /// The pipeline blocked the response before its head, answered with
    /// the policy's block status.
    Blocked(PipelineError, StatusCode),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_upstream_cause_has_a_distinct_label_and_round_trips() {
        let labels: std::collections::BTreeSet<_> =
            UpstreamError::ALL.iter().map(|e| e.reason()).collect();
        assert_eq!(labels.len(), UpstreamError::ALL.len());
        for e in UpstreamError::ALL {
            assert_eq!(UpstreamError::from_reason(e.reason()), Some(e));
            let want = if e == UpstreamError::Timeout { 504 } else { 502 };
            assert_eq!(e.status().as_u16(), want, "{e:?}");
        }
        assert_eq!(UpstreamError::from_reason("nope"), None);
    }

    #[test]
    fn block_reasons_follow_the_head() {
        use PipelineError::*;
        let cases = [
            (BlockedKind, false, "before_headers"),
            (BlockedKind, true, "aborted"),
            (BlockedThreshold, false, "threshold"),
            (BlockedThreshold, true, "aborted"),
            (Decode, false, "fail_closed"),
            (UnknownEncoding, false, "fail_closed"),
        ];
        for (e, sent, want) in cases {
            assert_eq!(e.block_reason(sent), want, "{e:?} {sent}");
        }
        assert_eq!(BlockedKind.error_reason(), None);
        assert_eq!(UnknownEncoding.error_reason(), Some("unknown_encoding"));
    }
}

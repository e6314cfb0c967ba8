//! The audit log: one JSON line per response with findings (and per block),
//! saying what was found where. It must never write a raw sensitive value:
//! only kinds, offsets, actions and keyed fingerprints.
//!
//! SKELETON: filled in by the response-pipeline issue.

/// Where audit lines go.
#[derive(Debug, Default)]
pub struct AuditSink {}

impl AuditSink {
    /// An audit sink that writes nothing.
    pub fn disabled() -> AuditSink {
        AuditSink {}
    }
}

//! Structured logging setup (tracing): JSON or text, level from config or
//! RUST_LOG. Nothing logged may carry a raw sensitive value.
//!
//! SKELETON: filled in by the metrics and logging issue.

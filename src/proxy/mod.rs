//! The reverse proxy: the hyper server (HTTP/1.1 and h2c on one listener),
//! routing, the pooled upstream client, proxy headers, errors and shutdown.
//! It hands every response to [`crate::pipeline::process_response`] and
//! never looks inside a body itself.
//!
//! SKELETON: filled in by the proxy-core issue.

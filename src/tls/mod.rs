//! TLS with rustls: the listener's server configuration (SNI, ALPN, mTLS)
//! and the upstream client configuration (verified roots, extra CA, SNI
//! override, client certificates).
//!
//! SKELETON: filled in by the TLS issue.

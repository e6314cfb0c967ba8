//! `leakwarden demo`: an in-process demo shop upstream on loopback with fake
//! sensitive data, and the guard in front of it.
//!
//! SKELETON: filled in by the proxy-core issue.

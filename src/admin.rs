//! The admin listener: /healthz, /readyz, /metrics (and /reload). It binds
//! to loopback by default and never serves proxied traffic.
//!
//! SKELETON: filled in by the proxy-core issue.

//! Route selection: by host (exact beats `*.domain` beats any), then by the
//! longest path prefix, matched segment-wise. Pure functions over the
//! runtime's route table.

use crate::app::{HostMatch, Route};

/// Picks the route for a request. `host` is lower-case, without port.
pub fn select<'a>(routes: &'a [Route], host: Option<&str>, path: &str) -> Option<&'a Route> {
    select_index(routes, host, path).map(|i| &routes[i])
}

/// Like [`select`], returning the route's index in `routes`.
pub fn select_index(routes: &[Route], host: Option<&str>, path: &str) -> Option<usize> {
    routes
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let host_rank = match (&r.host, host) {
                (HostMatch::Any, _) => 0,
                (HostMatch::Exact(h), Some(req)) if h == req => 2 << 16,
                // Longer suffixes are more specific.
                (HostMatch::Suffix(s), Some(req)) if req.len() > s.len() && req.ends_with(&**s) => {
                    (1 << 16) + s.len()
                }
                _ => return None,
            };
            prefix_matches(&r.path_prefix, path).then_some(((host_rank, r.path_prefix.len()), i))
        })
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, i)| i)
}

/// True when some route matches on the host, so the request's host must be
/// worked out; a table of host-less routes (a sidecar) never needs it.
pub fn needs_host(routes: &[Route]) -> bool {
    routes.iter().any(|r| !matches!(r.host, HostMatch::Any))
}

/// `/api` matches `/api` and `/api/x` but not `/apix`; `/api/` matches
/// `/api/x` only.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        None => false,
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
    }
}

/// The request's host: the URI authority (HTTP/2, absolute-form) or the
/// `Host` header, lower-cased, without port or IPv6 brackets.
pub fn request_host(req: &http::request::Parts) -> Option<String> {
    let raw = match req.uri.authority() {
        Some(a) => a.host().to_string(),
        None => {
            let h = req.headers.get(http::header::HOST)?.to_str().ok()?;
            strip_port(h).to_string()
        }
    };
    let raw = raw.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
    (!raw.is_empty()).then(|| raw.to_ascii_lowercase())
}

fn strip_port(h: &str) -> &str {
    if let Some(rest) = h.strip_prefix('[') {
        // [v6]:port
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Overrides, Runtime};
    use crate::config::FileConfig;

    fn routes() -> Vec<Route> {
        let text = r#"
[upstreams.u]
url = "http://127.0.0.1:1"
[[routes]]
name = "any-root"
upstream = "u"
[[routes]]
name = "any-api"
path_prefix = "/api"
upstream = "u"
[[routes]]
name = "shop-root"
host = "shop.example.com"
upstream = "u"
[[routes]]
name = "wild"
host = "*.example.com"
path_prefix = "/static/"
upstream = "u"
[[routes]]
name = "wild-deep"
host = "*.eu.example.com"
path_prefix = "/static/"
upstream = "u"
"#;
        let file: FileConfig = toml::from_str(text).unwrap();
        Runtime::build(file, &Overrides::default(), "t").unwrap().routes
    }

    #[test]
    fn selects_by_host_then_longest_prefix() {
        let rs = routes();
        let cases = [
            (None, "/", Some("any-root")),
            (None, "/api", Some("any-api")),
            (None, "/api/v1/x", Some("any-api")),
            (None, "/apix", Some("any-root")),
            (Some("other.org"), "/api/x", Some("any-api")),
            (Some("shop.example.com"), "/api/x", Some("shop-root")),
            (Some("a.example.com"), "/static/app.js", Some("wild")),
            (Some("a.example.com"), "/static", Some("any-root")),
            (Some("a.eu.example.com"), "/static/x", Some("wild-deep")),
            (Some("example.com"), "/static/x", Some("any-root")),
        ];
        for (host, path, want) in cases {
            let got = select(&rs, host, path).map(|r| &*r.name);
            assert_eq!(got, want, "host {host:?} path {path}");
        }
    }

    #[test]
    fn index_agrees_with_select_and_host_need_is_detected() {
        let rs = routes();
        for (host, path) in [(None, "/api/x"), (Some("a.eu.example.com"), "/static/x")] {
            let i = select_index(&rs, host, path).unwrap();
            assert!(std::ptr::eq(&rs[i], select(&rs, host, path).unwrap()));
        }
        assert!(needs_host(&rs));
        let mut any = rs.clone();
        any.retain(|r| matches!(r.host, HostMatch::Any));
        assert!(!needs_host(&any));
    }

    #[test]
    fn no_route_without_catch_all() {
        let mut rs = routes();
        rs.retain(|r| !matches!(r.host, HostMatch::Any));
        assert!(select(&rs, Some("other.org"), "/").is_none());
    }

    #[test]
    fn host_from_header_or_authority() {
        let cases = [
            ("http://Example.COM:8443/x", None, Some("example.com")),
            ("/x", Some("Shop.example.com:8080"), Some("shop.example.com")),
            ("/x", Some("[::1]:8080"), Some("::1")),
            ("/x", Some("example.com."), Some("example.com")),
            ("/x", None, None),
        ];
        for (uri, host, want) in cases {
            let mut b = http::Request::builder().uri(uri);
            if let Some(h) = host {
                b = b.header("host", h);
            }
            let (parts, ()) = b.body(()).unwrap().into_parts();
            assert_eq!(request_host(&parts).as_deref(), want, "{uri} {host:?}");
        }
    }
}

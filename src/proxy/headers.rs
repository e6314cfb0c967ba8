//! Proxy headers: hop-by-hop removal (RFC 9110 section 7.6.1), the
//! X-Forwarded-* family, Via, and the request id. Pure functions on header
//! maps, so each rule is unit-tested without a network.

use std::net::IpAddr;

use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, TE, TRAILER, UPGRADE, VIA};
use http::Version;

/// The request id header, propagated upstream and echoed to the client.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Removes hop-by-hop headers: `Connection` and every header it names,
/// `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade` and any
/// `Proxy-*` header.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in
        [&CONNECTION, &KEEP_ALIVE, &TE, &TRAILER, &http::header::TRANSFER_ENCODING, &UPGRADE]
    {
        headers.remove(name);
    }
    let proxy: Vec<HeaderName> =
        headers.keys().filter(|k| k.as_str().starts_with("proxy-")).cloned().collect();
    for name in proxy {
        headers.remove(name);
    }
}

/// Appends the client address to `X-Forwarded-For` and sets
/// `X-Forwarded-Proto` and `X-Forwarded-Host` (replacing what the client
/// sent: they describe this hop).
pub fn set_forwarded(headers: &mut HeaderMap, client: IpAddr, proto: &str, host: Option<&str>) {
    let mut chain: Vec<String> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    chain.push(client.to_string());
    headers.remove(&X_FORWARDED_FOR);
    if let Ok(v) = HeaderValue::from_str(&chain.join(", ")) {
        headers.insert(X_FORWARDED_FOR.clone(), v);
    }
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto_value(proto)));
    headers.remove(&X_FORWARDED_HOST);
    if let Some(v) = host.and_then(|h| HeaderValue::from_str(h).ok()) {
        headers.insert(X_FORWARDED_HOST.clone(), v);
    }
}

fn proto_value(proto: &str) -> &'static str {
    if proto == "https" {
        "https"
    } else {
        "http"
    }
}

/// Appends this hop to `Via` (`1.1 leakwarden`, `2 leakwarden`).
pub fn append_via(headers: &mut HeaderMap, version: Version) {
    let proto = match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    };
    let existing: Vec<&str> = headers.get_all(VIA).iter().filter_map(|v| v.to_str().ok()).collect();
    let mut via = existing.join(", ");
    if !via.is_empty() {
        via.push_str(", ");
    }
    via.push_str(proto);
    via.push_str(" leakwarden");
    if let Ok(v) = HeaderValue::from_str(&via) {
        headers.insert(VIA, v);
    }
}

/// Keeps the client's `X-Request-Id` if it is short and printable,
/// otherwise generates a new one; the header is (re)set either way.
pub fn request_id(headers: &mut HeaderMap) -> String {
    let incoming = headers
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string);
    let id = incoming.unwrap_or_else(new_request_id);
    headers.insert(X_REQUEST_ID.clone(), HeaderValue::from_str(&id).expect("printable ASCII"));
    id
}

/// 128 random bits in hex.
fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static FALLBACK: AtomicU64 = AtomicU64::new(0);
    let mut buf = [0u8; 16];
    if getrandom::getrandom(&mut buf).is_err() {
        // Never fails on Linux; a counter still keeps ids unique per process.
        let n = FALLBACK.fetch_add(1, Ordering::Relaxed);
        buf[..8].copy_from_slice(&n.to_be_bytes());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Secret-Hop"),
            ("connection", "x-other"),
            ("x-secret-hop", "1"),
            ("x-other", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("trailer", "x-t"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("content-type", "text/html"),
            ("x-keep", "yes"),
        ]);
        remove_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-type", "x-keep"]);
    }

    #[test]
    fn forwarded_headers_append_and_replace() {
        let mut h = map(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
        ]);
        set_forwarded(&mut h, "127.0.0.1".parse().unwrap(), "http", Some("shop.example.com"));
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, 198.51.100.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "shop.example.com");
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);

        let mut h = HeaderMap::new();
        set_forwarded(&mut h, "::1".parse().unwrap(), "https", None);
        assert_eq!(h["x-forwarded-for"], "::1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert!(h.get("x-forwarded-host").is_none());
    }

    #[test]
    fn via_appends_this_hop() {
        let mut h = map(&[("via", "1.0 fred")]);
        append_via(&mut h, Version::HTTP_11);
        assert_eq!(h["via"], "1.0 fred, 1.1 leakwarden");
        let mut h = HeaderMap::new();
        append_via(&mut h, Version::HTTP_2);
        assert_eq!(h["via"], "2 leakwarden");
    }

    #[test]
    fn request_id_is_kept_or_generated() {
        let mut h = map(&[("x-request-id", "abc-123")]);
        assert_eq!(request_id(&mut h), "abc-123");
        for bad in ["", "has space", &"x".repeat(200)] {
            let mut h = HeaderMap::new();
            if !bad.is_empty() {
                h.insert("x-request-id", HeaderValue::from_str(bad).unwrap());
            }
            let id = request_id(&mut h);
            assert_eq!(id.len(), 32, "{bad:?}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(h["x-request-id"], id.as_str());
        }
        let (mut a, mut b) = (HeaderMap::new(), HeaderMap::new());
        assert_ne!(request_id(&mut a), request_id(&mut b));
    }
}

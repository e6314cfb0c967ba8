//! Proxy headers: hop-by-hop removal (RFC 9110 section 7.6.1), the
//! X-Forwarded-* family, Via, and the request id. Pure functions on header
//! maps, so each rule is unit-tested without a network.

use std::net::IpAddr;

use http::header::{
    Entry, HeaderMap, HeaderName, HeaderValue, CONNECTION, TE, TRAILER, UPGRADE, VIA,
};
use http::Version;

use crate::audit::RequestId;

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
    // Runs twice per exchange, and nearly every upstream response carries
    // `Connection: keep-alive`: one pass over the names (standard names
    // compare by tag) finds what is there, and only that is removed
    // (each removal hashes its name). Any name listed in `Connection`
    // needs `Connection` itself, so its absence rules those out too.
    const FIXED: [&HeaderName; 6] =
        [&CONNECTION, &KEEP_ALIVE, &TE, &TRAILER, &http::header::TRANSFER_ENCODING, &UPGRADE];
    let mut present = [false; FIXED.len()];
    let mut proxy = false;
    for k in headers.keys() {
        match FIXED.iter().position(|f| *f == k) {
            Some(i) => present[i] = true,
            None => proxy |= k.as_str().starts_with("proxy-"),
        }
    }
    if !proxy && !present.contains(&true) {
        return;
    }
    if present[0] {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            // `keep-alive` (the usual token) is one of FIXED: removed below
            // if present.
            .filter(|t| !FIXED.iter().any(|f| f.as_str().eq_ignore_ascii_case(t)))
            .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for (name, _) in FIXED.iter().zip(present).filter(|(_, p)| *p) {
        headers.remove(*name);
    }
    if proxy {
        let proxy: Vec<HeaderName> =
            headers.keys().filter(|k| k.as_str().starts_with("proxy-")).cloned().collect();
        for name in proxy {
            headers.remove(name);
        }
    }
}

/// Moves the transfer codings of an upstream response other than
/// `chunked` into `Content-Encoding`, before `Transfer-Encoding` goes as a
/// hop-by-hop header.
///
/// hyper decodes only `chunked`: a body sent with `Transfer-Encoding: gzip,
/// chunked` reaches the pipeline still gzipped, and with the header gone it
/// would look like plain bytes, pass the scan unread and leave the client
/// able to gunzip it. As a content coding (applied after any the response
/// already had) the pipeline decodes, scans and re-encodes it, or fails
/// closed when it cannot (an unknown coding, or stacked codings), and the
/// client can still decode what it gets.
pub fn transfer_codings_as_content_coding(headers: &mut HeaderMap) {
    let te = &http::header::TRANSFER_ENCODING;
    if !headers.contains_key(te) {
        return;
    }
    let mut codings: Vec<String> = Vec::new();
    for v in headers.get_all(te) {
        // A value that is not text cannot be trusted to be `chunked`.
        let Ok(v) = v.to_str() else {
            codings.push("invalid".to_string());
            continue;
        };
        codings.extend(
            v.split(',')
                .map(|t| t.split(';').next().unwrap_or("").trim())
                .filter(|t| !t.is_empty())
                .filter(|t| !t.eq_ignore_ascii_case("chunked"))
                .filter(|t| !t.eq_ignore_ascii_case("identity"))
                .map(str::to_ascii_lowercase),
        );
    }
    if codings.is_empty() {
        return;
    }
    let mut all: Vec<String> = headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    all.extend(codings);
    let value = HeaderValue::try_from(all.join(", "))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    headers.insert(http::header::CONTENT_ENCODING, value);
}

/// Appends the client address to `X-Forwarded-For` and sets
/// `X-Forwarded-Proto` and `X-Forwarded-Host` (replacing what the client
/// sent: they describe this hop).
pub fn set_forwarded(headers: &mut HeaderMap, client: IpAddr, proto: &str, host: Option<&str>) {
    // This runs on every request: one lookup per header (the entry API),
    // one string built in place, no formatting machinery for IPv4.
    match headers.entry(&X_FORWARDED_FOR) {
        Entry::Vacant(e) => {
            let mut ip = String::with_capacity(15);
            push_ip(&mut ip, client);
            if let Ok(v) = HeaderValue::try_from(ip) {
                e.insert(v);
            }
        }
        Entry::Occupied(mut e) => {
            let mut chain = String::new();
            for v in e.iter().filter_map(|v| v.to_str().ok()).map(str::trim) {
                if !v.is_empty() {
                    chain.push_str(v);
                    chain.push_str(", ");
                }
            }
            push_ip(&mut chain, client);
            match HeaderValue::try_from(chain) {
                // Replaces every value the client sent.
                Ok(v) => {
                    e.insert(v);
                }
                Err(_) => {
                    e.remove();
                }
            }
        }
    }
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto_value(proto)));
    match host.and_then(|h| HeaderValue::from_str(h).ok()) {
        Some(v) => {
            headers.insert(X_FORWARDED_HOST.clone(), v);
        }
        None => {
            headers.remove(&X_FORWARDED_HOST);
        }
    }
}

/// Appends an address as `Display` writes it; IPv4 (the common case) by
/// hand, since `fmt` costs more than the rest of `set_forwarded`.
fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + octet / 10 % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            let _ = write!(out, "{v6}");
        }
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
    let this_hop = match version {
        Version::HTTP_09 => "0.9 leakwarden",
        Version::HTTP_10 => "1.0 leakwarden",
        Version::HTTP_2 => "2 leakwarden",
        Version::HTTP_3 => "3 leakwarden",
        _ => "1.1 leakwarden",
    };
    let mut e = match headers.entry(VIA) {
        Entry::Occupied(e) => e,
        Entry::Vacant(e) => {
            // The common case: one lookup, no allocation.
            e.insert(HeaderValue::from_static(this_hop));
            return;
        }
    };
    let mut via = String::new();
    for (i, v) in e.iter().filter_map(|v| v.to_str().ok()).enumerate() {
        if i > 0 {
            via.push_str(", ");
        }
        via.push_str(v);
    }
    if !via.is_empty() {
        via.push_str(", ");
    }
    via.push_str(this_hop);
    if let Ok(v) = HeaderValue::try_from(via) {
        e.insert(v);
    }
}

/// Keeps the client's `X-Request-Id` if it is short and printable,
/// otherwise generates a new one; the header is (re)set either way.
pub fn request_id(headers: &mut HeaderMap) -> RequestId {
    let good = |v: &HeaderValue| {
        let v = v.as_bytes();
        !v.is_empty() && v.len() <= 128 && v.iter().all(|b| b.is_ascii_graphic())
    };
    let mut e = match headers.entry(&X_REQUEST_ID) {
        Entry::Occupied(e) => e,
        Entry::Vacant(e) => {
            let id = new_request_id();
            e.insert(HeaderValue::from_str(&id).expect("hex digits"));
            return RequestId::generated(&id);
        }
    };
    let mut values = e.iter();
    if let (Some(v), None) = (values.next(), values.next()) {
        if good(v) {
            // A single good value stays as it is.
            return RequestId::from_client(&String::from_utf8_lossy(v.as_bytes()));
        }
    }
    // The first value when it is good, else a new id; either way it
    // replaces every value the client sent.
    let id = match e.get() {
        v if good(v) => RequestId::from_client(&String::from_utf8_lossy(v.as_bytes())),
        _ => RequestId::generated(&new_request_id()),
    };
    e.insert(HeaderValue::from_str(id.as_str()).expect("printable ASCII"));
    id
}

/// A new request id: 32 lower-case hex digits, unique within the process
/// and, with overwhelming probability, across processes.
///
/// The first 64 bits are random per process (one `getrandom` call at the
/// first request), the last 64 bits a per-process counter passed through a
/// keyed bijection on `u64` (the splitmix64 finalizer), so ids do not
/// reveal the request count yet never repeat within a process. It costs no
/// syscall and one small allocation per request.
fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static SEED: OnceLock<[u64; 2]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let [prefix, key] = *SEED.get_or_init(|| {
        let mut buf = [0u8; 16];
        if getrandom::getrandom(&mut buf).is_err() {
            // Never fails on Linux; fall back to the clock and the pid so
            // two processes still differ.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            buf[..8].copy_from_slice(&nanos.to_le_bytes());
            buf[8..].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
        }
        let (a, b) = buf.split_at(8);
        [u64::from_le_bytes(a.try_into().unwrap()), u64::from_le_bytes(b.try_into().unwrap())]
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut out = [0u8; 32];
    hex_u64(prefix, &mut out[..16]);
    hex_u64(mix64(n ^ key), &mut out[16..]);
    // Only hex digits were written.
    String::from_utf8_lossy(&out).into_owned()
}

/// The splitmix64 finalizer: a bijection on `u64` (each step, xor-shift and
/// multiplication by an odd constant, is invertible), so distinct counters
/// give distinct ids.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hex_u64(v: u64, out: &mut [u8]) {
    hex::encode_to_slice(v.to_be_bytes(), out).expect("a u64 is 16 hex digits");
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
    fn hop_by_hop_removal_leaves_clean_maps_alone_and_catches_each_kind() {
        let clean = map(&[("content-type", "text/html"), ("x-keep", "yes")]);
        let mut h = clean.clone();
        remove_hop_by_hop(&mut h);
        assert_eq!(h, clean);
        // Each trigger on its own, next to a header that must stay.
        for hop in
            ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "proxy-x"]
        {
            let mut h = map(&[(hop, "close"), ("x-keep", "yes")]);
            remove_hop_by_hop(&mut h);
            assert_eq!(h, map(&[("x-keep", "yes")]), "{hop}");
        }
    }

    #[test]
    fn transfer_codings_other_than_chunked_become_content_codings() {
        type Case = (&'static [(&'static str, &'static str)], Option<&'static str>);
        let cases: &[Case] = &[
            (&[("transfer-encoding", "chunked")], None),
            (&[("transfer-encoding", "gzip, chunked")], Some("gzip")),
            (&[("transfer-encoding", "GZIP;q=1 , Chunked")], Some("gzip")),
            (&[("transfer-encoding", "gzip"), ("transfer-encoding", "chunked")], Some("gzip")),
            (
                &[("content-encoding", "br"), ("transfer-encoding", "gzip, chunked")],
                Some("br, gzip"),
            ),
            (&[("content-encoding", "br")], Some("br")),
            (&[("transfer-encoding", "identity, chunked")], None),
        ];
        for (pairs, want) in cases {
            let mut h = map(pairs);
            transfer_codings_as_content_coding(&mut h);
            let got = h.get("content-encoding").map(|v| v.to_str().unwrap());
            assert_eq!(got, *want, "{pairs:?}");
        }
        let mut h = HeaderMap::new();
        h.insert("transfer-encoding", HeaderValue::from_bytes(b"\xffzip").unwrap());
        transfer_codings_as_content_coding(&mut h);
        assert_eq!(h["content-encoding"], "invalid");
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

        let mut h = map(&[("x-forwarded-host", "evil.example")]);
        set_forwarded(&mut h, "::1".parse().unwrap(), "https", None);
        assert_eq!(h["x-forwarded-for"], "::1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert!(h.get("x-forwarded-host").is_none());
    }

    #[test]
    fn client_addresses_are_written_as_display_writes_them() {
        let addrs = [
            "0.0.0.0",
            "127.0.0.1",
            "10.9.99.100",
            "192.168.1.255",
            "255.255.255.255",
            "1.20.199.250",
            "::1",
            "2001:db8::7",
            "::ffff:192.0.2.1",
        ];
        for a in addrs {
            let ip: IpAddr = a.parse().unwrap();
            let mut s = String::from("x, ");
            push_ip(&mut s, ip);
            assert_eq!(s, format!("x, {ip}"), "{a}");
        }
        // Every octet value, in each position.
        for o in 0..=255u8 {
            let ip = IpAddr::from([o, 255 - o, o / 2, o.wrapping_mul(7)]);
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
        }
        // Empty and blank client values are dropped from the chain.
        let mut h = map(&[("x-forwarded-for", " "), ("x-forwarded-for", " 203.0.113.7 ")]);
        set_forwarded(&mut h, "10.0.0.1".parse().unwrap(), "http", None);
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, 10.0.0.1");
    }

    #[test]
    fn connection_tokens_that_name_fixed_headers_are_removed_once() {
        // The usual upstream response: `Connection: keep-alive` and nothing
        // else hop-by-hop; tokens in any case, with and without a header.
        let mut h = map(&[
            ("connection", "Keep-Alive, CLOSE, X-Hop"),
            ("keep-alive", "timeout=5"),
            ("x-hop", "1"),
            ("close", "1"),
            ("content-length", "5"),
        ]);
        remove_hop_by_hop(&mut h);
        assert_eq!(h, map(&[("content-length", "5")]));
        let mut h = map(&[("connection", "keep-alive"), ("content-length", "5")]);
        remove_hop_by_hop(&mut h);
        assert_eq!(h, map(&[("content-length", "5")]));
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
        assert_eq!(request_id(&mut h), RequestId::from_client("abc-123"));
        for bad in ["", "has space", &"x".repeat(200)] {
            let mut h = HeaderMap::new();
            if !bad.is_empty() {
                h.insert("x-request-id", HeaderValue::from_str(bad).unwrap());
            }
            let id = request_id(&mut h);
            assert_eq!(id, RequestId::generated(id.as_str()), "{bad:?}: made here");
            assert_eq!(id.as_str().len(), 32, "{bad:?}");
            assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(h["x-request-id"], id.as_str());
        }
        let (mut a, mut b) = (HeaderMap::new(), HeaderMap::new());
        assert_ne!(request_id(&mut a), request_id(&mut b));
        // Several values: the first if good, else a new id; one value left.
        let mut h = map(&[("x-request-id", "first"), ("x-request-id", "second")]);
        assert_eq!(request_id(&mut h), RequestId::from_client("first"));
        assert_eq!(h.get_all("x-request-id").iter().collect::<Vec<_>>(), ["first"]);
        let mut h = map(&[("x-request-id", "bad one"), ("x-request-id", "second")]);
        let id = request_id(&mut h);
        assert_eq!(id, RequestId::generated(id.as_str()));
        assert_eq!(h.get_all("x-request-id").iter().collect::<Vec<_>>(), [id.as_str()]);
    }

    #[test]
    fn generated_ids_are_unique_hex_and_share_the_process_prefix() {
        let ids: Vec<String> = (0..10_000).map(|_| new_request_id()).collect();
        let unique: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(unique.len(), ids.len());
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{id}");
            assert_eq!(id[..16], ids[0][..16]);
        }
        // The counter half is scrambled: consecutive ids differ in many
        // digits, not just the last one.
        let differing = ids[0][16..].bytes().zip(ids[1][16..].bytes()).filter(|(a, b)| a != b);
        assert!(differing.count() > 4);
    }

    #[test]
    fn mix64_is_a_bijection_on_a_sample_and_hex_is_exact() {
        let outs: std::collections::HashSet<u64> = (0..100_000u64).map(mix64).collect();
        assert_eq!(outs.len(), 100_000);
        let mut buf = [0u8; 16];
        hex_u64(0x0123_4567_89ab_cdef, &mut buf);
        assert_eq!(&buf, b"0123456789abcdef");
        hex_u64(u64::MAX, &mut buf);
        assert_eq!(&buf, b"ffffffffffffffff");
    }
}

//! Which client a response is charged to, as a keyed hash: the identifier
//! (an IP address, a header or cookie value, a token's subject) is never
//! stored, logged or sent to the store, only its 128-bit keyed hash
//! ([`Keyer`]) under the configured key.
//!
//! `jwt_sub` reads the `sub` claim of an `Authorization: Bearer` token
//! without verifying its signature: keying needs no trust in the token,
//! because a forged one is refused by the upstream (which does verify) and
//! so receives no data to charge. It does mean a client can choose which
//! budget it spends by sending another token: this key only makes sense in
//! front of an upstream that authenticates every request under the policy.
//! The same holds for `header:` and `cookie:`. A request without the
//! configured header, cookie or token is charged to its client IP.

use std::fmt;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;
use sha2::Sha256;
use siphasher::sip128::{Hasher128 as _, SipHasher24};

use crate::config::exfiltration::ClientKey;

/// Longest token payload decoded for `jwt_sub`; larger ones key by IP.
const MAX_JWT_PAYLOAD: usize = 8 * 1024;

/// A client's keyed hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(pub [u8; 16]);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written into every store key, several times per request: one
        // write of 32 hex digits rather than 16 formatted bytes.
        let mut hex = [0u8; 32];
        hex::encode_to_slice(self.0, &mut hex).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl serde::Serialize for ClientId {
    /// As its `Display` (32 hex digits), written without a `String`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({self})")
    }
}

/// The hasher of every map keyed by [`BucketKey`]: keys hold a keyed hash
/// of the client, which no client can choose, so a fast hasher is safe
/// from collision floods.
pub(crate) type Hasher = foldhash::fast::RandomState;

/// A budget scope (`"_"` or a policy's name) as a number: bucket keys are
/// compared and hashed per request, so they hold this instead of the name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ScopeId(u32);

/// The scope names this process has seen, numbered in order of first use.
/// Never forgotten (a reload may bring a scope back, and counters kept
/// across reloads must find it): bounded by the scopes the configurations
/// named, a handful.
#[derive(Default)]
pub struct Scopes {
    names: RwLock<Vec<Arc<str>>>,
}

impl Scopes {
    /// The number of `name`, given on first use.
    pub fn intern(&self, name: &str) -> ScopeId {
        if let Some(id) = self.find(name) {
            return id;
        }
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        // Another caller may have added it between the two locks.
        if let Some(i) = names.iter().position(|n| **n == *name) {
            return ScopeId(i as u32);
        }
        names.push(name.into());
        ScopeId((names.len() - 1) as u32)
    }

    /// The number of `name`, if it was ever interned.
    pub fn find(&self, name: &str) -> Option<ScopeId> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        names.iter().position(|n| **n == *name).map(|i| ScopeId(i as u32))
    }

    /// Calls `f` with the name of `id` (empty for a number this table
    /// never gave), without cloning it.
    pub fn with_name<T>(&self, id: ScopeId, f: impl FnOnce(&str) -> T) -> T {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        f(names.get(id.0 as usize).map_or("", |n| n))
    }
}

/// One client's counters in one window bucket of one budget scope: the
/// name of a bucket in the local store and the mirror, fixed-size and
/// `Copy` so that a request's look-ups hash 40 bytes and allocate nothing.
/// The shared store's key is its [`BucketKey::redis_name`], formatted only
/// when a command is sent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BucketKey {
    pub scope: ScopeId,
    /// Part of the name so that a reload which changes the window never
    /// mixes buckets of different lengths.
    pub window_ms: u64,
    pub client: ClientId,
    pub bucket: u64,
}

/// One client's buckets in one budget scope and window length: what the
/// local store and the mirror key their entries by, so that a request's
/// two buckets (the previous and the current) are one look-up.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Series {
    pub scope: ScopeId,
    pub window_ms: u64,
    pub client: ClientId,
}

impl Series {
    /// Bucket `bucket` of this series.
    pub fn bucket(&self, bucket: u64) -> BucketKey {
        BucketKey { scope: self.scope, window_ms: self.window_ms, client: self.client, bucket }
    }
}

impl BucketKey {
    /// The series this bucket belongs to.
    pub fn series(&self) -> Series {
        Series { scope: self.scope, window_ms: self.window_ms, client: self.client }
    }

    /// Bucket `bucket` of client number `who` in a scope of its own (for
    /// the stores' tests).
    #[cfg(test)]
    pub(crate) fn for_tests(who: u64, bucket: u64) -> BucketKey {
        let scope = Scopes::default().intern("_");
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&who.to_le_bytes());
        BucketKey { scope, window_ms: 1000, client: ClientId(id), bucket }
    }

    /// `prefix` + `scope:window_ms:client:bucket`. Made for every key of
    /// every command sent (a charged client per response with a thousand
    /// clients), so written piece by piece rather than through `write!`.
    pub fn redis_name(&self, prefix: &str, scopes: &Scopes) -> String {
        let mut name = String::with_capacity(prefix.len() + 96);
        self.write_redis_name(prefix, scopes, &mut name);
        name
    }

    /// Appends the [`BucketKey::redis_name`] to `name` (the writer reuses
    /// one buffer for every key of a batch).
    pub fn write_redis_name(&self, prefix: &str, scopes: &Scopes, name: &mut String) {
        name.push_str(prefix);
        scopes.with_name(self.scope, |scope| name.push_str(scope));
        let mut digits = itoa::Buffer::new();
        name.push(':');
        name.push_str(digits.format(self.window_ms));
        name.push(':');
        let mut hex = [0u8; 32];
        // 16 bytes always fit 32 hex digits, which are ASCII.
        let _ = hex::encode_to_slice(self.client.0, &mut hex);
        name.push_str(std::str::from_utf8(&hex).unwrap_or_default());
        name.push(':');
        name.push_str(digits.format(self.bucket));
    }

    /// The key a [`BucketKey::redis_name`] was made from; `None` for a name
    /// without `prefix`, of another shape, or with a scope never interned.
    pub fn parse(name: &str, prefix: &str, scopes: &Scopes) -> Option<BucketKey> {
        let rest = name.strip_prefix(prefix)?;
        // From the right: a scope name may hold ':'.
        let mut parts = rest.rsplitn(4, ':');
        let bucket = parts.next()?.parse().ok()?;
        let client = parts.next()?;
        let window_ms = parts.next()?.parse().ok()?;
        let scope = scopes.find(parts.next()?)?;
        let mut id = [0u8; 16];
        hex::decode_to_slice(client, &mut id).ok()?;
        Some(BucketKey { scope, window_ms, client: ClientId(id), bucket })
    }
}

/// The keyed hash of a client's name: SipHash-2-4 with its 128-bit output,
/// a pseudorandom function made for short inputs, under a key derived
/// once per configuration from the configured hash key with HMAC-SHA256
/// (so a key of any length gives all 128 bits, and this use of it is kept
/// apart from the key's others). Computed for every request under a
/// budget: over a thousand 15-byte names on the benchmark VM, HMAC-SHA256
/// itself took about 145 ns per name (with the CPU's SHA extensions),
/// this about 31.
#[derive(Clone)]
pub struct Keyer {
    k0: u64,
    k1: u64,
}

impl Keyer {
    pub fn new(hmac_key: &[u8]) -> Keyer {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(hmac_key).expect("any key length");
        mac.update(b"leakwarden-exfil client key\0");
        let out = mac.finalize().into_bytes();
        let half = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&out[i..i + 8]);
            u64::from_le_bytes(b)
        };
        Keyer { k0: half(0), k1: half(8) }
    }

    /// The hash of the client `key` names in this request.
    pub fn identify(&self, key: &ClientKey, headers: &HeaderMap, peer: IpAddr) -> ClientId {
        use std::hash::Hasher as _;
        let jwt;
        let found: Option<(&[u8], &[u8])> = match key {
            ClientKey::ClientIp => None,
            ClientKey::Header(name) => headers
                .get(name)
                .map(|v| v.as_bytes())
                .filter(|v| !v.is_empty())
                .map(|v| (name.as_str().as_bytes(), v)),
            ClientKey::Cookie(name) => cookie(headers, name).map(|v| (name.as_bytes(), v)),
            ClientKey::JwtSub => {
                jwt = jwt_sub(headers);
                jwt.as_deref().map(|s| (&b"jwt_sub"[..], s.as_bytes()))
            }
        };
        // `write` appends bytes as they are (no length prefix): the source
        // names hold no NUL, so "source NUL value" reads back one way.
        let mut h = SipHasher24::new_with_keys(self.k0, self.k1);
        match found {
            Some((source, value)) => {
                h.write(source);
                h.write(b"\0");
                h.write(value);
            }
            None => {
                h.write(b"ip\0");
                // The address as text, written without allocating.
                let mut text = [0u8; 64];
                let mut w = &mut text[..];
                let _ = write!(w, "{peer}");
                let n = 64 - w.len();
                h.write(&text[..n]);
            }
        }
        ClientId(h.finish128().as_bytes())
    }
}

/// The hash of the client `key` names in this request, under `hmac_key`.
pub fn identify(key: &ClientKey, headers: &HeaderMap, peer: IpAddr, hmac_key: &[u8]) -> ClientId {
    Keyer::new(hmac_key).identify(key, headers, peer)
}

/// The value of cookie `name`, if the request carries it.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            Some((&pair[..eq], &pair[eq + 1..]))
        })
        .find(|(n, v)| *n == name.as_bytes() && !v.is_empty())
        .map(|(_, v)| v)
}

/// The `sub` claim of the request's bearer token (signature not verified:
/// see the module documentation).
fn jwt_sub(headers: &HeaderMap) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Claims {
        sub: String,
    }
    const B64: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let auth = headers.get(AUTHORIZATION)?.as_bytes();
    let (scheme, token) = auth.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let mut parts = token.trim_ascii().split(|&b| b == b'.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    if payload.len() > MAX_JWT_PAYLOAD {
        return None;
    }
    let claims: Claims = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    (!claims.sub.is_empty()).then_some(claims.sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef";

    #[test]
    fn a_client_id_is_shown_as_32_lowercase_hex_digits() {
        let mut id = [0u8; 16];
        id[0] = 0x01;
        id[1] = 0xab;
        id[15] = 0xf0;
        assert_eq!(ClientId(id).to_string(), format!("01ab{}f0", "00".repeat(13)));
        assert_eq!(format!("{:?}", ClientId(id)), format!("ClientId(01ab{}f0)", "00".repeat(13)));
        let json = serde_json::to_string(&ClientId(id)).unwrap();
        assert_eq!(json, format!("\"{}\"", ClientId(id)), "serialized as shown");
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(http::HeaderName::from_bytes(n.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    fn jwt(payload: &str) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("Bearer {}.{}.sig", b.encode(r#"{"alg":"HS256"}"#), b.encode(payload))
    }

    #[test]
    fn same_client_same_hash_and_fallback_to_the_ip() {
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        let by_ip = identify(&ClientKey::ClientIp, &HeaderMap::new(), ip, KEY);
        let header = ClientKey::Header(http::HeaderName::from_static("x-user"));
        let cookie = ClientKey::Cookie("sid".into());
        let cases: Vec<(ClientKey, HeaderMap, IpAddr, bool)> = vec![
            // (key, headers, peer, same hash as `by_ip`)
            (ClientKey::ClientIp, HeaderMap::new(), ip, true),
            (ClientKey::ClientIp, HeaderMap::new(), other, false),
            (header.clone(), headers(&[("x-user", "alice")]), ip, false),
            (header.clone(), HeaderMap::new(), ip, true),
            (header.clone(), headers(&[("x-user", "")]), ip, true),
            (cookie.clone(), headers(&[("cookie", "a=1; sid=xyz")]), ip, false),
            (cookie.clone(), headers(&[("cookie", "a=1; sidx=xyz")]), ip, true),
            (ClientKey::JwtSub, headers(&[("authorization", &jwt(r#"{"sub":"u1"}"#))]), ip, false),
            (ClientKey::JwtSub, headers(&[("authorization", &jwt(r#"{"nosub":1}"#))]), ip, true),
            (ClientKey::JwtSub, headers(&[("authorization", "Basic dTpw")]), ip, true),
            (ClientKey::JwtSub, headers(&[("authorization", "Bearer not-a-jwt")]), ip, true),
        ];
        for (i, (key, h, peer, same)) in cases.into_iter().enumerate() {
            let id = identify(&key, &h, peer, KEY);
            assert_eq!(id == by_ip, same, "case {i}");
        }
    }

    /// The hash is part of the shared store's format: replicas of one
    /// fleet must agree on it, so a change to it must be deliberate (and
    /// said in the changelog). The figures agree with a separate
    /// implementation (Python's `hmac` for the key, and a SipHash-2-4
    /// written from the paper that gives the reference vector for an empty
    /// message under key 00..0f).
    #[test]
    fn the_keyed_hash_is_stable() {
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let header = ClientKey::Header(http::HeaderName::from_static("x-user"));
        let cases = [
            (ClientKey::ClientIp, HeaderMap::new(), "ad8eb7fd71291b4ff15e9a053df5274b"),
            (header, headers(&[("x-user", "alice")]), "14ffa692ff62eade7f1ef0ab19ed1ef9"),
        ];
        for (key, h, want) in cases {
            assert_eq!(identify(&key, &h, peer, KEY).to_string(), want, "{key:?}");
        }
    }

    #[test]
    fn a_bucket_key_reads_back_from_its_redis_name() {
        let scopes = Scopes::default();
        let (under, api, odd) = (scopes.intern("_"), scopes.intern("api"), scopes.intern("a:b"));
        assert_eq!(scopes.intern("api"), api, "interned once");
        let mut id = [0u8; 16];
        id[3] = 0x5c;
        let key =
            |scope, bucket| BucketKey { scope, window_ms: 3_600_000, client: ClientId(id), bucket };
        for k in [key(under, 0), key(api, 493_017), key(odd, u64::MAX)] {
            let name = k.redis_name("lw:exfil:", &scopes);
            assert_eq!(BucketKey::parse(&name, "lw:exfil:", &scopes), Some(k), "{name}");
        }
        assert_eq!(
            key(api, 7).redis_name("p:", &scopes),
            format!("p:api:3600000:{}:7", ClientId(id)),
            "the documented layout"
        );
        let name = key(api, 7).redis_name("p:", &scopes);
        let cases = [
            ("q:api:3600000:00:7", "another prefix"),
            ("p:api:3600000:zz:7", "not hex"),
            ("p:api:7", "too few parts"),
            ("p:new:3600000:000000005c0000000000000000000000:7", "scope never interned"),
        ];
        for (other, why) in cases {
            assert_eq!(BucketKey::parse(other, "p:", &scopes), None, "{why}");
        }
        assert!(BucketKey::parse(&name, "p:", &Scopes::default()).is_none());
    }

    #[test]
    fn values_not_ips_decide_and_the_key_matters() {
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let jwt_u1 = headers(&[("authorization", &jwt(r#"{"sub":"u1","exp":1}"#))]);
        let jwt_u2 = headers(&[("authorization", &jwt(r#"{"sub":"u2"}"#))]);
        let k = ClientKey::JwtSub;
        // The same subject from two addresses is one client.
        assert_eq!(identify(&k, &jwt_u1, a, KEY), identify(&k, &jwt_u1, b, KEY));
        assert_ne!(identify(&k, &jwt_u1, a, KEY), identify(&k, &jwt_u2, a, KEY));
        assert_ne!(
            identify(&k, &jwt_u1, a, KEY),
            identify(&k, &jwt_u1, a, b"another-key-16-bytes")
        );
        // Shown as 32 hex digits, never the value.
        let shown = identify(&k, &jwt_u1, a, KEY).to_string();
        assert_eq!(shown.len(), 32);
        assert!(shown.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

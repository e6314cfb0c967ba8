//! Secrets found from a literal anchor (the aho-corasick automaton gives the
//! candidate site): AWS access key IDs, GitHub tokens, Stripe live keys,
//! Slack tokens, Google API keys, JWTs and PEM private keys.
//!
//! Each detector confirms the shape after its anchor and the word
//! boundaries on both sides.

use super::classes::{is_alnum, is_word, opt};
use super::view::{Hit, More, Probe, View};
use super::Kind;

/// The built-in anchors and what each one starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Secret {
    Aws,
    GithubClassic,
    GithubPat,
    Stripe,
    Slack,
    Google,
    Jwt,
    PemBegin,
}

pub(crate) const ANCHORS: &[(&str, Secret)] = &[
    ("AKIA", Secret::Aws),
    ("ASIA", Secret::Aws),
    ("ghp_", Secret::GithubClassic),
    ("gho_", Secret::GithubClassic),
    ("ghu_", Secret::GithubClassic),
    ("ghs_", Secret::GithubClassic),
    ("ghr_", Secret::GithubClassic),
    ("github_pat_", Secret::GithubPat),
    ("sk_live_", Secret::Stripe),
    ("rk_live_", Secret::Stripe),
    ("xoxa-", Secret::Slack),
    ("xoxb-", Secret::Slack),
    ("xoxp-", Secret::Slack),
    ("xoxr-", Secret::Slack),
    ("xoxs-", Secret::Slack),
    ("AIza", Secret::Google),
    ("eyJ", Secret::Jwt),
    ("-----BEGIN ", Secret::PemBegin),
];

impl Secret {
    pub(crate) fn kind(self) -> Kind {
        match self {
            Secret::Aws => Kind::AwsAccessKey,
            Secret::GithubClassic | Secret::GithubPat => Kind::GithubToken,
            Secret::Stripe => Kind::StripeKey,
            Secret::Slack => Kind::SlackToken,
            Secret::Google => Kind::GoogleApiKey,
            Secret::Jwt => Kind::Jwt,
            Secret::PemBegin => Kind::PrivateKey,
        }
    }
}

/// Longest JWT the scanner holds back to confirm whole. A longer token
/// whose JOSE header is confirmed is still reported: the scanner rewrites
/// its remainder as a stream (nothing held), so it never passes unmasked.
pub(crate) const MAX_JWT: usize = 8192;
const MAX_STRIPE: usize = 255;
const MAX_SLACK: usize = 255;
/// Longest `-----BEGIN ... PRIVATE KEY-----` / `-----END ...` line.
pub(crate) const MAX_PEM_LINE: usize = 72;

pub(crate) const LOOKAHEAD: usize = MAX_JWT + 2;

#[inline]
fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[inline]
fn is_upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

/// `prefix` then exactly `n` bytes of `f`, not glued on either side.
fn fixed(
    v: &View,
    p: usize,
    prefix: usize,
    n: usize,
    f: impl Fn(u8) -> bool + Copy,
    kind: Kind,
) -> Probe {
    if glued_before(v, p) {
        return Ok(None);
    }
    let (got, after) = v.run(p + prefix, n, f)?;
    if got != n || opt(after, |b| f(b) || is_word(b)) {
        return Ok(None);
    }
    Ok(Some(Hit { keep_prefix: prefix, ..Hit::new(kind, prefix + n) }))
}

/// Whether a token at `p` is glued to the token characters before it
/// (`[A-Za-z0-9_-]`, the widest alphabet of the prefixed tokens): then it is
/// the tail of a longer token, not one of its own. Were a token allowed to
/// start after `-` or `_`, it could start inside an earlier token that was
/// refused for running on (`AIza...--xoxr-...`), and masking it would end
/// that run and uncover the earlier one.
fn glued_before(v: &View, p: usize) -> bool {
    opt(v.before(p, 1), is_b64url)
}

/// `prefix` then `min..=max` bytes of `f`, not glued on either side.
fn ranged(
    v: &View,
    p: usize,
    prefix: usize,
    min: usize,
    max: usize,
    f: impl Fn(u8) -> bool,
    kind: Kind,
) -> Probe {
    if glued_before(v, p) {
        return Ok(None);
    }
    let (got, _) = v.run(p + prefix, max, f)?;
    if got < min || got > max {
        return Ok(None);
    }
    Ok(Some(Hit { keep_prefix: prefix, ..Hit::new(kind, prefix + got) }))
}

/// Confirms the secret whose anchor (of `anchor_len` bytes) starts at `p`.
pub(crate) fn detect(v: &View, p: usize, s: Secret, anchor_len: usize) -> Probe {
    let k = s.kind();
    match s {
        Secret::Aws => fixed(v, p, 4, 16, is_upper_digit, k),
        Secret::GithubClassic => fixed(v, p, 4, 36, |b| b.is_ascii_alphanumeric(), k),
        Secret::GithubPat => fixed(v, p, 11, 82, is_word, k),
        Secret::Stripe => {
            ranged(v, p, anchor_len, 24, MAX_STRIPE, |b| b.is_ascii_alphanumeric(), k)
        }
        Secret::Slack => ranged(v, p, anchor_len, 10, MAX_SLACK, |b| is_alnum(b) || b == b'-', k),
        Secret::Google => fixed(v, p, 4, 35, is_b64url, k),
        Secret::Jwt => jwt(v, p),
        Secret::PemBegin => pem_begin(v, p),
    }
}

fn jwt(v: &View, p: usize) -> Probe {
    if opt(v.before(p, 1), |b| is_b64url(b) || b == b'.') {
        return Ok(None);
    }
    let mut i = p;
    let mut seg_ends = [0usize; 3];
    for (n, end) in seg_ends.iter_mut().enumerate() {
        let cap = MAX_JWT.saturating_sub(i - p);
        let (len, after) = v.run(i, cap, is_b64url)?;
        if len > cap {
            // Too long to hold: past a verified header (and the start of a
            // JSON payload), the remainder of the token is streamed.
            let token = n >= 1
                && (n == 2 || v.buf[i..].starts_with(b"eyJ"))
                && header_has_alg(&v.buf[p..seg_ends[0]]);
            return Ok(token.then(|| Hit { stream: true, ..Hit::new(Kind::Jwt, i - p) }));
        }
        // Header and payload are JSON objects: base64url of `{"`.
        if n < 2 && (len < 4 || !v.buf[i..].starts_with(b"eyJ")) {
            return Ok(None);
        }
        i += len;
        *end = i;
        if n < 2 {
            if after != Some(b'.') {
                return Ok(None);
            }
            i += 1;
        } else if after == Some(b'.') && opt(v.at(i + 1)?, is_b64url) {
            // A fourth segment: not a JWT. A dot with no segment after it
            // ends a sentence (`... token eyJ...sig.`), not the token.
            return Ok(None);
        }
    }
    if !header_has_alg(&v.buf[p..seg_ends[0]]) {
        return Ok(None);
    }
    Ok(Some(Hit::new(Kind::Jwt, i - p)))
}

/// Decodes a base64url JOSE header and checks it is a JSON object with `alg`.
fn header_has_alg(seg: &[u8]) -> bool {
    if seg.len() > 1024 {
        return false;
    }
    let mut out = Vec::with_capacity(seg.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in seg {
        let val = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return false,
        };
        acc = (acc << 6) | u32::from(val);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&out)
        .is_ok_and(|m| m.contains_key("alg"))
}

/// `-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----`: the header only; the body is
/// consumed by the scanner's streaming PEM state.
fn pem_begin(v: &View, p: usize) -> Probe {
    pem_line(v, p, b"-----BEGIN ").map(|o| o.map(|len| Hit::new(Kind::PrivateKey, len)))
}

/// `-----END [A-Z0-9 ]*PRIVATE KEY-----` at `p`: its length.
pub(crate) fn pem_end(v: &View, p: usize) -> Result<Option<usize>, More> {
    pem_line(v, p, b"-----END ")
}

fn pem_line(v: &View, p: usize, head: &[u8]) -> Result<Option<usize>, More> {
    for (k, &h) in head.iter().enumerate() {
        if v.at(p + k)? != Some(h) {
            return Ok(None);
        }
    }
    let i = p + head.len();
    let (n, after) =
        v.run(i, MAX_PEM_LINE, |b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')?;
    if n > MAX_PEM_LINE || after != Some(b'-') || !v.buf[i..i + n].ends_with(b"PRIVATE KEY") {
        return Ok(None);
    }
    for k in 0..5 {
        if v.at(i + n + k)? != Some(b'-') {
            return Ok(None);
        }
    }
    Ok(Some(i + n + 5 - p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(s: &str, secret: Secret, anchor: &str) -> Option<usize> {
        let p = s.find(anchor).unwrap();
        let v = View { buf: s.as_bytes(), eof: true };
        detect(&v, p, secret, anchor.len()).unwrap().map(|h| h.len)
    }

    #[test]
    fn secrets_table() {
        use Secret::*;
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let cases: Vec<(String, Secret, &str, Option<usize>)> = vec![
            ("key=AKIA6HQS25BK3I6RNGX6;".into(), Aws, "AKIA", Some(20)),
            ("AKIA6HQS25BK3I6RNGX6X".into(), Aws, "AKIA", None),
            ("XAKIA6HQS25BK3I6RNGX6".into(), Aws, "AKIA", None),
            ("AKIA6hQS25BK3I6RNGX6".into(), Aws, "AKIA", None),
            ("ghp_DDMDVLjH3mhpr7sAhgnj0u0SrnAhIMYJeUO1".into(), GithubClassic, "ghp_", Some(40)),
            ("ghp_DDMDVLjH3mhpr7sAhgnj0u0SrnAhIMYJeUO".into(), GithubClassic, "ghp_", None),
            (format!("github_pat_{}", "a".repeat(82)), GithubPat, "github_pat_", Some(93)),
            ("sk_live_dHUlw55mNYeJtLfcOil0f4FV\"".into(), Stripe, "sk_live_", Some(32)),
            ("sk_live_short".into(), Stripe, "sk_live_", None),
            (
                "xoxb-399705713201-417992098102-vVQFrmHf4qri3PBTXbGOovxY".into(),
                Slack,
                "xoxb-",
                Some(55),
            ),
            ("AIzaDMqziEBMJ2jMdWFTB1ECgS_QPasmOSc8HUV".into(), Google, "AIza", Some(39)),
            ("AIzaDMqziEBMJ2jMdWFTB1ECgS_QPasmOSc8HU".into(), Google, "AIza", None),
            // Glued to a token's characters before it: the tail of a
            // longer token (and so not found inside one that runs on).
            ("k-AIzaDMqziEBMJ2jMdWFTB1ECgS_QPasmOSc8HUV".into(), Google, "AIza", None),
            ("AIza5555--xoxr-399705713201".into(), Slack, "xoxr-", None),
            ("k_AKIA6HQS25BK3I6RNGX6".into(), Aws, "AKIA", None),
            ("'xoxb-399705713201-417992098102'".into(), Slack, "xoxb-", Some(30)),
            (format!("Bearer {jwt} "), Jwt, "eyJ", Some(jwt.len())),
            ("eyJub3QiOiJqd3QifQ.eyJhIjoxfQ.sig".into(), Jwt, "eyJ", None),
            // A sentence's full stop after the token ends it; a fourth
            // segment makes it something else.
            (format!("token {jwt}."), Jwt, "eyJ", Some(jwt.len())),
            (format!("token {jwt}. Next"), Jwt, "eyJ", Some(jwt.len())),
            (format!("({jwt}.)"), Jwt, "eyJ", Some(jwt.len())),
            (format!("{jwt}.x"), Jwt, "eyJ", None),
            (format!("{jwt}.-"), Jwt, "eyJ", None),
            ("-----BEGIN RSA PRIVATE KEY-----\nMII".into(), PemBegin, "-----BEGIN ", Some(31)),
            ("-----BEGIN PRIVATE KEY-----".into(), PemBegin, "-----BEGIN ", Some(27)),
            ("-----BEGIN CERTIFICATE-----".into(), PemBegin, "-----BEGIN ", None),
            ("-----BEGIN PUBLIC KEY-----".into(), PemBegin, "-----BEGIN ", None),
        ];
        for (s, secret, anchor, want) in cases {
            assert_eq!(probe(&s, secret, anchor), want, "{s}");
        }
    }
}

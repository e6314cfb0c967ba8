//! Keyed fingerprints and `hash` tokens: HMAC-SHA256 over the kind name and
//! the normalized value.
//!
//! With no configured key the engine uses a random per-process key: the
//! fingerprints and tokens are then stable within one process only and do
//! not correlate across restarts or replicas.

use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{units, Fingerprint, Kind};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The configured key, or the per-process random key when it is empty.
pub(crate) fn effective_key(configured: &[u8]) -> Vec<u8> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    static RANDOM: OnceLock<[u8; 32]> = OnceLock::new();
    RANDOM
        .get_or_init(|| {
            let mut k = [0u8; 32];
            // Without OS randomness there is no safe key: fingerprints would
            // be guessable for low-entropy values such as card numbers.
            getrandom::getrandom(&mut k).expect("operating system random source unavailable");
            k
        })
        .to_vec()
}

/// A MAC ready to absorb the normalized value of `kind` (named `name`).
pub(crate) fn start(key: &[u8], name: &str) -> HmacSha256 {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(name.as_bytes());
    m.update(&[0]);
    m
}

pub(crate) fn finish(m: HmacSha256) -> [u8; 32] {
    m.finalize().into_bytes().into()
}

/// The first `cap` distinct fingerprints of a run of findings, and whether
/// another distinct one followed: what an audit line lists. A scanner with
/// [`Scanner::limit_fingerprints`](super::Scanner::limit_fingerprints)
/// keeps one to know when to stop making them, so it stops exactly where a
/// report's list of the same cap is truncated.
#[derive(Clone, Debug)]
pub struct FingerprintList {
    list: Vec<Fingerprint>,
    cap: usize,
    truncated: bool,
}

impl FingerprintList {
    pub fn new(cap: usize) -> FingerprintList {
        FingerprintList { list: Vec::new(), cap, truncated: false }
    }

    /// Notes a finding's fingerprint (`None`: the scanner made none, past
    /// its limit).
    pub fn add(&mut self, fingerprint: Option<Fingerprint>) {
        // Once the list is full and known to be truncated, nothing a
        // finding's fingerprint could do changes it: skip the search.
        let Some(fp) = fingerprint.filter(|_| !self.truncated) else { return };
        if !self.list.contains(&fp) {
            if self.list.len() < self.cap {
                self.list.push(fp);
            } else {
                self.truncated = true;
            }
        }
    }

    pub fn as_slice(&self) -> &[Fingerprint] {
        &self.list
    }

    /// True once a distinct fingerprint past the first `cap` was added.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

pub(crate) fn fingerprint(mac: &[u8; 32]) -> Fingerprint {
    let mut f = [0u8; 12];
    f.copy_from_slice(&mac[..12]);
    Fingerprint(f)
}

/// The normalized form a value is compared and fingerprinted by: digits
/// only for cards, SSNs and phones; uppercase without spaces for IBANs;
/// lowercase for emails; as is otherwise.
pub(crate) fn normalize(kind: Kind, raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match kind {
        // A value written with references, escapes or tags: its units.
        Kind::Card | Kind::Ssn | Kind::Phone if !units::plain(raw) => {
            units::normalize_digits(raw, out)
        }
        Kind::Iban if !units::plain(raw) => units::normalize_alnum(raw, out),
        Kind::Card | Kind::Ssn | Kind::Phone => {
            out.extend(raw.iter().filter(|b| b.is_ascii_digit()))
        }
        Kind::Iban => {
            out.extend(raw.iter().filter(|b| b.is_ascii_alphanumeric()).map(u8::to_ascii_uppercase))
        }
        Kind::Email => out.extend(raw.iter().map(u8::to_ascii_lowercase)),
        _ => out.extend_from_slice(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_stable() {
        let a = finish({
            let mut m = start(b"k1", "card");
            m.update(b"4111111111111111");
            m
        });
        let b = finish({
            let mut m = start(b"k1", "card");
            m.update(b"4111111111111111");
            m
        });
        let c = finish({
            let mut m = start(b"k2", "card");
            m.update(b"4111111111111111");
            m
        });
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(effective_key(b""), effective_key(b""));
        assert_eq!(effective_key(b"x"), b"x".to_vec());
    }

    /// The first `cap` distinct, in order; truncated only when
    /// another distinct one follows; a missing fingerprint changes nothing.
    #[test]
    fn fingerprint_list_keeps_the_first_distinct() {
        const CAP: usize = 32;
        let fp = |i: usize| Some(Fingerprint([i as u8; 12]));
        // (fingerprints added, listed, truncated)
        let cases: Vec<(Vec<Option<Fingerprint>>, usize, bool)> = vec![
            (vec![], 0, false),
            (vec![fp(1), fp(1), None, fp(2)], 2, false),
            ((0..CAP).map(fp).chain([fp(0), None]).collect(), CAP, false),
            ((0..=CAP).map(fp).collect(), CAP, true),
            ((0..CAP + 5).map(fp).chain([None]).collect(), CAP, true),
        ];
        for (added, listed, truncated) in cases {
            let mut l = FingerprintList::new(CAP);
            for f in &added {
                l.add(*f);
            }
            let what = format!("{} added", added.len());
            assert_eq!((l.as_slice().len(), l.truncated()), (listed, truncated), "{what}");
            let first: Vec<Fingerprint> = (0..listed).filter_map(fp).collect();
            if added.first() == Some(&fp(0)) {
                assert_eq!(l.as_slice(), first.as_slice(), "{what}");
            }
        }
    }

    #[test]
    fn normalization() {
        let mut o = Vec::new();
        normalize(Kind::Card, b"4111-1111 1111-1111", &mut o);
        assert_eq!(o, b"4111111111111111");
        normalize(Kind::Iban, b"gb82 west 1234", &mut o);
        assert_eq!(o, b"GB82WEST1234");
        normalize(Kind::Email, b"A@B.com", &mut o);
        assert_eq!(o, b"a@b.com");
    }
}

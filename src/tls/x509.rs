//! Just enough DER to read a certificate's validity period, so that an
//! expired (or not yet valid) certificate is a clear startup error instead
//! of a handshake failure every client reports differently.
//!
//! rustls checks signatures and names; it does not expose `notAfter`, and a
//! full X.509 parser would be a large dependency for two timestamps. This
//! walks the fixed prefix of `TBSCertificate` and nothing else. It never
//! panics on malformed input: every read is bounds-checked.

/// A certificate's validity window, as seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// `notBefore`.
    pub not_before: i64,
    /// `notAfter`.
    pub not_after: i64,
}

/// Reads the validity period of a DER certificate, or `None` when the
/// structure is not what RFC 5280 says it is.
pub fn validity(cert_der: &[u8]) -> Option<Validity> {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
    let (cert, _) = read_tlv(cert_der, 0x30)?;
    // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber,
    //   signature, issuer, validity, ... }
    let (tbs, _) = read_tlv(cert, 0x30)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = read_tlv(rest, 0xa0)?.1;
    }
    rest = read_tlv(rest, 0x02)?.1; // serialNumber
    rest = read_tlv(rest, 0x30)?.1; // signature AlgorithmIdentifier
    rest = read_tlv(rest, 0x30)?.1; // issuer Name
    let (validity, _) = read_tlv(rest, 0x30)?;
    let (not_before, after) = read_time(validity)?;
    let (not_after, _) = read_time(after)?;
    Some(Validity { not_before, not_after })
}

/// Formats epoch seconds as an RFC 3339 UTC timestamp for error messages.
pub fn format_time(epoch: i64) -> String {
    crate::clock::format_utc(epoch, None)
}

/// Reads one TLV with the expected tag; returns (contents, remainder).
fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *input.first()? != tag {
        return None;
    }
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((&input[header..end], &input[end..]))
}

/// Reads a UTCTime or GeneralizedTime (the only forms RFC 5280 allows:
/// `YYMMDDHHMMSSZ` / `YYYYMMDDHHMMSSZ`); returns (epoch seconds, remainder).
fn read_time(input: &[u8]) -> Option<(i64, &[u8])> {
    let tag = *input.first()?;
    let (body, rest) = read_tlv(input, tag)?;
    match (tag, body.len()) {
        (0x17, 13) | (0x18, 15) => {}
        _ => return None,
    }
    if body.last() != Some(&b'Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &b in body.get(range)? {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(b - b'0');
        }
        Some(v)
    };
    let (year, off) = if tag == 0x17 {
        // RFC 5280 4.1.2.5.1: YY >= 50 means 19YY, otherwise 20YY.
        let yy = num(0..2)?;
        (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
    } else {
        (num(0..4)?, 4)
    };
    let month = num(off..off + 2)?;
    let day = num(off + 2..off + 4)?;
    let hour = num(off + 4..off + 6)?;
    let min = num(off + 6..off + 8)?;
    let sec = num(off + 8..off + 10)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let days = crate::clock::days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + min * 60 + sec, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_with(not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["v.test".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_utc_and_generalized_times() {
        // rcgen writes UTCTime up to 2049 and GeneralizedTime from 2050 on.
        let der = cert_with((2001, 2, 3), (2070, 12, 31));
        let v = validity(&der).expect("parsable");
        assert_eq!(format_time(v.not_before), "2001-02-03T00:00:00Z");
        assert_eq!(format_time(v.not_after), "2070-12-31T00:00:00Z");
        let der = cert_with((1999, 12, 31), (2049, 1, 1));
        let v = validity(&der).unwrap();
        assert_eq!(format_time(v.not_before), "1999-12-31T00:00:00Z");
        assert_eq!(format_time(v.not_after), "2049-01-01T00:00:00Z");
    }

    #[test]
    fn formats_times() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn malformed_input_is_none_never_a_panic() {
        let der = cert_with((2020, 1, 1), (2030, 1, 1));
        for cut in 0..der.len() {
            // Truncations either fail or (past validity) still parse; never panic.
            let _ = validity(&der[..cut]);
        }
        assert_eq!(validity(&der[..40]), None);
        assert_eq!(validity(b""), None);
        assert_eq!(validity(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        let mut flipped = der.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0xff;
            let _ = validity(&flipped);
            flipped[i] ^= 0xff;
        }
    }
}

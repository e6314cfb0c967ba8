//! The card issuer table: every payment scheme with the IIN (issuer
//! identification number) ranges it issues from and the lengths of its
//! numbers. The one place a brand or a card length is decided; the card
//! detector and the seek's start tables are derived from it.
//!
//! Sources (checked 2026-12): the IIN table of Wikipedia's "Payment card
//! number" article (which cites each scheme's own documentation), ISO/IEC
//! 7812-1, and the test card numbers that processors publish (Stripe,
//! Adyen, Paystack, Nets, PayU, Cashfree, Zoho Payments), which the tests
//! below check against this
//! table. Where schemes share a range the more specific range comes first
//! (Elo's six-digit ranges inside Visa's 4); co-branded ranges are reported
//! as the network the table lists first.
//!
//! Never a raw number here: only prefixes.

use super::Brand;

/// An issued IIN range: numbers whose first `digits` digits lie in
/// `lo..=hi`, of one of the lengths in `lengths` (bit `n` for length `n`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range {
    pub lo: u32,
    pub hi: u32,
    pub digits: u8,
    pub brand: Brand,
    pub lengths: u32,
}

const fn lens(list: &[u8]) -> u32 {
    let mut m = 0;
    let mut i = 0;
    while i < list.len() {
        m |= 1 << list[i];
        i += 1;
    }
    m
}

const fn r(lo: u32, hi: u32, digits: u8, brand: Brand, lengths: u32) -> Range {
    Range { lo, hi, digits, brand, lengths }
}

const L16: u32 = lens(&[16]);
const L16_19: u32 = lens(&[16, 17, 18, 19]);

/// Every issued range, most specific first (the first match wins).
pub(crate) const RANGES: &[Range] = &[
    // Elo (Brazil): six-digit ranges inside Visa's and others. Elo's
    // 650xxx-655xxx ranges lie in Discover's 65, through which those cards
    // are accepted abroad: they are reported as Discover (the 65 entry).
    r(401178, 401179, 6, Brand::Elo, L16),
    r(431274, 431274, 6, Brand::Elo, L16),
    r(438935, 438935, 6, Brand::Elo, L16),
    r(451416, 451416, 6, Brand::Elo, L16),
    r(457393, 457393, 6, Brand::Elo, L16),
    r(457631, 457632, 6, Brand::Elo, L16),
    r(504175, 504175, 6, Brand::Elo, L16),
    r(506699, 506778, 6, Brand::Elo, L16),
    r(509000, 509999, 6, Brand::Elo, L16),
    r(627780, 627780, 6, Brand::Elo, L16),
    r(636297, 636297, 6, Brand::Elo, L16),
    r(636368, 636368, 6, Brand::Elo, L16),
    // Hipercard (Brazil).
    r(606282, 606282, 6, Brand::Hipercard, lens(&[16, 19])),
    r(384100, 384100, 6, Brand::Hipercard, lens(&[16, 19])),
    r(384140, 384140, 6, Brand::Hipercard, lens(&[16, 19])),
    r(384160, 384160, 6, Brand::Hipercard, lens(&[16, 19])),
    // Verve (Nigeria).
    // 506000-506098 too: Paystack's published Verve test number is 506066.
    r(506000, 506198, 6, Brand::Verve, lens(&[16, 18, 19])),
    r(507865, 507964, 6, Brand::Verve, lens(&[16, 18, 19])),
    r(650002, 650027, 6, Brand::Verve, lens(&[16, 18, 19])),
    // Maestro UK.
    r(676770, 676770, 6, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(676774, 676774, 6, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    // Co-branded UnionPay / Discover: reported as UnionPay, the issuer.
    r(622126, 622925, 6, Brand::UnionPay, L16_19),
    // Four-digit ranges.
    r(2200, 2204, 4, Brand::Mir, L16_19),
    r(2221, 2720, 4, Brand::Mastercard, L16),
    r(3528, 3589, 4, Brand::Jcb, L16_19),
    r(3095, 3095, 4, Brand::DinersClub, lens(&[14, 16, 17, 18, 19])),
    r(5018, 5018, 4, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(5019, 5019, 4, Brand::Dankort, L16),
    r(5020, 5020, 4, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(5038, 5038, 4, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(5893, 5893, 4, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(6011, 6011, 4, Brand::Discover, L16_19),
    r(6304, 6304, 4, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(6703, 6703, 4, Brand::Bancontact, lens(&[16, 17, 18, 19])),
    r(6759, 6759, 4, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(6761, 6763, 4, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(6799, 6799, 4, Brand::Maestro, lens(&[12, 13, 14, 15, 16, 17, 18, 19])),
    r(8100, 8171, 4, Brand::UnionPay, L16_19),
    r(9792, 9792, 4, Brand::Troy, L16),
    // Three-digit ranges.
    r(300, 305, 3, Brand::DinersClub, lens(&[14, 16, 17, 18, 19])),
    r(508, 508, 3, Brand::RuPay, L16),
    r(636, 636, 3, Brand::InterPayment, L16_19),
    r(637, 639, 3, Brand::InstaPayment, L16),
    r(644, 649, 3, Brand::Discover, L16_19),
    // Two-digit ranges.
    r(34, 34, 2, Brand::Amex, lens(&[15])),
    r(36, 36, 2, Brand::DinersClub, lens(&[14, 15, 16, 17, 18, 19])),
    r(37, 37, 2, Brand::Amex, lens(&[15])),
    r(38, 39, 2, Brand::DinersClub, lens(&[14, 16, 17, 18, 19])),
    r(51, 55, 2, Brand::Mastercard, L16),
    r(60, 60, 2, Brand::RuPay, L16),
    r(62, 62, 2, Brand::UnionPay, L16_19),
    // RuPay's cards in 65 are co-branded with Discover (Discover Global
    // Network), reported as Discover.
    r(65, 65, 2, Brand::Discover, L16_19),
    r(81, 82, 2, Brand::RuPay, L16),
    // One-digit ranges.
    r(1, 1, 1, Brand::Uatp, lens(&[15])),
    r(4, 4, 1, Brand::Visa, lens(&[13, 16, 19])),
];

fn prefix(d: &[u8], k: usize) -> u32 {
    d[..k].iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0'))
}

/// Per two-digit prefix, the lengths (bit `n` for length `n`) some range
/// starting with it issues: most digit runs are ruled out by this one load
/// before the table is walked.
static BY_PREFIX2: [u32; 100] = {
    let mut t = [0u32; 100];
    let mut i = 0;
    while i < RANGES.len() {
        let r = RANGES[i];
        let (lo, hi) = if r.digits == 1 {
            (r.lo * 10, r.hi * 10 + 9)
        } else {
            let div = 10u32.pow(r.digits as u32 - 2);
            (r.lo / div, r.hi / div)
        };
        let mut p = lo;
        while p <= hi {
            t[p as usize] |= r.lengths;
            p += 1;
        }
        i += 1;
    }
    t
};

/// Whether some range may issue a number of this length with these first
/// two digits (a superset of [`lookup`], from one table load).
#[inline]
pub(crate) fn may_issue(d: &[u8]) -> bool {
    d.len() < 32 && BY_PREFIX2[prefix(d, 2) as usize] >> d.len() & 1 == 1
}

/// The issued range of a card number (ASCII digits), when its prefix lies
/// in one and its length is one of that range's.
pub(crate) fn lookup(d: &[u8]) -> Option<&'static Range> {
    let n = d.len();
    if !(12..=19).contains(&n) || !may_issue(d) {
        return None;
    }
    // Divisors that cut a six-digit prefix to 0..=6 digits.
    const DIV: [u32; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    let p6 = prefix(d, 6);
    RANGES.iter().find(|r| {
        let p = p6 / DIV[usize::from(r.digits)];
        (r.lo..=r.hi).contains(&p) && r.lengths >> n & 1 == 1
    })
}

/// Per length (below 20), the first digits (bit `d` for digit `d`) some
/// range issues numbers of that length with.
pub(crate) const fn first_digits() -> [u16; 20] {
    let mut t = [0u16; 20];
    let mut i = 0;
    while i < RANGES.len() {
        let r = RANGES[i];
        let mut first = r.lo;
        while first >= 10 {
            first /= 10;
        }
        let mut last = r.hi;
        while last >= 10 {
            last /= 10;
        }
        let mut n = 0;
        while n < 20 {
            if r.lengths >> n & 1 == 1 {
                let mut f = first;
                while f <= last {
                    t[n] |= 1 << f;
                    f += 1;
                }
            }
            n += 1;
        }
        i += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::validate::luhn;

    /// Test card numbers that payment processors publish for their
    /// sandboxes (Stripe, Adyen, Paystack, Nets, PayU, Cashfree, Zoho
    /// Payments), each with the brand
    /// the processor gives it: every one is in an issued range of its
    /// length, and Luhn-valid (which catches a mistyped entry here).
    const PUBLISHED: &[(&str, Brand)] = &[
        ("4242424242424242", Brand::Visa),
        ("4000056655665556", Brand::Visa),
        ("4222222222222", Brand::Visa),
        ("5555555555554444", Brand::Mastercard),
        ("2223003122003222", Brand::Mastercard),
        ("5200828282828210", Brand::Mastercard),
        ("2308880000000000", Brand::Mastercard),
        ("378282246310005", Brand::Amex),
        ("371449635398431", Brand::Amex),
        ("6011111111111117", Brand::Discover),
        ("6011000990139424", Brand::Discover),
        ("3056930009020004", Brand::DinersClub),
        ("36227206271667", Brand::DinersClub),
        ("3566002020360505", Brand::Jcb),
        ("6200000000000005", Brand::UnionPay),
        ("6205500000000000004", Brand::UnionPay),
        ("6243030000000001", Brand::UnionPay),
        ("8171999927660000", Brand::UnionPay),
        ("8171999900000000021", Brand::UnionPay),
        ("6759649826438453", Brand::Maestro),
        ("6799998900000099990", Brand::Maestro),
        ("2200000000000004", Brand::Mir),
        ("6703444444444449", Brand::Bancontact),
        ("5066991111111118", Brand::Elo),
        ("6062828888666688", Brand::Hipercard),
        ("6062826786276634", Brand::Hipercard),
        ("9792030394440796", Brand::Troy),
        ("5019717010103742", Brand::Dankort),
        ("5060666666666666666", Brand::Verve),
        ("135410014004955", Brand::Uatp),
        ("6370950000000005", Brand::InstaPayment),
        // RuPay: PayU's, Cashfree's and Zoho Payments' sandbox numbers.
        ("6082015309577308", Brand::RuPay),
        ("6074825972083818", Brand::RuPay),
        ("6074828163369590", Brand::RuPay),
        ("6071489876543212", Brand::RuPay),
    ];

    #[test]
    fn published_test_numbers_are_issued() {
        for &(n, brand) in PUBLISHED {
            assert!(luhn(n.as_bytes()), "{n}: not Luhn-valid");
            assert_eq!(lookup(n.as_bytes()).map(|r| r.brand), Some(brand), "{n}");
        }
    }

    /// Every scheme issue 16 names has ranges in the table.
    #[test]
    fn every_named_scheme_has_a_range() {
        use Brand::*;
        for b in [
            Visa,
            Mastercard,
            Amex,
            Discover,
            Jcb,
            DinersClub,
            UnionPay,
            Maestro,
            Mir,
            RuPay,
            Elo,
            Hipercard,
            Troy,
            Verve,
            Dankort,
            Bancontact,
            Uatp,
            InstaPayment,
            InterPayment,
        ] {
            assert!(RANGES.iter().any(|r| r.brand == b), "{b:?}");
        }
    }

    /// A Luhn-valid number of `len` digits starting with `prefix`.
    fn number(prefix: &str, len: usize) -> String {
        let mut s = format!("{prefix}{}", "0".repeat(len - 1 - prefix.len()));
        let sum: u32 = s
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 0 {
                    if d * 2 > 9 {
                        d * 2 - 9
                    } else {
                        d * 2
                    }
                } else {
                    d
                }
            })
            .sum();
        s.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
        s
    }

    /// The ranges issue 16 lists are cards of their lengths (co-branded
    /// ones under the network listed first: RuPay's 65 as Discover, its
    /// 8100-8171 as UnionPay's 81).
    #[test]
    fn named_ranges_are_cards() {
        use Brand::*;
        let cases: &[(&str, usize, Brand)] = &[
            ("81", 16, UnionPay),
            ("81", 19, UnionPay),
            ("8172", 16, RuPay),
            ("82", 16, RuPay),
            ("60", 16, RuPay),
            ("508", 16, RuPay),
            ("65", 16, Discover),
            ("9792", 16, Troy),
            ("5019", 16, Dankort),
            ("506099", 16, Verve),
            ("6703", 16, Bancontact),
            ("636", 16, InterPayment),
            ("637", 16, InstaPayment),
            ("1", 15, Uatp),
            ("2200", 16, Mir),
            ("2221", 16, Mastercard),
            ("6759", 12, Maestro),
            ("606282", 19, Hipercard),
            ("509000", 16, Elo),
        ];
        for &(prefix, len, brand) in cases {
            let n = number(prefix, len);
            assert!(luhn(n.as_bytes()));
            assert_eq!(lookup(n.as_bytes()).map(|r| r.brand), Some(brand), "{prefix} at {len}");
        }
    }

    /// Lengths outside a scheme's, and prefixes no scheme issues from.
    #[test]
    fn unissued_shapes() {
        for n in ["41111111111111110", "3782822463100050", "9999999999999995", "7000000000000000"] {
            assert!(lookup(n.as_bytes()).is_none(), "{n}");
        }
    }

    /// The two-digit filter never rules out a published number.
    #[test]
    fn prefix_filter_keeps_every_published_number() {
        for &(n, _) in PUBLISHED {
            assert!(may_issue(n.as_bytes()), "{n}");
        }
        assert!(!may_issue(b"9999999999999995"));
    }

    /// The start table covers every range: a number of every issued length
    /// from every range has its first digit there.
    #[test]
    fn first_digits_cover_every_range() {
        let t = first_digits();
        for r in RANGES {
            let first = r.lo / 10u32.pow(u32::from(r.digits) - 1);
            for (n, digits) in t.iter().enumerate().skip(12) {
                if r.lengths >> n & 1 == 1 {
                    assert!(digits >> first & 1 == 1, "{:?} length {n}", r.brand);
                }
            }
        }
    }
}

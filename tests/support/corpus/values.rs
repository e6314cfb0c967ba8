//! What the corpus plants: one row per shape of value, positives (a kind
//! the engine must report) and hard negatives (decoys it must leave alone).
//!
//! A row makes the value's text from the random source. Positives are built
//! from public rules (issuer ranges and lengths, Luhn, ISO 13616 check
//! digits, the SSA's SSN rules, each vendor's key format), never by asking
//! the engine. To add a kind or a decoy, add a row; the documents, labels
//! and scores follow.

use super::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Pii,
    Decoy,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Pii => "pii",
            Class::Decoy => "decoy",
        }
    }
}

/// A planted value before it is written into a document.
#[derive(Clone, Debug)]
pub struct Value {
    pub class: Class,
    /// The engine's kind name (positives) or the decoy's name.
    pub kind: &'static str,
    /// The row that made it.
    pub shape: &'static str,
    /// The value as a program prints it (no document escaping).
    pub text: String,
    /// Card brand, in the engine's names.
    pub brand: Option<&'static str>,
    /// Written right before the value in the same field: a keyword a rule
    /// needs (`SSN: `), or a neutral word for a decoy whose shape is
    /// ambiguous (`ref `). Not part of the label's span.
    pub lead: &'static str,
    /// Only digits: a JSON document may write it as a bare number.
    pub number: bool,
    /// Spans several lines (a PEM block).
    pub multiline: bool,
}

/// One generator row.
pub struct Shape {
    pub name: &'static str,
    pub class: Class,
    pub kind: &'static str,
    /// Relative frequency within its class.
    pub weight: usize,
    pub make: fn(&mut Rng) -> Made,
}

/// What a row makes: the text and what goes with it.
pub struct Made {
    pub text: String,
    pub brand: Option<&'static str>,
    pub lead: &'static str,
}

fn made(text: String) -> Made {
    Made { text, brand: None, lead: "" }
}

fn led(lead: &'static str, text: String) -> Made {
    Made { text, brand: None, lead }
}

impl Shape {
    pub fn make(&self, rng: &mut Rng) -> Value {
        let m = (self.make)(rng);
        Value {
            class: self.class,
            kind: self.kind,
            shape: self.name,
            number: !m.text.is_empty() && m.text.bytes().all(|b| b.is_ascii_digit()),
            multiline: m.text.contains('\n'),
            text: m.text,
            brand: m.brand,
            lead: m.lead,
        }
    }
}

/// A row drawn by weight from `rows`.
pub fn pick<'a>(rng: &mut Rng, rows: &'a [Shape]) -> &'a Shape {
    rng.weighted(rows, |r| r.weight)
}

const DIGITS: &[u8] = b"0123456789";
const NONZERO: &[u8] = b"123456789";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const UPPER_DIGIT: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789abcdef";

// ------------------------------------------------------------------ cards

/// Issuer ranges and lengths (the brands' published IIN tables), with the
/// engine's brand names.
const ISSUERS: &[(&str, &[&str], &[usize])] = &[
    ("visa", &["4"], &[13, 16, 16, 16, 19]),
    ("mastercard", &["51", "52", "53", "54", "55", "2221", "2500", "2720"], &[16]),
    ("amex", &["34", "37"], &[15]),
    ("discover", &["6011", "644", "649", "65"], &[16, 19]),
    ("jcb", &["3528", "3550", "3589"], &[16, 19]),
    ("diners", &["300", "305", "36", "38", "39"], &[14, 16]),
    ("unionpay", &["62"], &[16, 19]),
    (
        "maestro",
        &["5018", "5020", "5038", "5893", "6304", "6759", "6761", "6763"],
        &[12, 13, 15, 16, 19],
    ),
    ("mir", &["2200", "2204"], &[16, 19]),
];

/// The Luhn check digit for `body` (ASCII digits).
pub fn luhn_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// A Luhn-valid number of `len` digits starting with `prefix`.
fn luhn_number(rng: &mut Rng, prefix: &str, len: usize) -> String {
    let mut s = prefix.to_string();
    s.push_str(&rng.string(DIGITS, len - 1 - prefix.len()));
    let c = luhn_digit(&s);
    s.push(char::from(c));
    s
}

/// Card digits and brand from a random issuer.
fn card_digits(rng: &mut Rng) -> (String, &'static str) {
    let (brand, prefixes, lens) = *rng.pick(ISSUERS);
    let (prefix, len) = (*rng.pick(prefixes), *rng.pick(lens));
    (luhn_number(rng, prefix, len), brand)
}

/// The printed groups of a card of `len` digits: 4-6-5 (Amex), 4-6-4
/// (Diners), otherwise fours and a shorter last group.
fn card_groups(brand: &str, len: usize) -> Vec<usize> {
    match (brand, len) {
        ("amex", 15) => vec![4, 6, 5],
        ("diners", 14) => vec![4, 6, 4],
        _ => {
            let mut g = vec![4; len / 4];
            if !len.is_multiple_of(4) {
                g.push(len % 4);
            }
            g
        }
    }
}

fn grouped(digits: &str, groups: &[usize], sep: char) -> String {
    let mut out = String::new();
    let mut i = 0;
    for (k, g) in groups.iter().enumerate() {
        if k > 0 {
            out.push(sep);
        }
        out.push_str(&digits[i..i + g]);
        i += g;
    }
    out
}

fn card_contiguous(rng: &mut Rng) -> Made {
    loop {
        let (d, brand) = card_digits(rng);
        // A contiguous 19-digit run is also the shape of a 64-bit ID: its
        // own row (with card context) below.
        if d.len() < 19 {
            return Made { text: d, brand: Some(brand), lead: "" };
        }
    }
}

fn card_grouped(rng: &mut Rng) -> Made {
    loop {
        let (d, brand) = card_digits(rng);
        // 12 digits are never printed in groups.
        if d.len() == 12 {
            continue;
        }
        let sep = if rng.chance(60) { ' ' } else { '-' };
        let text = grouped(&d, &card_groups(brand, d.len()), sep);
        return Made { text, brand: Some(brand), lead: "" };
    }
}

fn card_19_with_context(rng: &mut Rng) -> Made {
    loop {
        let (d, brand) = card_digits(rng);
        if d.len() == 19 && brand != "visa" {
            let lead = *rng.pick(&["card number ", "Card: ", "credit card ", "PAN "]);
            return Made { text: d, brand: Some(brand), lead };
        }
    }
}

// ------------------------------------------------------------------- SSNs

/// Area, group and serial within the SSA's rules.
fn ssn_parts(rng: &mut Rng) -> (String, String, String) {
    let area = loop {
        let a = rng.range(1, 899);
        if a != 666 {
            break a;
        }
    };
    (format!("{area:03}"), format!("{:02}", rng.range(1, 99)), format!("{:04}", rng.range(1, 9999)))
}

fn ssn_dashed(rng: &mut Rng) -> Made {
    let (a, g, s) = ssn_parts(rng);
    let sep = if rng.chance(75) { '-' } else { ' ' };
    made(format!("{a}{sep}{g}{sep}{s}"))
}

fn ssn_keyword(rng: &mut Rng) -> Made {
    let (a, g, s) = ssn_parts(rng);
    let lead = *rng.pick(&[
        "SSN: ",
        "ssn ",
        "SSN ",
        "Social Security number ",
        "soc sec no. ",
        "taxpayer number ",
        "tax id: ",
        "SS# ",
    ]);
    led(lead, format!("{a}{g}{s}"))
}

// ------------------------------------------------------------------ IBANs

/// BBAN layouts (ISO 13616 registry): `n` digit, `a` capital, `c` either.
const IBAN_LAYOUTS: &[(&str, &str)] = &[
    ("DE", "n18"),
    ("GB", "a4n14"),
    ("FR", "n10c11n2"),
    ("NL", "a4n10"),
    ("ES", "n20"),
    ("IT", "a1n10c12"),
    ("BE", "n12"),
    ("CH", "n5c12"),
    ("AT", "n16"),
    ("PL", "n24"),
    ("SE", "n20"),
    ("NO", "n11"),
    ("PT", "n21"),
    ("IE", "a4n14"),
    ("DK", "n14"),
    ("LU", "n3c13"),
    ("BR", "n23a1c1"),
    ("SA", "n2c18"),
];

/// ISO 7064 mod 97-10 of an alphanumeric string (A = 10 ... Z = 35).
fn mod97(s: &str) -> u32 {
    s.bytes().fold(0u32, |acc, b| {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        if v >= 10 {
            (acc * 100 + v) % 97
        } else {
            (acc * 10 + v) % 97
        }
    })
}

/// A valid IBAN (compact) of a random listed country.
fn iban_compact(rng: &mut Rng) -> String {
    let (cc, layout) = *rng.pick(IBAN_LAYOUTS);
    let mut bban = String::new();
    let b = layout.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let class = b[i];
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let n: usize = layout[i + 1..j].parse().expect("layout count");
        let alphabet = match class {
            b'n' => DIGITS,
            b'a' => UPPER,
            _ => UPPER_DIGIT,
        };
        bban.push_str(&rng.string(alphabet, n));
        i = j;
    }
    let check = 98 - mod97(&format!("{bban}{cc}00"));
    format!("{cc}{check:02}{bban}")
}

fn iban_printed(s: &str) -> String {
    let groups: Vec<&str> =
        s.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).expect("ASCII")).collect();
    groups.join(" ")
}

fn iban(rng: &mut Rng) -> Made {
    let s = iban_compact(rng);
    made(if rng.chance(50) { iban_printed(&s) } else { s })
}

// ----------------------------------------------------------------- phones

fn nanp(rng: &mut Rng) -> (String, String, String) {
    (rng.digits(b"23456789", 3), rng.digits(b"23456789", 3), rng.string(DIGITS, 4))
}

fn phone(rng: &mut Rng) -> Made {
    let (a, b, c) = nanp(rng);
    let mut s = match rng.below(12) {
        // German notation, a `/` after the area code (with its 0).
        9 => format!("0{}/{}", rng.digits(NONZERO, 2), rng.digits(NONZERO, 7)),
        10 => format!(
            "0{}/{} {}",
            rng.digits(NONZERO, 3),
            rng.string(DIGITS, 3),
            rng.string(DIGITS, 4)
        ),
        11 => format!(
            "+49 {}/{} {}",
            rng.digits(NONZERO, 2),
            rng.string(DIGITS, 3),
            rng.string(DIGITS, 4)
        ),
        0 => format!("+1-{a}-{b}-{c}"),
        1 => format!("+1 {a} {b} {c}"),
        2 => format!("+44 20 {} {}", rng.string(DIGITS, 4), rng.string(DIGITS, 4)),
        3 => format!("+49 30 {}", rng.digits(NONZERO, 8)),
        4 => format!("({a}) {b}-{c}"),
        5 => format!("{a}-{b}-{c}"),
        6 => format!("{a}.{b}.{c}"),
        7 => format!("1-{a}-{b}-{c}"),
        _ => format!("+1{a}{b}{c}"),
    };
    if rng.chance(15) {
        let n = rng.range(2, 4);
        s.push_str(&format!("x{}", rng.digits(NONZERO, n)));
    }
    made(s)
}

// ----------------------------------------------------------------- emails

pub const FIRST_NAMES: &[&str] = &[
    "olivia", "liam", "emma", "noah", "ava", "mateo", "sofia", "lucas", "mia", "hugo", "lena",
    "omar", "yuki", "anna", "ravi", "chloe", "jonas", "ines", "marta", "tomas",
];
pub const LAST_NAMES: &[&str] = &[
    "garcia", "smith", "nguyen", "muller", "rossi", "kowalski", "tanaka", "silva", "dubois",
    "jensen", "novak", "haddad", "okafor", "larsen", "moreau", "weber", "costa", "ivanova",
];

fn email(rng: &mut Rng) -> Made {
    let (f, l) = (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES));
    let local = match rng.below(4) {
        0 => format!("{f}.{l}"),
        1 => format!("{f}{}", rng.range(1, 99)),
        2 => format!("{}_{l}", &f[..1]),
        _ => format!("{f}+news"),
    };
    let domain = *rng.pick(&["example.com", "example.org", "mail.example.net", "example.co.uk"]);
    made(format!("{local}@{domain}"))
}

// ---------------------------------------------------------------- secrets

fn aws(rng: &mut Rng) -> Made {
    let p = *rng.pick(&["AKIA", "ASIA"]);
    made(format!("{p}{}", rng.string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)))
}

fn github(rng: &mut Rng) -> Made {
    if rng.chance(25) {
        return made(format!("github_pat_{}_{}", rng.string(ALNUM, 22), rng.string(ALNUM, 59)));
    }
    let p = *rng.pick(&["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]);
    made(format!("{p}{}", rng.string(ALNUM, 36)))
}

fn stripe(rng: &mut Rng) -> Made {
    let p = *rng.pick(&["sk_live_", "rk_live_"]);
    let n = *rng.pick(&[24, 34, 99]);
    made(format!("{p}{}", rng.string(ALNUM, n)))
}

fn slack(rng: &mut Rng) -> Made {
    let p = *rng.pick(&["xoxb-", "xoxp-", "xoxa-"]);
    made(format!(
        "{p}{}-{}-{}",
        rng.digits(NONZERO, 12),
        rng.digits(NONZERO, 13),
        rng.string(ALNUM, 24)
    ))
}

fn google(rng: &mut Rng) -> Made {
    made(format!("AIza{}", rng.string(B64URL, 35)))
}

/// Unpadded base64url.
pub fn b64url(data: &[u8]) -> String {
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = c.iter().enumerate().fold(0u32, |a, (i, &b)| a | u32::from(b) << (16 - 8 * i));
        for i in 0..=c.len() {
            out.push(char::from(B64URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn jwt_with(rng: &mut Rng, header: &str) -> String {
    let payload = format!(
        "{{\"sub\":\"{}\",\"name\":\"{}\",\"iat\":{}}}",
        rng.digits(NONZERO, 10),
        rng.pick(FIRST_NAMES),
        rng.digits(b"1", 10)
    );
    format!(
        "{}.{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes()),
        rng.string(B64URL, 43)
    )
}

fn jwt(rng: &mut Rng) -> Made {
    let alg = *rng.pick(&["HS256", "RS256", "ES256"]);
    let header = if rng.chance(50) {
        format!("{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}")
    } else {
        format!("{{\"typ\":\"JWT\",\"alg\":\"{alg}\"}}")
    };
    let lead = if rng.chance(30) { "Bearer " } else { "" };
    led(lead, jwt_with(rng, &header))
}

fn pem_block(rng: &mut Rng, label: &str) -> String {
    let mut s = format!("-----BEGIN {label}-----\n");
    for _ in 0..rng.range(3, 10) {
        s.push_str(&rng.string(B64, 64));
        s.push('\n');
    }
    let n = rng.range(8, 60);
    s.push_str(&rng.string(B64, n));
    s.push_str("==\n");
    s.push_str(&format!("-----END {label}-----"));
    s
}

fn private_key(rng: &mut Rng) -> Made {
    let label = *rng.pick(&[
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
    ]);
    made(pem_block(rng, label))
}

// ------------------------------------------------------------------ decoys

fn luhn_bad(rng: &mut Rng) -> Made {
    let (d, brand) = card_digits(rng);
    let mut b = d.into_bytes();
    let last = b.len() - 1;
    b[last] = b'0' + (b[last] - b'0' + rng.range(1, 9) as u8) % 10;
    let d = String::from_utf8(b).expect("digits");
    let g = card_groups(brand, d.len());
    // A short last group is one the engine may drop to find a card in the
    // groups before it (issue 14, "a card next to another digit group"):
    // such a number is no decoy, so it is written contiguous.
    let short_tail = g.last().is_some_and(|&n| n < 4);
    if rng.chance(50) || d.len() == 12 || short_tail {
        made(d)
    } else {
        made(grouped(&d, &g, ' '))
    }
}

fn epoch_ms(rng: &mut Rng) -> Made {
    made(format!("1{}", rng.string(DIGITS, 12)))
}

fn epoch_s(rng: &mut Rng) -> Made {
    made(format!("1{}", rng.string(DIGITS, 9)))
}

fn timestamp(rng: &mut Rng) -> Made {
    let (y, mo, d) = (rng.range(1990, 2030), rng.range(1, 12), rng.range(1, 28));
    let (h, mi, s) = (rng.range(0, 23), rng.range(0, 59), rng.range(0, 59));
    made(match rng.below(4) {
        0 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        1 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}+02:00", rng.below(999_999)),
        2 => format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
        _ => format!("{d:02}/{mo:02}/{y}"),
    })
}

fn snowflake(rng: &mut Rng) -> Made {
    made(rng.digits(NONZERO, 18))
}

/// A 19-digit ID: the width of a signed 64-bit integer, outside every
/// issuer range.
fn id19(rng: &mut Rng) -> Made {
    let lead = *rng.pick(&["id ", "order_id ", "trace "]);
    led(lead, rng.digits(b"1789", 19))
}

/// A 20-24 digit run with a valid card inside it.
fn long_run(rng: &mut Rng) -> Made {
    let (d, _) = card_digits(rng);
    let pad = rng.range(20, 24) - d.len();
    let cut = rng.below(pad + 1);
    made(format!("{}{d}{}", rng.string(DIGITS, cut), rng.string(DIGITS, pad - cut)))
}

/// A valid card glued to a word or inside a decimal number.
fn card_glued(rng: &mut Rng) -> Made {
    let (d, _) = card_digits(rng);
    made(match rng.below(4) {
        0 => format!("ord_{d}"),
        1 => format!("tok{d}"),
        2 => format!("{d}abc"),
        _ => format!("0.{d}"),
    })
}

/// Luhn-valid but of no card length (17 digits) or of no issuer: 16 digits
/// after a first digit no scheme issues at that length (UATP's 1 is 15
/// digits; 8 and 9 hold UnionPay, RuPay and Troy ranges, see
/// src/detect/issuers.rs).
fn card_no_issuer(rng: &mut Rng) -> Made {
    if rng.chance(50) {
        made(luhn_number(rng, "4", 17))
    } else {
        let first = *rng.pick(&["1", "7"]);
        made(luhn_number(rng, first, 16))
    }
}

fn isbn(rng: &mut Rng) -> Made {
    let body = format!("978{}", rng.string(DIGITS, 9));
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    let c = (10 - sum % 10) % 10;
    made(match rng.below(3) {
        0 => format!("978-{}-{}-{}-{c}", &body[3..4], &body[4..6], &body[6..]),
        1 => format!("ISBN {}-{}{c}", &body[..3], &body[3..]),
        _ => format!("{body}{c}"),
    })
}

fn price(rng: &mut Rng) -> Made {
    let (u, c) = (rng.range(1, 99_999), rng.below(100));
    made(match rng.below(4) {
        0 => format!("${},{:03}.{c:02}", u / 1000 + 1, u % 1000),
        1 => format!("{u}.{c:02} EUR"),
        2 => format!("USD {u}.{c:02}"),
        _ => format!("{u}.{c:02}"),
    })
}

fn version(rng: &mut Rng) -> Made {
    made(format!("v{}.{}.{}", rng.range(0, 20), rng.range(0, 40), rng.range(0, 999)))
}

fn ip(rng: &mut Rng) -> Made {
    made(format!(
        "{}.{}.{}.{}",
        rng.range(1, 223),
        rng.range(0, 255),
        rng.range(0, 255),
        rng.range(1, 254)
    ))
}

/// A random (version-less) UUID in its canonical text form.
pub fn uuid_text(rng: &mut Rng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        rng.string(HEX, 8),
        rng.string(HEX, 4),
        rng.string(HEX, 4),
        rng.string(HEX, 4),
        rng.string(HEX, 12)
    )
}

fn uuid(rng: &mut Rng) -> Made {
    made(uuid_text(rng))
}

fn sha(rng: &mut Rng) -> Made {
    let n = *rng.pick(&[40, 64]);
    made(rng.string(HEX, n))
}

fn ssn_bad(rng: &mut Rng) -> Made {
    let (a, g, s) = ssn_parts(rng);
    made(match rng.below(5) {
        0 => format!("000-{g}-{s}"),
        1 => format!("666-{g}-{s}"),
        2 => format!("9{}-{g}-{s}", rng.string(DIGITS, 2)),
        3 => format!("{a}-00-{s}"),
        _ => format!("{a}-{g}-0000"),
    })
}

/// Nine bare digits with no SSN keyword near: a reference, not an SSN.
fn ssn_no_keyword(rng: &mut Rng) -> Made {
    let (a, g, s) = ssn_parts(rng);
    let lead = *rng.pick(&["ref ", "#", "code "]);
    led(lead, format!("{a}{g}{s}"))
}

fn iban_bad(rng: &mut Rng) -> Made {
    let mut b = iban_compact(rng).into_bytes();
    // One check digit off: the mod-97 remainder moves by 1 or 9.
    b[3] = b'0' + (b[3] - b'0' + 1) % 10;
    let s = String::from_utf8(b).expect("ASCII");
    // Printed in groups too, so the grouped forms have decoys; but not
    // when the groups after the first hold a Luhn-valid run of a card's
    // length: with the IBAN's check failing, that is a card printed after
    // other text, no decoy.
    let printed = iban_printed(&s);
    made(if rng.chance(50) && !groups_hold_luhn(&printed) { printed } else { s })
}

/// Whether consecutive all-digit groups of `printed` (after the first)
/// join into a Luhn-valid run of 12 to 19 digits.
fn groups_hold_luhn(printed: &str) -> bool {
    let groups: Vec<&str> = printed.split(' ').collect();
    (1..groups.len()).any(|i| {
        let mut run = String::new();
        groups[i..].iter().take_while(|g| g.bytes().all(|b| b.is_ascii_digit())).any(|g| {
            run.push_str(g);
            (12..=19).contains(&run.len())
                && luhn_digit(&run[..run.len() - 1]) == run.as_bytes()[run.len() - 1]
        })
    })
}

/// Digit groups joined by `/` that are no German phone number: dates
/// (`01/05/2024`, `2024/05/06`), fractions, invoice numbers (`0042/2024`),
/// file references (`030/1234/567`) and paths holding an area code's shape.
fn slashed_numbers(rng: &mut Rng) -> Made {
    let (y, mo, d) = (rng.range(1990, 2030), rng.range(1, 12), rng.range(1, 28));
    made(match rng.below(6) {
        0 => format!("{d:02}/{mo:02}/{y}"),
        1 => format!("{y}/{mo:02}/{d:02}"),
        2 => format!("{}/{}", rng.range(1, 9), rng.range(2, 16)),
        3 => format!("{:04}/{y}", rng.range(1, 999)),
        4 => format!(
            "0{}/{}/{}",
            rng.digits(NONZERO, 2),
            rng.string(DIGITS, 4),
            rng.string(DIGITS, 3)
        ),
        _ => format!("/files/0{}/{}", rng.digits(NONZERO, 3), rng.digits(NONZERO, 7)),
    })
}

fn order_number(rng: &mut Rng) -> Made {
    made(match rng.below(3) {
        0 => format!("ORD-{}", rng.digits(b"1", 8)),
        1 => format!("#{}", rng.digits(b"1", 7)),
        _ => format!("INV-{}-{}", rng.range(2015, 2026), rng.digits(b"0", 6)),
    })
}

/// Ten bare digits: a phone only with phone context, which it lacks.
fn ten_digits(rng: &mut Rng) -> Made {
    led("ref ", rng.digits(b"23456789", 10))
}

fn secret_near_miss(rng: &mut Rng) -> Made {
    made(match rng.below(6) {
        0 => format!("AKIA{}", rng.string(UPPER_DIGIT, 15)),
        1 => format!("sk_test_{}", rng.string(ALNUM, 24)),
        2 => format!("ghp_{}", rng.string(ALNUM, 30)),
        3 => jwt_with(rng, "{\"typ\":\"JWT\"}"),
        4 => format!("AIza{}", rng.string(B64URL, 20)),
        _ => format!("xoxb-{}", rng.string(DIGITS, 5)),
    })
}

fn pem_not_private(rng: &mut Rng) -> Made {
    let label = *rng.pick(&["PUBLIC KEY", "CERTIFICATE", "RSA PUBLIC KEY", "CERTIFICATE REQUEST"]);
    made(pem_block(rng, label))
}

fn zip(rng: &mut Rng) -> Made {
    made(format!("{}-{}", rng.digits(NONZERO, 5), rng.string(DIGITS, 4)))
}

fn tracking(rng: &mut Rng) -> Made {
    made(format!("1Z{}", rng.string(UPPER_DIGIT, 16)))
}

/// Positives: every kind the engine reports.
pub const POSITIVES: &[Shape] = &[
    Shape {
        name: "card_contiguous",
        class: Class::Pii,
        kind: "card",
        weight: 10,
        make: card_contiguous,
    },
    Shape { name: "card_grouped", class: Class::Pii, kind: "card", weight: 12, make: card_grouped },
    Shape {
        name: "card_19_context",
        class: Class::Pii,
        kind: "card",
        weight: 3,
        make: card_19_with_context,
    },
    Shape { name: "ssn_dashed", class: Class::Pii, kind: "ssn", weight: 6, make: ssn_dashed },
    Shape { name: "ssn_keyword", class: Class::Pii, kind: "ssn", weight: 4, make: ssn_keyword },
    Shape { name: "iban", class: Class::Pii, kind: "iban", weight: 9, make: iban },
    Shape { name: "phone", class: Class::Pii, kind: "phone", weight: 8, make: phone },
    Shape { name: "email", class: Class::Pii, kind: "email", weight: 7, make: email },
    Shape {
        name: "aws_access_key",
        class: Class::Pii,
        kind: "aws_access_key",
        weight: 3,
        make: aws,
    },
    Shape {
        name: "github_token",
        class: Class::Pii,
        kind: "github_token",
        weight: 3,
        make: github,
    },
    Shape { name: "stripe_key", class: Class::Pii, kind: "stripe_key", weight: 3, make: stripe },
    Shape { name: "slack_token", class: Class::Pii, kind: "slack_token", weight: 3, make: slack },
    Shape {
        name: "google_api_key",
        class: Class::Pii,
        kind: "google_api_key",
        weight: 3,
        make: google,
    },
    Shape { name: "jwt", class: Class::Pii, kind: "jwt", weight: 3, make: jwt },
    Shape {
        name: "private_key",
        class: Class::Pii,
        kind: "private_key",
        weight: 3,
        make: private_key,
    },
];

/// Hard negatives: shapes that look like a kind and are not.
pub const NEGATIVES: &[Shape] = &[
    Shape { name: "luhn_bad", class: Class::Decoy, kind: "luhn_bad", weight: 8, make: luhn_bad },
    Shape { name: "epoch_ms", class: Class::Decoy, kind: "epoch_ms", weight: 4, make: epoch_ms },
    Shape { name: "epoch_s", class: Class::Decoy, kind: "epoch_s", weight: 2, make: epoch_s },
    Shape { name: "timestamp", class: Class::Decoy, kind: "timestamp", weight: 4, make: timestamp },
    Shape { name: "snowflake", class: Class::Decoy, kind: "snowflake", weight: 3, make: snowflake },
    Shape { name: "id19", class: Class::Decoy, kind: "id19", weight: 3, make: id19 },
    Shape { name: "long_run", class: Class::Decoy, kind: "long_run", weight: 3, make: long_run },
    Shape {
        name: "card_glued",
        class: Class::Decoy,
        kind: "card_glued",
        weight: 3,
        make: card_glued,
    },
    Shape {
        name: "card_no_issuer",
        class: Class::Decoy,
        kind: "card_no_issuer",
        weight: 3,
        make: card_no_issuer,
    },
    Shape { name: "isbn", class: Class::Decoy, kind: "isbn", weight: 3, make: isbn },
    Shape { name: "price", class: Class::Decoy, kind: "price", weight: 3, make: price },
    Shape { name: "version", class: Class::Decoy, kind: "version", weight: 2, make: version },
    Shape { name: "ip", class: Class::Decoy, kind: "ip", weight: 2, make: ip },
    Shape { name: "uuid", class: Class::Decoy, kind: "uuid", weight: 3, make: uuid },
    Shape { name: "sha", class: Class::Decoy, kind: "sha", weight: 2, make: sha },
    Shape { name: "ssn_bad", class: Class::Decoy, kind: "ssn_bad", weight: 4, make: ssn_bad },
    Shape {
        name: "ssn_no_keyword",
        class: Class::Decoy,
        kind: "ssn_no_keyword",
        weight: 3,
        make: ssn_no_keyword,
    },
    Shape { name: "iban_bad", class: Class::Decoy, kind: "iban_bad", weight: 4, make: iban_bad },
    Shape {
        name: "order_number",
        class: Class::Decoy,
        kind: "order_number",
        weight: 3,
        make: order_number,
    },
    Shape {
        name: "ten_digits",
        class: Class::Decoy,
        kind: "ten_digits",
        weight: 2,
        make: ten_digits,
    },
    Shape {
        name: "secret_near_miss",
        class: Class::Decoy,
        kind: "secret_near_miss",
        weight: 4,
        make: secret_near_miss,
    },
    Shape {
        name: "pem_not_private",
        class: Class::Decoy,
        kind: "pem_not_private",
        weight: 1,
        make: pem_not_private,
    },
    Shape { name: "zip", class: Class::Decoy, kind: "zip", weight: 1, make: zip },
    Shape { name: "tracking", class: Class::Decoy, kind: "tracking", weight: 1, make: tracking },
    Shape {
        name: "slashed_numbers",
        class: Class::Decoy,
        kind: "slashed_numbers",
        weight: 2,
        make: slashed_numbers,
    },
];

//! A structured companion of the `engine_chunks` fuzz target (whose
//! checks it runs): bodies built from pieces that meet at the edges where
//! masking one value could uncover another.

#[path = "../fuzz/checks/engine_chunks.rs"]
mod engine_chunks;

/// Bodies made of values in issue 16's forms (IBANs and phone numbers
/// with encoded leading digits, German phone notation, dotted IBANs, cards
/// and SSNs in their separators), neighbouring values, tags, references
/// and stray bytes, through the fuzz target's checks: streamed equals
/// one-shot, and rescanning the masked output finds no new value. Each
/// crash this found is kept in `fuzz/regressions/engine_chunks/`.
/// `STRUCTURED_N` sets the number of bodies (20 000 by default).
#[test]
fn structured_bodies_pass_the_fuzz_checks() {
    let pieces: &[&[u8]] = &[
        b"GB&#56;&#50; WEST 1234 5698 7654 32",
        b"GB%38%32WEST12345698765432",
        b"GB8\\u0032 WEST 1234 5698 7654 32",
        b"GB&#56;2WEST12345698765432",
        b"GB\\u0038\\u0032 WEST 1234 5698 7654 32",
        b"DE89.3704.0044.0532.0130.00",
        b"DE89 3704 0044 0532 0130 00",
        b"+&#52;4 20 7946 0958",
        b"+\\u0034\\u0034 20 7946 0958",
        b"+%34%34%2020%207946%200958",
        b"(&#52;15) 555-0132",
        b"030/1234567",
        b"0221/123 4567",
        b"+49 30/123 4567",
        b"030/123&nbsp;4567",
        b"&#48;30/1234567",
        b"030%2F1234567",
        b"0221%2f123%204567",
        b"030&#47;1234567",
        b"01%2F05%2F2024",
        b"%2F",
        b"4111 1111 1111 1111",
        b"4111/1111/1111/1111",
        b"822-43-8021",
        b"822/43/8021",
        b"01/05/2024",
        b"0042/2024",
        b"/",
        b" ",
        b"-",
        b".",
        b"+",
        b"(",
        b")",
        b"&nbsp;",
        b"&#52;",
        b"&#",
        b"%3",
        b"\\u003",
        b"4",
        b"0",
        b"12",
        b"123",
        b"1234",
        b"4567",
        b"0221",
        b"030",
        b"x",
        b"a@b.co",
        b"GB",
        b"DE",
        b"82",
        b"\xef\xbc\x94",
        b"<span>",
        b"</span>",
        b"\n",
        b",",
        b"AKIA6HQS25BK3I6RNGX6",
        b"1234567",
        b"5555 5555 5555 4444",
        b"378282246310005",
    ];
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let n: usize = std::env::var("STRUCTURED_N").ok().and_then(|s| s.parse().ok()).unwrap_or(20000);
    for it in 0..n {
        let mut data = vec![(next() % 12) as u8, (next() % 70) as u8];
        let k = 1 + next() % 14;
        for _ in 0..k {
            let r = next();
            if r % 11 == 0 {
                data.push((r >> 8) as u8);
            } else {
                data.extend_from_slice(pieces[(r >> 8) as usize % pieces.len()]);
            }
        }
        if std::panic::catch_unwind(|| engine_chunks::check(&data)).is_err() {
            panic!("body {it} fails the checks: {:?}", String::from_utf8_lossy(&data));
        }
    }
}

//! Regressions for values the engine once let through next to other text:
//! a card beside another digit group (issue 14, defect 1) and a card inside
//! an email address (defect 2). Each case is checked whole, at every single
//! cut and in 1-byte chunks: the output and findings never depend on the
//! split.

use std::sync::Arc;

use leakwarden::detect::{Action, ContentHint, Engine, EngineConfig, Finding, Kind, Scanner};

fn engine(f: impl FnOnce(&mut EngineConfig)) -> Arc<Engine> {
    let mut c = EngineConfig { hash_key: b"adjacent-test".to_vec(), ..Default::default() };
    f(&mut c);
    Arc::new(Engine::new(c).unwrap())
}

/// Scans `input` in the chunks `cuts` makes, checking the hold-back bound.
fn scan_cut(e: &Arc<Engine>, input: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<Finding>) {
    let mut s = Scanner::new(e.clone(), ContentHint::Html);
    let (mut out, mut found) = (Vec::new(), Vec::new());
    let mut prev = 0;
    for &c in cuts.iter().chain([&input.len()]) {
        s.feed(&input[prev..c], &mut out, &mut found);
        assert!(s.held() <= e.max_hold());
        prev = c;
    }
    s.finish(&mut out, &mut found);
    (out, found)
}

/// The whole scan, after checking that every single cut and 1-byte chunks
/// give the same.
fn scan(e: &Arc<Engine>, input: &str) -> (String, Vec<Finding>) {
    let input = input.as_bytes();
    let whole = scan_cut(e, input, &[]);
    for cut in 0..=input.len() {
        let got = scan_cut(e, input, &[cut]);
        assert!(got == whole, "{:?} cut at {cut}", String::from_utf8_lossy(input));
    }
    let bytes: Vec<usize> = (1..input.len()).collect();
    assert!(scan_cut(e, input, &bytes) == whole, "1-byte chunks");
    (String::from_utf8(whole.0).unwrap(), whole.1)
}

fn kinds(f: &[Finding]) -> Vec<(Kind, u64, u64, Action)> {
    f.iter().map(|f| (f.kind, f.start, f.end, f.action)).collect()
}

/// (body, output with the default actions, findings as (kind, start, end)).
type Case = (&'static str, &'static str, &'static [(Kind, u64, u64)]);

/// Issue 14, defect 1: a leading or trailing digit group that does not
/// belong to the card must not hide it. A group after a card (a reference,
/// the next card of a list) never does; a group of four or more before it
/// continues its grouping and makes the whole run one number, unless the
/// groups before are themselves a card or another value (an SSN).
#[test]
fn card_next_to_another_digit_group() {
    let cases: &[Case] = &[
        ("qty 2 4111 1111 1111 1111", "qty 2 **** **** **** 1111", &[(Kind::Card, 6, 25)]),
        ("4111 1111 1111 1111 2 items", "**** **** **** 1111 2 items", &[(Kind::Card, 0, 19)]),
        ("1-4111-1111-1111-1111", "1-****-****-****-1111", &[(Kind::Card, 2, 21)]),
        ("+1 4111 1111 1111 1111", "+1 **** **** **** 1111", &[(Kind::Card, 3, 22)]),
        ("a 7 5555 5555 5555 4444", "a 7 **** **** **** 4444", &[(Kind::Card, 4, 23)]),
        (
            "<td>12 3782-822463-10005-1</td>",
            "<td>12 ****-******-*0005-1</td>",
            &[(Kind::Card, 7, 24)],
        ),
        ("4111 1111 1111 1111 1111", "**** **** **** 1111 1111", &[(Kind::Card, 0, 19)]),
        (
            "4111 1111 1111 1111 5555-5555-5555-4444",
            "**** **** **** 1111 ****-****-****-4444",
            &[(Kind::Card, 0, 19), (Kind::Card, 20, 39)],
        ),
        (
            "822 43 8021 4111 1111 1111 1111",
            "*** ** **** **** **** **** 1111",
            &[(Kind::Ssn, 0, 11), (Kind::Card, 12, 31)],
        ),
        // Hard negatives: the grouping goes on, or the digits fail Luhn.
        ("1234 4111 1111 1111 1111", "1234 4111 1111 1111 1111", &[]),
        ("1234 5678 4111 1111 1111 1111", "1234 5678 4111 1111 1111 1111", &[]),
        ("qty 2 4111 1111 1111 1112", "qty 2 4111 1111 1111 1112", &[]),
        ("4111 1111 1111 1112 2 items", "4111 1111 1111 1112 2 items", &[]),
        ("ISBN 978-6207369461", "ISBN 978-6207369461", &[]),
        ("2024-05-06 10:11:12", "2024-05-06 10:11:12", &[]),
        // Phones, SSNs and IBANs next to a digit group decide as before.
        ("+1 415 555 0132", "+1 415 555 0132", &[(Kind::Phone, 0, 15)]),
        ("qty 2 415-555-0132", "qty 2 415-555-0132", &[(Kind::Phone, 6, 18)]),
        ("2 822-43-8021", "2 ***-**-****", &[(Kind::Ssn, 2, 13)]),
        ("1 GB82 WEST 1234 5698 7654 32", "1 GB** **** **** **** **54 32", &[(Kind::Iban, 2, 29)]),
    ];
    let e = engine(|_| {});
    for &(input, want, found) in cases {
        let (out, f) = scan(&e, input);
        assert_eq!(out, want, "{input}");
        let got: Vec<(Kind, u64, u64)> = f.iter().map(|f| (f.kind, f.start, f.end)).collect();
        assert_eq!(got, found, "{input}");
    }
}

/// Issue 14, defect 2: a value inside another one (a card in an email
/// address) is a finding of its own with its own action; on the bytes both
/// cover, the stronger rewrite wins.
#[test]
fn card_inside_an_email_address() {
    use Action::*;
    type Row = (&'static str, Action, Action, &'static str, &'static [(Kind, u64, u64, Action)]);
    let rows: &[Row] = &[
        (
            "user@4111111111111111.example.com",
            Detect,
            Mask,
            "user@************1111.example.com",
            &[(Kind::Email, 0, 33, Detect), (Kind::Card, 5, 21, Mask)],
        ),
        (
            "to a.4111-1111-1111-1111@ex.com.",
            Detect,
            Mask,
            "to a.****-****-****-1111@ex.com.",
            &[(Kind::Email, 3, 31, Detect), (Kind::Card, 5, 24, Mask)],
        ),
        (
            "4111111111111111@example.com",
            Detect,
            Mask,
            "************1111@example.com",
            &[(Kind::Email, 0, 28, Detect), (Kind::Card, 0, 16, Mask)],
        ),
        // Both masked: the masks combine.
        (
            "user@4111111111111111.example.com",
            Mask,
            Mask,
            "****@****************.*******.com",
            &[(Kind::Email, 0, 33, Mask), (Kind::Card, 5, 21, Mask)],
        ),
        // The card redacted inside a masked address.
        (
            "a.4111-1111-1111-1111@ex.com",
            Mask,
            Redact,
            "**[REDACTED:card]@**.com",
            &[(Kind::Email, 0, 28, Mask), (Kind::Card, 2, 21, Redact)],
        ),
        // The address redacted: it covers the card.
        (
            "a.4111-1111-1111-1111@ex.com",
            Redact,
            Mask,
            "[REDACTED:email]",
            &[(Kind::Email, 0, 28, Redact), (Kind::Card, 2, 21, Mask)],
        ),
        // No number inside: one finding, as before.
        (
            "john.doe@example.org",
            Detect,
            Mask,
            "john.doe@example.org",
            &[(Kind::Email, 0, 20, Detect)],
        ),
        (
            "user.12345678@example.org",
            Detect,
            Mask,
            "user.12345678@example.org",
            &[(Kind::Email, 0, 25, Detect)],
        ),
    ];
    for &(input, email, card, want, found) in rows {
        let e = engine(|c| {
            c.detectors.insert(Kind::Email, email);
            c.detectors.insert(Kind::Card, card);
        });
        let (out, f) = scan(&e, input);
        assert_eq!(out, want, "{input} (email {email:?}, card {card:?})");
        assert_eq!(kinds(&f), found, "{input}");
    }
}

/// Issue 14, defect 2, for secrets: a token that starts inside an email
/// address (its local part, a domain label, or glued to the address's end
/// so the address stops at its prefix) is a finding of its own with its
/// own action, as a card there is; the address is still one too.
#[test]
fn secret_inside_an_email_address() {
    use Action::*;
    type Row =
        (&'static str, Action, Kind, Action, &'static str, &'static [(Kind, u64, u64, Action)]);
    let rows: &[Row] = &[
        // The fuzzer's find: the address ends at `.ghp`, the token runs on.
        (
            "a.b@example.ghp_DDMDVLjH3mhpr7sAhgnj0u0SrnAhIMYJeUO1 x",
            Detect,
            Kind::GithubToken,
            Mask,
            "a.b@example.ghp_************************************ x",
            &[(Kind::Email, 0, 15, Detect), (Kind::GithubToken, 12, 52, Mask)],
        ),
        (
            "a.b@example.ghp_DDMDVLjH3mhpr7sAhgnj0u0SrnAhIMYJeUO1 x",
            Mask,
            Kind::GithubToken,
            Redact,
            "***@*******.[REDACTED:github_token] x",
            &[(Kind::Email, 0, 15, Mask), (Kind::GithubToken, 12, 52, Redact)],
        ),
        // The token as the local part: the address holds it.
        (
            "ghp_DDMDVLjH3mhpr7sAhgnj0u0SrnAhIMYJeUO1@example.com",
            Mask,
            Kind::GithubToken,
            Detect,
            "****************************************@*******.com",
            &[(Kind::Email, 0, 52, Mask), (Kind::GithubToken, 0, 40, Detect)],
        ),
        // A key as a domain label.
        (
            "ops@AKIA6HQS25BK3I6RNGX6.example.com",
            Detect,
            Kind::AwsAccessKey,
            Redact,
            "ops@[REDACTED:aws_access_key].example.com",
            &[(Kind::Email, 0, 36, Detect), (Kind::AwsAccessKey, 4, 24, Redact)],
        ),
        // A JWT whose segments are the domain's labels.
        (
            "x@eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
            Detect,
            Kind::Jwt,
            Mask,
            "x@********************.***************.***",
            &[(Kind::Email, 0, 42, Detect), (Kind::Jwt, 2, 42, Mask)],
        ),
    ];
    for &(input, email, kind, action, want, found) in rows {
        let e = engine(|c| {
            c.detectors = [(Kind::Email, email), (kind, action)].into_iter().collect();
        });
        let (out, f) = scan(&e, input);
        assert_eq!(out, want, "{input} (email {email:?}, {kind:?} {action:?})");
        assert_eq!(kinds(&f), found, "{input}");
    }
}

/// A JWT too long to hold back whose first segments are an address's
/// domain labels: the address is reported, and the token is rewritten as a
/// stream from inside it, its bytes in the address taking the stronger of
/// the two rewrites, identically in any chunking.
#[test]
fn streamed_jwt_starting_inside_an_email_address() {
    use Action::*;
    let sig = format!("sig_{}", "a".repeat(9000));
    let jwt = format!("eyJhbGciOiJIUzI1NiJ9.eyJabc.{sig}");
    let input = format!("x@{jwt} end");
    let masked: String =
        jwt.chars().map(|c| if c.is_ascii_alphanumeric() { '*' } else { c }).collect();
    let end = 2 + jwt.len() as u64;
    let rows = [
        (
            Detect,
            Mask,
            format!("x@{masked} end"),
            [(Kind::Email, 0, 33, Detect), (Kind::Jwt, 2, end, Mask)],
        ),
        (
            Mask,
            Redact,
            "*@[REDACTED:jwt] end".to_string(),
            [(Kind::Email, 0, 33, Mask), (Kind::Jwt, 2, end, Redact)],
        ),
        (
            Redact,
            Mask,
            format!("[REDACTED:email]{} end", &masked[31..]),
            [(Kind::Email, 0, 33, Redact), (Kind::Jwt, 2, end, Mask)],
        ),
    ];
    for (email, action, want, found) in rows {
        let e = engine(|c| {
            c.detectors = [(Kind::Email, email), (Kind::Jwt, action)].into_iter().collect();
        });
        let n = input.len();
        for cuts in [vec![], vec![1], vec![20], vec![32, 33], (1..n).step_by(7).collect::<Vec<_>>()]
        {
            let (out, f) = scan_cut(&e, input.as_bytes(), &cuts);
            assert!(
                out == want.as_bytes(),
                "email {email:?}, jwt {action:?}, cuts {:?}",
                &cuts[..cuts.len().min(3)]
            );
            assert_eq!(kinds(&f), found, "email {email:?}, jwt {action:?}");
        }
    }
}

//! Each content coding's decoder (the pipeline's codec API, with its bomb
//! limits) into the streaming engine.
//!
//! Input: byte 0 picks the coding (gzip, deflate, br, zstd) and whether the
//! rest is a body to encode first (a valid stream) or wire bytes as sent
//! (corrupt, truncated, bombs); byte 1 sets the wire chunk size. Checks: no
//! panic; the decoded size never passes the limit; a valid stream decodes
//! to its body whatever the chunking, and the engine's output over the
//! decoded chunks equals scanning the whole body; for wire bytes that
//! decode, the same equality with what was decoded.
//!
//! Shared by the fuzz target (`fuzz/fuzz_targets/decode.rs`) and the
//! regression test that replays seeds and kept crash inputs
//! (`tests/fuzz_regressions.rs`).
use std::sync::{Arc, OnceLock};

use leakwarden::detect::{ContentHint, Engine, EngineConfig, Scanner};
use leakwarden::pipeline::codec::{encode_all, Coding, Decoder};

/// Small limits, so that bombs trip inside a fuzz input's reach.
const MAX_DECODED: u64 = 1 << 20;
const MAX_RATIO: u64 = 100;

fn engine() -> &'static Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| Arc::new(Engine::new(EngineConfig::default()).expect("engine builds")))
}

pub fn check(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let coding =
        [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd][usize::from(data[0] % 4)];
    let valid = data[0] & 4 != 0;
    let chunk = 1 + usize::from(data[1]) * 8;
    let body = &data[2..];
    let wire = if valid { encode_all(coding, body) } else { body.to_vec() };

    let engine = engine();
    let mut dec = Decoder::new(coding, MAX_DECODED, MAX_RATIO).expect("decoder");
    let mut scanner = Scanner::new(engine.clone(), ContentHint::Text);
    let (mut out, mut findings, mut piece, mut decoded) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut ok = true;
    for c in wire.chunks(chunk) {
        if dec.write(c).is_err() {
            ok = false;
            break;
        }
        dec.take_output(&mut piece);
        decoded.extend_from_slice(&piece);
        scanner.feed(&piece, &mut out, &mut findings);
        assert!(decoded.len() as u64 <= MAX_DECODED, "decoded past the limit");
    }
    if ok {
        ok = dec.finish().is_ok();
        dec.take_output(&mut piece);
        decoded.extend_from_slice(&piece);
        scanner.feed(&piece, &mut out, &mut findings);
        assert!(decoded.len() as u64 <= MAX_DECODED, "decoded past the limit");
    }
    scanner.finish(&mut out, &mut findings);
    if valid {
        assert!(ok, "a stream the encoder wrote does not decode");
        assert!(decoded == body, "decoded bytes differ from the body");
    }
    if ok {
        let (want, want_findings) = engine.scan_all(&decoded, ContentHint::Text);
        assert!(out == want, "chunked decode + scan differs from scanning the body");
        assert_eq!(findings, want_findings);
    }
}

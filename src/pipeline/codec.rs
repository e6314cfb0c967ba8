//! Content codings: streaming decoders and encoders for gzip, deflate, br
//! and zstd, built on the libraries' write-based APIs so that each upstream
//! frame is pushed through and whatever is ready is drained.
//!
//! Decoders write into a [`Sink`] that enforces the decompression-bomb
//! limits *while* decoding: a tiny frame that would expand to gigabytes is
//! stopped at the cap instead of being materialised. Nothing here panics on
//! corrupt input; every failure is a [`CodecError`].

use std::io::{self, Write};

use flate2::write::{DeflateDecoder, GzEncoder, MultiGzDecoder, ZlibDecoder, ZlibEncoder};
use flate2::Compression;

/// Input is fed to a decoder in slices of this size so that the decoded
/// output of one step stays small.
pub const DECODE_SLICE: usize = 4 * 1024;

/// Decoded bytes one input slice may produce before the stream counts as a
/// bomb (a ratio of 4096:1 within one slice; gzip cannot exceed ~1032:1).
pub const STEP_CAP: usize = 16 * 1024 * 1024;

/// A content coding leakwarden can decode and re-encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Deflate,
    Br,
    Zstd,
}

impl Coding {
    /// Parses one coding token (case-insensitive).
    pub fn from_token(token: &str) -> Option<Coding> {
        match token.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            "br" => Some(Coding::Br),
            "zstd" => Some(Coding::Zstd),
            _ => None,
        }
    }
}

/// Why a `Content-Encoding` cannot be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodingProblem {
    /// A coding leakwarden does not know.
    Unknown,
    /// More than one coding stacked (`gzip, br`).
    Stacked,
}

/// Reads every `Content-Encoding` header value: `Ok(None)` for identity.
pub fn content_coding(headers: &http::HeaderMap) -> Result<Option<Coding>, EncodingProblem> {
    let mut found = None;
    let mut count = 0;
    for v in headers.get_all(http::header::CONTENT_ENCODING) {
        let v = v.to_str().map_err(|_| EncodingProblem::Unknown)?;
        for token in v.split(',') {
            let token = token.trim();
            if token.is_empty() || token.eq_ignore_ascii_case("identity") {
                continue;
            }
            count += 1;
            found = Some(Coding::from_token(token).ok_or(EncodingProblem::Unknown)?);
        }
    }
    if count > 1 {
        return Err(EncodingProblem::Stacked);
    }
    Ok(found)
}

/// A decoding failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecError {
    /// The stream is corrupt or truncated.
    Corrupt,
    /// Decoded size or ratio over the configured limits.
    Bomb,
}

/// Where a decoder writes: a reusable buffer that refuses to grow past the
/// bomb limits.
#[derive(Debug)]
pub struct Sink {
    buf: Vec<u8>,
    total: u64,
    max_total: u64,
    tripped: bool,
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let new_total = self.total + data.len() as u64;
        if new_total > self.max_total || self.buf.len() + data.len() > STEP_CAP {
            self.tripped = true;
            return Err(io::Error::other("decompression limit"));
        }
        self.total = new_total;
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum DecoderKind {
    Gzip(Box<MultiGzDecoder<Sink>>),
    Zlib(Box<ZlibDecoder<Sink>>),
    RawDeflate(Box<DeflateDecoder<Sink>>),
    /// `deflate` should be zlib-wrapped, but raw deflate is common; decide
    /// from the first two bytes.
    DeflateUndecided(Vec<u8>, Sink),
    Br(Box<brotli::DecompressorWriter<Sink>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Sink>>),
    Failed,
}

/// A streaming decoder with bomb limits.
pub struct Decoder {
    kind: DecoderKind,
    encoded_total: u64,
    max_ratio: u64,
}

/// Ratio checks start once this much is decoded: tiny bodies compress
/// badly or absurdly well without meaning anything.
const RATIO_MIN_DECODED: u64 = 1024 * 1024;

impl Decoder {
    pub fn new(coding: Coding, max_decoded: u64, max_ratio: u64) -> io::Result<Decoder> {
        let sink = Sink { buf: Vec::new(), total: 0, max_total: max_decoded, tripped: false };
        let kind = match coding {
            Coding::Gzip => DecoderKind::Gzip(Box::new(MultiGzDecoder::new(sink))),
            Coding::Deflate => DecoderKind::DeflateUndecided(Vec::new(), sink),
            Coding::Br => DecoderKind::Br(Box::new(brotli::DecompressorWriter::new(sink, 4096))),
            Coding::Zstd => DecoderKind::Zstd(Box::new(zstd::stream::write::Decoder::new(sink)?)),
        };
        Ok(Decoder { kind, encoded_total: 0, max_ratio })
    }

    fn sink(&mut self) -> Option<&mut Sink> {
        match &mut self.kind {
            DecoderKind::Gzip(d) => Some(d.get_mut()),
            DecoderKind::Zlib(d) => Some(d.get_mut()),
            DecoderKind::RawDeflate(d) => Some(d.get_mut()),
            DecoderKind::DeflateUndecided(_, s) => Some(s),
            DecoderKind::Br(d) => Some(d.get_mut()),
            DecoderKind::Zstd(d) => Some(d.get_mut()),
            DecoderKind::Failed => None,
        }
    }

    /// Decoded bytes so far.
    pub fn decoded_total(&mut self) -> u64 {
        self.sink().map(|s| s.total).unwrap_or(0)
    }

    /// Moves the decoded output produced so far into `out` (cleared first).
    pub fn take_output(&mut self, out: &mut Vec<u8>) {
        out.clear();
        if let Some(s) = self.sink() {
            std::mem::swap(out, &mut s.buf);
        }
    }

    fn fail(&mut self, e: io::Error) -> CodecError {
        let _ = e;
        let tripped = self.sink().map(|s| s.tripped).unwrap_or(false);
        self.kind = DecoderKind::Failed;
        if tripped {
            CodecError::Bomb
        } else {
            CodecError::Corrupt
        }
    }

    fn check_ratio(&mut self) -> Result<(), CodecError> {
        let decoded = self.decoded_total();
        if decoded > RATIO_MIN_DECODED && decoded / self.encoded_total.max(1) > self.max_ratio {
            self.kind = DecoderKind::Failed;
            return Err(CodecError::Bomb);
        }
        Ok(())
    }

    /// Feeds encoded input (at most [`DECODE_SLICE`] bytes at a time is
    /// best); decoded bytes accumulate for [`Decoder::take_output`].
    pub fn write(&mut self, input: &[u8]) -> Result<(), CodecError> {
        self.encoded_total += input.len() as u64;
        if let DecoderKind::DeflateUndecided(head, _) = &mut self.kind {
            head.extend_from_slice(input);
            if head.len() < 2 {
                return Ok(());
            }
            let DecoderKind::DeflateUndecided(head, sink) =
                std::mem::replace(&mut self.kind, DecoderKind::Failed)
            else {
                unreachable!("matched above")
            };
            // RFC 1950: CM = 8 in the low nibble, header checksum mod 31.
            let zlib =
                head[0] & 0x0f == 8 && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0;
            self.kind = if zlib {
                DecoderKind::Zlib(Box::new(ZlibDecoder::new(sink)))
            } else {
                DecoderKind::RawDeflate(Box::new(DeflateDecoder::new(sink)))
            };
            return self.write_inner(&head).and_then(|_| self.check_ratio());
        }
        self.write_inner(input).and_then(|_| self.check_ratio())
    }

    fn write_inner(&mut self, input: &[u8]) -> Result<(), CodecError> {
        let r = match &mut self.kind {
            DecoderKind::Gzip(d) => d.write_all(input).and_then(|_| d.flush()),
            DecoderKind::Zlib(d) => d.write_all(input).and_then(|_| d.flush()),
            DecoderKind::RawDeflate(d) => d.write_all(input).and_then(|_| d.flush()),
            DecoderKind::Br(d) => d.write_all(input).and_then(|_| d.flush()),
            DecoderKind::Zstd(d) => d.write_all(input).and_then(|_| d.flush()),
            DecoderKind::DeflateUndecided(..) => Ok(()),
            DecoderKind::Failed => return Err(CodecError::Corrupt),
        };
        r.map_err(|e| self.fail(e))
    }

    /// Ends the stream: fails if it was truncated.
    pub fn finish(&mut self) -> Result<(), CodecError> {
        let r = match &mut self.kind {
            DecoderKind::Gzip(d) => d.try_finish(),
            DecoderKind::Zlib(d) => d.try_finish(),
            DecoderKind::RawDeflate(d) => d.try_finish(),
            DecoderKind::Br(d) => d.close(),
            DecoderKind::Zstd(d) => d.do_finish(),
            DecoderKind::DeflateUndecided(head, _) => {
                if head.is_empty() {
                    Ok(())
                } else {
                    Err(io::Error::other("truncated deflate stream"))
                }
            }
            DecoderKind::Failed => return Err(CodecError::Corrupt),
        };
        r.map_err(|e| self.fail(e))
    }
}

enum EncoderKind {
    Gzip(GzEncoder<Vec<u8>>),
    Zlib(ZlibEncoder<Vec<u8>>),
    Br(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

/// The level gzip and deflate bodies are re-encoded at (zlib-rs, flate2's
/// backend here). Re-encoding is most of what a scanned gzip response
/// costs, and the upstream's own level cannot be read from the stream, so
/// the level is the cheap one that keeps the size: measured on the
/// benchmark pages (BENCHMARKS.md, issue 17), level 3 costs 8% (12 KB
/// page) to 14% (600 KB) fewer instructions per response than level 5 for
/// output 1.5-3% larger (about what the origin's `gzip -6` made); level 2
/// saves 19-30% but is 4-10% larger, level 1 (static codes only) ~37% but
/// ~40% larger.
const DEFLATE_LEVEL: Compression = Compression::new(3);

/// A streaming encoder. Levels favour speed: a proxy re-encodes every
/// scanned compressed response.
pub struct Encoder {
    kind: Option<EncoderKind>,
}

impl Encoder {
    pub fn new(coding: Coding) -> io::Result<Encoder> {
        let kind = match coding {
            Coding::Gzip => EncoderKind::Gzip(GzEncoder::new(Vec::new(), DEFLATE_LEVEL)),
            Coding::Deflate => EncoderKind::Zlib(ZlibEncoder::new(Vec::new(), DEFLATE_LEVEL)),
            Coding::Br => {
                EncoderKind::Br(Box::new(brotli::CompressorWriter::new(Vec::new(), 4096, 4, 22)))
            }
            Coding::Zstd => EncoderKind::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 3)?),
        };
        Ok(Encoder { kind: Some(kind) })
    }

    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self.kind.as_mut() {
            Some(EncoderKind::Gzip(e)) => e.write_all(data),
            Some(EncoderKind::Zlib(e)) => e.write_all(data),
            Some(EncoderKind::Br(e)) => e.write_all(data),
            Some(EncoderKind::Zstd(e)) => e.write_all(data),
            None => Err(io::Error::other("encoder finished")),
        }
    }

    /// Sync-flushes so that everything written so far can be decoded by the
    /// client now (streams must not stall behind the compressor).
    pub fn flush(&mut self) -> io::Result<()> {
        match self.kind.as_mut() {
            Some(EncoderKind::Gzip(e)) => e.flush(),
            Some(EncoderKind::Zlib(e)) => e.flush(),
            Some(EncoderKind::Br(e)) => e.flush(),
            Some(EncoderKind::Zstd(e)) => e.flush(),
            None => Ok(()),
        }
    }

    /// Takes the encoded bytes produced so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        match self.kind.as_mut() {
            Some(EncoderKind::Gzip(e)) => std::mem::take(e.get_mut()),
            Some(EncoderKind::Zlib(e)) => std::mem::take(e.get_mut()),
            Some(EncoderKind::Br(e)) => std::mem::take(e.get_mut()),
            Some(EncoderKind::Zstd(e)) => std::mem::take(e.get_mut()),
            None => Vec::new(),
        }
    }

    /// Ends the stream and returns the remaining encoded bytes.
    pub fn finish(&mut self) -> io::Result<Vec<u8>> {
        match self.kind.take() {
            Some(EncoderKind::Gzip(e)) => e.finish(),
            Some(EncoderKind::Zlib(e)) => e.finish(),
            Some(EncoderKind::Br(e)) => Ok(e.into_inner()),
            Some(EncoderKind::Zstd(e)) => e.finish(),
            None => Ok(Vec::new()),
        }
    }
}

/// Compresses a whole buffer (tests and the block page never need it; the
/// integration tests and benches use it to build upstream bodies).
pub fn encode_all(coding: Coding, data: &[u8]) -> Vec<u8> {
    let mut e = Encoder::new(coding).expect("encoder");
    e.write_all(data).expect("in-memory write");
    let mut out = e.take_output();
    out.extend(e.finish().expect("in-memory finish"));
    out
}

/// Decompresses a whole buffer without limits (tests only need it).
pub fn decode_all(coding: Coding, data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut d = Decoder::new(coding, u64::MAX, u64::MAX).map_err(|_| CodecError::Corrupt)?;
    let mut out = Vec::new();
    let mut step = Vec::new();
    for piece in data.chunks(DECODE_SLICE) {
        d.write(piece)?;
        d.take_output(&mut step);
        out.extend_from_slice(&step);
    }
    d.finish()?;
    d.take_output(&mut step);
    out.extend_from_slice(&step);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Coding; 4] = [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd];

    fn sample() -> Vec<u8> {
        (0..20_000u32)
            .flat_map(|i| format!("line {i} card 4111 1111 1111 1111\n").into_bytes())
            .collect()
    }

    #[test]
    fn roundtrip_every_coding_in_odd_pieces() {
        let data = sample();
        for c in ALL {
            let enc = encode_all(c, &data);
            assert!(enc.len() < data.len() / 4, "{c:?} compresses");
            let mut d = Decoder::new(c, u64::MAX, 10_000).unwrap();
            let mut got = Vec::new();
            let mut step = Vec::new();
            for piece in enc.chunks(777) {
                d.write(piece).unwrap();
                d.take_output(&mut step);
                got.extend_from_slice(&step);
            }
            d.finish().unwrap();
            d.take_output(&mut step);
            got.extend_from_slice(&step);
            assert_eq!(got, data, "{c:?}");
        }
    }

    #[test]
    fn sync_flush_makes_prefix_decodable() {
        for c in ALL {
            let mut e = Encoder::new(c).unwrap();
            e.write_all(b"first chunk, decodable now").unwrap();
            e.flush().unwrap();
            let head = e.take_output();
            let mut d = Decoder::new(c, u64::MAX, u64::MAX).unwrap();
            d.write(&head).unwrap();
            let mut got = Vec::new();
            d.take_output(&mut got);
            assert_eq!(got, b"first chunk, decodable now", "{c:?}");
        }
    }

    #[test]
    fn raw_deflate_is_tolerated() {
        let data = sample();
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(&data).unwrap();
        let raw = e.finish().unwrap();
        assert_eq!(decode_all(Coding::Deflate, &raw).unwrap(), data);
    }

    #[test]
    fn corrupt_and_truncated_streams_fail_without_panicking() {
        let data = sample();
        for c in ALL {
            let enc = encode_all(c, &data);
            let truncated = &enc[..enc.len() / 2];
            assert!(decode_all(c, truncated).is_err(), "{c:?} truncated");
            let mut garbage = enc.clone();
            for b in garbage.iter_mut().skip(3).step_by(7) {
                *b ^= 0x5a;
            }
            assert!(decode_all(c, &garbage).is_err(), "{c:?} garbage");
            assert!(
                decode_all(c, b"\xff\xfe definitely not compressed \x00\x01").is_err(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn bombs_are_stopped_at_the_cap() {
        let zeros = vec![0u8; 16 * 1024 * 1024];
        for c in ALL {
            let enc = encode_all(c, &zeros);
            // By ratio.
            let mut d = Decoder::new(c, u64::MAX, 100).unwrap();
            let r = enc.chunks(DECODE_SLICE).try_for_each(|p| {
                d.write(p)?;
                d.take_output(&mut Vec::new());
                Ok(())
            });
            assert_eq!(r, Err(CodecError::Bomb), "{c:?} ratio");
            // By total size.
            let mut d = Decoder::new(c, 1024 * 1024, u64::MAX).unwrap();
            let r = enc.chunks(DECODE_SLICE).try_for_each(|p| {
                d.write(p)?;
                d.take_output(&mut Vec::new());
                Ok(())
            });
            assert_eq!(r, Err(CodecError::Bomb), "{c:?} size");
        }
    }

    #[test]
    fn content_encoding_header_parsing() {
        type Case = (&'static [&'static str], Result<Option<Coding>, EncodingProblem>);
        let cases: &[Case] = &[
            (&[], Ok(None)),
            (&["identity"], Ok(None)),
            (&["GZIP"], Ok(Some(Coding::Gzip))),
            (&["x-gzip"], Ok(Some(Coding::Gzip))),
            (&["deflate"], Ok(Some(Coding::Deflate))),
            (&["br"], Ok(Some(Coding::Br))),
            (&["zstd"], Ok(Some(Coding::Zstd))),
            (&["compress"], Err(EncodingProblem::Unknown)),
            (&["gzip, br"], Err(EncodingProblem::Stacked)),
            (&["gzip", "br"], Err(EncodingProblem::Stacked)),
        ];
        for (values, want) in cases {
            let mut h = http::HeaderMap::new();
            for v in values.iter() {
                h.append(http::header::CONTENT_ENCODING, v.parse().unwrap());
            }
            assert_eq!(&content_coding(&h), want, "{values:?}");
        }
    }
}

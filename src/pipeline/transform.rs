//! The pure transform of a scanned body: decode, scan, re-encode. It owns
//! the decoder, the streaming scanner and the encoder and nothing else: no
//! I/O, no metrics, no policy decision. What it produces and finds goes to
//! an [`Events`] receiver (the body wrapper), which decides and reports;
//! an error from the receiver stops the transform at once, so no output
//! of a blocked step is produced.
//!
//! Memory: one decoded step ([`DECODE_SLICE`] of input), the engine's
//! hold-back and the output of the step, never a whole body.

use bytes::Bytes;

use super::codec::{Decoder, Encoder, DECODE_SLICE};
use super::error::PipelineError;
use crate::detect::{Finding, Scanner};

/// Where the transform's results go.
pub(crate) trait Events {
    /// Findings of the last scanned step (to be drained). An error (a
    /// block decision) stops the transform.
    fn findings(&mut self, found: &mut Vec<Finding>) -> Result<(), PipelineError>;
    /// Decoded bytes that went through the scanner (before their findings
    /// are reported, so an observer has seen every byte a finding covers).
    fn scanned(&mut self, input: &[u8]);
    /// The scan limit was reached; the rest passes unscanned.
    fn limit_reached(&mut self);
    /// Bytes ready for the client.
    fn output(&mut self, data: Bytes);
}

/// How much of a body is scanned.
#[derive(Clone, Copy)]
pub(crate) struct Limit {
    /// Decoded bytes scanned at most (`None`: all).
    pub bytes: Option<u64>,
    /// Past the limit: an error (`true`) or the rest unscanned.
    pub block: bool,
}

pub(crate) struct Transform {
    decoder: Option<Decoder>,
    encoder: Option<Encoder>,
    scanner: Scanner,
    scanning: bool,
    /// False in monitor mode: the scan only finds, nothing is output.
    rewrite: bool,
    limit: Limit,
    /// Upstream data bytes seen (encoded).
    input_seen: u64,
    /// Decoded bytes that went through the scanner.
    scanned: u64,
    /// The scanner's output, as pieces: a clean run is a slice of the
    /// scanner's buffer, not a copy (see `Scanner::feed_shared`).
    pieces: Vec<Bytes>,
    /// Bytes past the scan limit, which pass unscanned (after `pieces`).
    out: Vec<u8>,
    decoded: Vec<u8>,
    findings: Vec<Finding>,
}

impl Transform {
    /// `decoder` and `encoder` come as a pair for a coded body; the
    /// encoder is dropped when `rewrite` is off.
    pub(crate) fn new(
        scanner: Scanner,
        decoder: Option<Decoder>,
        encoder: Option<Encoder>,
        rewrite: bool,
        limit: Limit,
    ) -> Transform {
        Transform {
            decoder,
            encoder: if rewrite { encoder } else { None },
            scanner,
            scanning: true,
            rewrite,
            limit,
            input_seen: 0,
            scanned: 0,
            pieces: Vec::new(),
            out: Vec::new(),
            decoded: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// Stops decoding and scanning (monitor mode after an error: the
    /// bytes keep passing, uninspected).
    pub(crate) fn stop(&mut self) {
        self.decoder = None;
        self.scanning = false;
    }

    /// Takes one frame of upstream bytes.
    pub(crate) fn feed(&mut self, data: &[u8], ev: &mut impl Events) -> Result<(), PipelineError> {
        self.input_seen += data.len() as u64;
        if self.decoder.is_some() {
            for piece in data.chunks(DECODE_SLICE) {
                let Some(dec) = self.decoder.as_mut() else { break };
                dec.write(piece)?;
                let mut buf = std::mem::take(&mut self.decoded);
                dec.take_output(&mut buf);
                let r = self.consume(&buf, ev);
                self.decoded = buf;
                r?;
            }
        } else {
            self.consume(data, ev)?;
        }
        self.flush_encoder(ev)
    }

    /// The upstream body ended: everything held back comes out.
    pub(crate) fn finish(&mut self, ev: &mut impl Events) -> Result<(), PipelineError> {
        if self.input_seen > 0 {
            if let Some(dec) = self.decoder.as_mut() {
                dec.finish()?;
                let mut buf = std::mem::take(&mut self.decoded);
                dec.take_output(&mut buf);
                let r = self.consume(&buf, ev);
                self.decoded = buf;
                r?;
            }
        }
        if self.scanning {
            self.scanner.finish_shared(&mut self.pieces, &mut self.findings);
            self.scanning = false;
            self.report_findings(ev)?;
        }
        self.drain_out(ev)?;
        if let Some(enc) = self.encoder.as_mut() {
            // An empty upstream body stays empty rather than becoming an
            // encoded empty document.
            if self.input_seen > 0 {
                let mut tail = enc.take_output();
                tail.extend(enc.finish().map_err(|_| PipelineError::Encode)?);
                ev.output(Bytes::from(tail));
            }
        }
        Ok(())
    }

    /// Scans decoded bytes (up to the scan limit) and moves the result on.
    fn consume(&mut self, mut input: &[u8], ev: &mut impl Events) -> Result<(), PipelineError> {
        if self.scanning {
            if let Some(limit) = self.limit.bytes {
                let room = limit.saturating_sub(self.scanned);
                if input.len() as u64 > room {
                    let (head, rest) = input.split_at(room as usize);
                    self.scan(head, ev)?;
                    if self.limit.block {
                        return Err(PipelineError::SizeLimit);
                    }
                    self.scanner.finish_shared(&mut self.pieces, &mut self.findings);
                    self.scanning = false;
                    self.report_findings(ev)?;
                    ev.limit_reached();
                    input = rest;
                }
            }
            if self.scanning {
                self.scan(input, ev)?;
                input = &[];
            }
        }
        if self.rewrite {
            self.out.extend_from_slice(input);
        }
        self.drain_out(ev)
    }

    fn scan(&mut self, input: &[u8], ev: &mut impl Events) -> Result<(), PipelineError> {
        if input.is_empty() {
            return Ok(());
        }
        self.scanner.feed_shared(input, &mut self.pieces, &mut self.findings);
        self.scanned += input.len() as u64;
        ev.scanned(input);
        self.report_findings(ev)
    }

    fn report_findings(&mut self, ev: &mut impl Events) -> Result<(), PipelineError> {
        if self.findings.is_empty() {
            return Ok(());
        }
        ev.findings(&mut self.findings)
    }

    /// Moves scanner output (then the unscanned rest) to the encoder or
    /// out.
    fn drain_out(&mut self, ev: &mut impl Events) -> Result<(), PipelineError> {
        if !self.rewrite {
            self.pieces.clear();
            self.out.clear();
            return Ok(());
        }
        match self.encoder.as_mut() {
            Some(enc) => {
                for piece in self.pieces.drain(..) {
                    enc.write_all(&piece).map_err(|_| PipelineError::Encode)?;
                }
                if !self.out.is_empty() {
                    enc.write_all(&self.out).map_err(|_| PipelineError::Encode)?;
                    self.out.clear();
                }
            }
            None => {
                for piece in self.pieces.drain(..) {
                    ev.output(piece);
                }
                if !self.out.is_empty() {
                    ev.output(Bytes::from(std::mem::take(&mut self.out)));
                }
            }
        }
        Ok(())
    }

    fn flush_encoder(&mut self, ev: &mut impl Events) -> Result<(), PipelineError> {
        if let Some(enc) = self.encoder.as_mut() {
            enc.flush().map_err(|_| PipelineError::Encode)?;
            ev.output(Bytes::from(enc.take_output()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ContentHint;
    use crate::policy::Policy;

    #[derive(Default)]
    struct Collect(Vec<Bytes>);

    impl Events for Collect {
        fn findings(&mut self, found: &mut Vec<Finding>) -> Result<(), PipelineError> {
            found.clear();
            Ok(())
        }
        fn scanned(&mut self, _: &[u8]) {}
        fn limit_reached(&mut self) {}
        fn output(&mut self, data: Bytes) {
            self.0.push(data);
        }
    }

    fn transform() -> Transform {
        let scanner = Scanner::new(Policy::default_policy().engine, ContentHint::Text);
        Transform::new(scanner, None, None, true, Limit { bytes: None, block: false })
    }

    /// Frames come out as the whole body would: clean text unchanged, a
    /// value split across frames rewritten once it is complete.
    #[test]
    fn frames_come_out_as_the_whole_body_would() {
        let cases: &[(&[&str], &str)] = &[
            (&["<p>plain text, nothing to find</p>\n"], "<p>plain text, nothing to find</p>\n"),
            // A frame that ends inside a possible match: its head is
            // passed, the held tail comes out with the next frame.
            (
                &["order total 4111 1111", " 1111 1111 paid\n"],
                "order total **** **** **** 1111 paid\n",
            ),
            (&["<p>first</p>", "<p>second</p>\n"], "<p>first</p><p>second</p>\n"),
        ];
        for (frames, want) in cases {
            let mut t = transform();
            let mut ev = Collect::default();
            for f in frames.iter() {
                t.feed(f.as_bytes(), &mut ev).unwrap();
            }
            t.finish(&mut ev).unwrap();
            let out: Vec<u8> = ev.0.concat();
            assert_eq!(String::from_utf8(out).unwrap(), *want, "{frames:?}");
        }
    }
}

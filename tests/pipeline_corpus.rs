//! The labeled corpus (every textual form of issue 16: references, Unicode
//! separators, JSON escapes, percent-encoding, inline tags, escaped PEM
//! newlines...) through a real guard on 127.0.0.1:0, in every transfer
//! shape the pipeline tests use: Content-Length, chunked 1-byte upstream
//! writes, and gzip, br, zstd and deflate. In each, the client gets exactly
//! what the engine makes of the whole document, no planted card, SSN, IBAN
//! or secret survives, and no decoy is altered.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use leakwarden::detect::ContentHint;
use leakwarden::pipeline::codec::{decode_all, encode_all, Coding};
use leakwarden::policy::Policy;
use tokio::io::AsyncWriteExt;

#[path = "support/corpus/mod.rs"]
mod corpus;

use corpus::STRICT;

/// Documents sent in each shape: two of each document type.
const DOCS: usize = 16;

fn hint(ct: &str) -> ContentHint {
    if ct.contains("json") {
        ContentHint::Json
    } else if ct.contains("html") {
        ContentHint::Html
    } else {
        ContentHint::Text
    }
}

fn docs() -> Arc<Vec<corpus::Doc>> {
    Arc::new(corpus::generate(corpus::SEED, DOCS))
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The body the client got for `doc`, checked against the engine and the
/// labels.
fn check(doc: &corpus::Doc, body: &[u8], shape: &str) {
    let want = Policy::default_policy().engine.scan_all(&doc.data, hint(&doc.content_type)).0;
    assert!(body == want.as_slice(), "{} ({shape}): not what the engine makes of it", doc.file);
    // The default policy masks: lengths and spans are kept.
    assert_eq!(body.len(), doc.data.len(), "{} ({shape})", doc.file);
    let mut planted = 0;
    for l in &doc.labels {
        let (a, b) = (l.start as usize, l.end as usize);
        if l.is_pii() && STRICT.contains(&l.kind.as_str()) {
            planted += 1;
            assert!(
                body[a..b] != doc.data[a..b] && !has(body, l.value.as_bytes()),
                "{}@{a} ({shape}): a {} in form {} survives",
                doc.file,
                l.kind,
                l.form
            );
        } else if !l.is_pii() {
            assert!(
                body[a..b] == doc.data[a..b],
                "{}@{a} ({shape}): decoy {} in form {} altered",
                doc.file,
                l.kind,
                l.form
            );
        }
    }
    assert!(planted > 0, "{}: nothing planted", doc.file);
}

/// An upstream serving document `i` at `/<i>`, compressed with `coding`
/// when given (with its Content-Length either way).
async fn doc_upstream(
    docs: Arc<Vec<corpus::Doc>>,
    coding: Option<(&'static str, Coding)>,
) -> SocketAddr {
    upstream(move |req| {
        let docs = docs.clone();
        async move {
            let i: usize = req.uri().path()[1..].parse().unwrap();
            let doc = &docs[i];
            let body = match coding {
                Some((_, c)) => Bytes::from(encode_all(c, &doc.data)),
                None => Bytes::from(doc.data.clone()),
            };
            let mut r = Response::new(full(body.clone()));
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&doc.content_type).unwrap());
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            if let Some((token, _)) = coding {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
            }
            r
        }
    })
    .await
}

#[tokio::test]
async fn corpus_through_the_guard_with_content_length_and_every_coding() {
    let docs = docs();
    let shapes: [(&str, Option<(&'static str, Coding)>); 5] = [
        ("content-length", None),
        ("gzip", Some(("gzip", Coding::Gzip))),
        ("br", Some(("br", Coding::Br))),
        ("zstd", Some(("zstd", Coding::Zstd))),
        ("deflate", Some(("deflate", Coding::Deflate))),
    ];
    for (shape, coding) in shapes {
        let up = doc_upstream(docs.clone(), coding).await;
        let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
        let client = h1_client();
        for (i, doc) in docs.iter().enumerate() {
            let req =
                Request::get(format!("http://{}/{i}", guard.listen[0])).body(empty()).unwrap();
            let (parts, body) = send(&client, req).await;
            assert_eq!(parts.status, StatusCode::OK, "{} ({shape})", doc.file);
            let body = match coding {
                Some((token, c)) => {
                    assert_eq!(parts.headers[header::CONTENT_ENCODING], token);
                    decode_all(c, &body).expect("the client decodes the re-encoded body")
                }
                None => body.to_vec(),
            };
            check(doc, &body, shape);
        }
    }
}

/// Each document written by the upstream one byte per write (chunked), so
/// that references, escapes and UTF-8 sequences arrive cut everywhere.
#[tokio::test]
async fn corpus_through_the_guard_in_one_byte_writes() {
    let docs = docs();
    for doc in docs.iter().take(8) {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            doc.content_type
        );
        let data = Arc::new(doc.data.clone());
        let up = raw_upstream(move |mut s| {
            let head = head.clone();
            let data = data.clone();
            async move {
                let _ = s.set_nodelay(true);
                let _ = s.write_all(head.as_bytes()).await;
                for b in data.iter() {
                    let chunk = [b"1\r\n".as_slice(), &[*b], b"\r\n"].concat();
                    if s.write_all(&chunk).await.is_err() || s.flush().await.is_err() {
                        return;
                    }
                }
                let _ = s.write_all(b"0\r\n\r\n").await;
                let _ = s.flush().await;
            }
        })
        .await;
        let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
        let (parts, body) = get(guard.listen[0], "/").await;
        assert_eq!(parts.status, StatusCode::OK, "{}", doc.file);
        check(doc, &body, "1-byte writes");
    }
}

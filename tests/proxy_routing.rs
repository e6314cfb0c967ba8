//! Routing by host and path prefix, and proxy headers in both directions.

mod common;

use common::*;
use http::{Request, Response};
use tokio::io::AsyncWriteExt;

/// Upstream answering with its name and the request head it saw, one
/// header per line, lower-case names.
async fn named_upstream(name: &'static str) -> std::net::SocketAddr {
    upstream(move |req: Request<hyper::body::Incoming>| async move {
        let mut out = format!("{name} {} {}\n", req.method(), req.uri());
        for (k, v) in req.headers() {
            out.push_str(&format!("{}: {}\n", k, v.to_str().unwrap_or("?")));
        }
        Response::new(full(out))
    })
    .await
}

#[tokio::test]
async fn routes_by_host_then_longest_prefix() {
    let (a, b, c) =
        (named_upstream("a").await, named_upstream("b").await, named_upstream("c").await);
    let cfg = format!(
        r#"
[upstreams.a]
url = "http://{a}"
[upstreams.b]
url = "http://{b}"
[upstreams.c]
url = "http://{c}"
[[routes]]
name = "shop"
host = "shop.example.com"
upstream = "a"
[[routes]]
name = "shop-api"
host = "shop.example.com"
path_prefix = "/api"
upstream = "b"
[[routes]]
name = "cdn"
host = "*.cdn.example.com"
upstream = "c"
"#
    );
    let (guard, _) = start_guard_config(&cfg).await;
    let addr = guard.listen[0];
    let cases = [
        ("shop.example.com", "/", 200, "a"),
        ("SHOP.example.com:8080", "/cart", 200, "a"),
        ("shop.example.com", "/api", 200, "b"),
        ("shop.example.com", "/api/v1/items?q=1", 200, "b"),
        ("shop.example.com", "/apis", 200, "a"),
        ("x.cdn.example.com", "/img.png", 200, "c"),
        ("cdn.example.com", "/img.png", 404, ""),
        ("other.org", "/", 404, ""),
    ];
    for h2 in [false, true] {
        for (host, path, status, who) in cases {
            let (parts, body) = if h2 {
                // HTTP/2 carries the host in :authority.
                let req = Request::get(format!("http://{host}{path}")).body(empty()).unwrap();
                h2_send_to(addr, req).await
            } else {
                let req = Request::get(format!("http://{addr}{path}"))
                    .header("host", host)
                    .body(empty())
                    .unwrap();
                send(&h1_client(), req).await
            };
            assert_eq!(parts.status, status, "{host}{path} h2={h2}");
            let text = String::from_utf8_lossy(&body);
            if status == 200 {
                assert!(text.starts_with(&format!("{who} GET {path}\n")), "{host}{path}: {text}");
            } else {
                assert_eq!(text, "no route\n");
            }
        }
    }
    let m = metrics_text(&guard).await;
    assert!(
        m.contains("leakwarden_requests_total{code=\"404\",method=\"GET\",route=\"unrouted\"} 4"),
        "{m}"
    );
    assert!(
        m.contains("leakwarden_requests_total{code=\"200\",method=\"GET\",route=\"shop-api\"} 4")
    );
    guard.shutdown().await;
}

fn header_lines(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

fn header<'a>(lines: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    lines.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

#[tokio::test]
async fn request_headers_are_rewritten_for_the_upstream() {
    let up = named_upstream("u").await;
    let (guard, _) = start_guard(up).await;
    let addr = guard.listen[0];
    let req = Request::get(format!("http://{addr}/h"))
        .header("host", "shop.example.com")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "secret")
        .header("keep-alive", "timeout=5")
        .header("te", "trailers")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-forwarded-proto", "https")
        .header("x-request-id", "req-42")
        .header("x-app", "kept")
        .body(empty())
        .unwrap();
    let (parts, body) = send(&h1_client(), req).await;
    let lines = header_lines(&body);
    for gone in [
        "connection",
        "x-hop",
        "keep-alive",
        "te",
        "proxy-authorization",
        "transfer-encoding",
        "upgrade",
    ] {
        assert!(header(&lines, gone).is_empty(), "{gone} reached the upstream: {lines:?}");
    }
    assert_eq!(header(&lines, "host"), ["shop.example.com"]);
    assert_eq!(header(&lines, "x-forwarded-for"), ["203.0.113.9, 127.0.0.1"]);
    assert_eq!(header(&lines, "x-forwarded-proto"), ["http"]);
    assert_eq!(header(&lines, "x-forwarded-host"), ["shop.example.com"]);
    assert_eq!(header(&lines, "via"), ["1.1 leakwarden"]);
    assert_eq!(header(&lines, "x-request-id"), ["req-42"]);
    assert_eq!(header(&lines, "x-app"), ["kept"]);
    assert_eq!(parts.headers["x-request-id"], "req-42");

    // Without an incoming id one is generated and echoed to the client.
    let (parts, body) = get(addr, "/h").await;
    let lines = header_lines(&body);
    let id = header(&lines, "x-request-id");
    assert_eq!(id.len(), 1);
    assert_eq!(id[0].len(), 32);
    assert_eq!(parts.headers["x-request-id"], id[0]);
    guard.shutdown().await;
}

#[tokio::test]
async fn host_is_replaced_when_preserve_host_is_off() {
    let up = named_upstream("u").await;
    let cfg = format!(
        "[upstreams.app]\nurl = \"http://{up}\"\npreserve_host = false\n[[routes]]\nname = \"app\"\nupstream = \"app\"\n"
    );
    let (guard, _) = start_guard_config(&cfg).await;
    let req = Request::get(format!("http://{}/h", guard.listen[0]))
        .header("host", "shop.example.com")
        .body(empty())
        .unwrap();
    let (_, body) = send(&h1_client(), req).await;
    let lines = header_lines(&body);
    assert_eq!(header(&lines, "host"), [up.to_string().as_str()]);
    assert_eq!(header(&lines, "x-forwarded-host"), ["shop.example.com"]);
    guard.shutdown().await;
}

#[tokio::test]
async fn response_hop_by_hop_headers_are_removed() {
    let up = raw_upstream(|mut s| async move {
        let _ = s
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nX-App: kept\r\nVia: 1.1 origin\r\n\r\nok",
            )
            .await;
    })
    .await;
    let (guard, _) = start_guard(up).await;
    for client in [h1_client(), h2_client()] {
        let req = Request::get(format!("http://{}/", guard.listen[0])).body(empty()).unwrap();
        let (parts, body) = send(&client, req).await;
        assert_eq!(&body[..], b"ok");
        for gone in ["x-hop", "keep-alive", "proxy-authenticate"] {
            assert!(parts.headers.get(gone).is_none(), "{gone} reached the client");
        }
        assert_eq!(parts.headers["x-app"], "kept");
        assert_eq!(parts.headers["via"], "1.1 origin, 1.1 leakwarden");
    }
    guard.shutdown().await;
}

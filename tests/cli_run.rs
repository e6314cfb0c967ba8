//! `leakwarden run` as a real process: flags only (no file), curl through
//! the guard matches curl direct, SIGTERM drains and exits 0.

mod common;

use std::process::{Command, Stdio};

use common::*;
use http::{Request, Response};

fn curl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl is installed");
    assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_flags_proxies_like_direct_and_stops_on_sigterm() {
    let page = pseudo_random(300_000, 5);
    let p2 = page.clone();
    let up = upstream(move |req: Request<hyper::body::Incoming>| {
        let page = p2.clone();
        async move {
            match req.uri().path() {
                "/page" => Response::new(full(page)),
                _ => Response::new(full(format!("hello from {}\n", req.uri()))),
            }
        }
    })
    .await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_leakwarden"))
        .args(["run", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--workers", "2"])
        .arg("--upstream")
        .arg(format!("http://{up}"))
        .env("RUST_LOG", "info")
        .env_remove("LEAKWARDEN_CONFIG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let rx = stderr_lines(&mut child);
    let guard = wait_for_addr(&rx, "proxy listening");
    let admin = wait_for_addr(&rx, "admin listening");

    let (direct, proxied) = tokio::task::spawn_blocking(move || {
        let direct =
            [curl(&[&format!("http://{up}/page")]), curl(&[&format!("http://{up}/a?b=c")])];
        let proxied =
            [curl(&[&format!("http://{guard}/page")]), curl(&[&format!("http://{guard}/a?b=c")])];
        let h2 = curl(&["--http2-prior-knowledge", &format!("http://{guard}/page")]);
        assert!(h2 == direct[0], "h2c through the guard differs");
        let health = curl(&[&format!("http://{admin}/healthz")]);
        assert_eq!(health, b"ok\n");
        let metrics = String::from_utf8(curl(&[&format!("http://{admin}/metrics")])).unwrap();
        assert!(
            metrics.contains(
                "leakwarden_requests_total{code=\"200\",method=\"GET\",route=\"default\"} 3"
            ),
            "{metrics}"
        );
        (direct, proxied)
    })
    .await
    .unwrap();
    assert!(direct == proxied, "curl through the guard differs from curl direct");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let code = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert_eq!(code.code(), Some(0), "SIGTERM drains and exits 0");
}

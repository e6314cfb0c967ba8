//! The real binary: `leakwarden run --config FILE` reloads on SIGHUP, logs
//! the failure of an invalid file with file:line:col (JSON log lines) and
//! keeps serving the previous configuration, then stops cleanly on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use http::Response;

const WAIT: Duration = Duration::from_secs(20);

async fn named_upstream(name: &'static str) -> SocketAddr {
    upstream(move |_req| async move {
        Response::builder().header("content-type", "text/plain").body(full(name)).unwrap()
    })
    .await
}

fn config(upstream: SocketAddr) -> String {
    format!(
        r#"[server]
listen = ["127.0.0.1:0"]

[admin]
listen = "127.0.0.1:0"

[log]
format = "json"
level = "info"

[upstreams.app]
url = "http://{upstream}"

[[routes]]
name = "app"
path_prefix = "/"
upstream = "app"
"#
    )
}

/// The running binary plus its JSON log lines.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
    log: Vec<serde_json::Value>,
}

impl Proc {
    /// Waits (bounded) for a log line matching `pred` and returns it.
    fn wait_line(
        &mut self,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        if let Some(l) = self.log.iter().find(|l| pred(l)) {
            return l.clone();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.log.push(l.clone());
                    if pred(&l) {
                        return l;
                    }
                }
                Err(_) => panic!("no log line {what} within {WAIT:?}; got {:#?}", self.log),
            }
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill {sig}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn message(l: &serde_json::Value) -> &str {
    l["message"].as_str().unwrap_or("")
}

/// Polls /metrics until `series` reaches `want` (the binary is another
/// process: there is nothing to await but its answers).
async fn wait_metric(admin: SocketAddr, series: &str, want: f64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, body) = get(admin, "/metrics").await;
        let text = String::from_utf8(body.to_vec()).unwrap();
        let v = text
            .lines()
            .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
            .map(|v| v.trim().parse::<f64>().unwrap());
        if v == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{series} never reached {want}:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// The SIGHUP is sent as soon as the listeners are logged: the signal
// handlers must already be in place by then (they once were installed after
// the "listening" lines, and a loaded machine let the default SIGHUP action
// kill the guard).
#[tokio::test]
async fn sighup_reloads_and_bad_file_is_logged_with_its_location() {
    let a = named_upstream("from-a").await;
    let b = named_upstream("from-b").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leakwarden.toml");
    std::fs::write(&path, config(a)).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_leakwarden"))
        .args(["run", "--config"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v = serde_json::from_str(&line)
                .unwrap_or_else(|_| serde_json::json!({ "message": "NOT JSON", "raw": line }));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    let mut p = Proc { child, lines: rx, log: Vec::new() };

    let addr_of =
        |l: &serde_json::Value| -> SocketAddr { l["addr"].as_str().unwrap().parse().unwrap() };
    let listen = addr_of(&p.wait_line("proxy listening", |l| message(l) == "proxy listening"));
    let admin = addr_of(&p.wait_line("admin listening", |l| message(l) == "admin listening"));
    // A SIGHUP before any request: the file is unchanged, the reload
    // succeeds, and the guard must still be alive and serving.
    p.signal("-HUP");
    wait_metric(admin, r#"leakwarden_config_reloads_total{result="success"}"#, 1.0).await;
    assert_eq!(get(listen, "/").await.1, "from-a");

    std::fs::write(&path, config(b)).unwrap();
    p.signal("-HUP");
    wait_metric(admin, r#"leakwarden_config_reloads_total{result="success"}"#, 2.0).await;
    let line = p.wait_line("reload success", |l| message(l) == "configuration reloaded");
    assert_eq!(line["trigger"], "sighup");
    assert_eq!(get(listen, "/").await.1, "from-b");

    // Line 3, column 1: an unknown key in [admin].
    std::fs::write(&path, "[admin]\nlisten = \"127.0.0.1:0\"\nport = 9\n").unwrap();
    p.signal("-HUP");
    wait_metric(admin, r#"leakwarden_config_reloads_total{result="failure"}"#, 1.0).await;
    let line =
        p.wait_line("reload failure", |l| message(l).starts_with("configuration reload failed"));
    assert_eq!(line["level"], "ERROR");
    let err = line["error"].as_str().unwrap();
    assert!(err.starts_with(&format!("{}:3:1:", path.display())), "{err}");
    assert_eq!(get(listen, "/").await.1, "from-b", "previous configuration kept");
    wait_metric(admin, "leakwarden_config_last_reload_successful", 0.0).await;

    // Every line the binary wrote so far was JSON.
    assert!(p.log.iter().all(|l| message(l) != "NOT JSON"), "{:#?}", p.log);

    p.signal("-TERM");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the guard did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
}

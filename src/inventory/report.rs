//! `leakwarden report`: the inventory of a running guard (its admin
//! listener's `/inventory`) or of saved snapshots, merged, as Markdown,
//! HTML or JSON on standard output.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::render;
use super::store::{Limits, Snapshot, Store};

/// Output format of `leakwarden report`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Md,
    Html,
    Json,
}

/// Arguments of `leakwarden report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where the inventory comes from: the admin listener
    /// (`http://127.0.0.1:9901`, `/inventory` is added when no path is
    /// given) or a snapshot file.
    #[arg(long, default_value = "http://127.0.0.1:9901")]
    pub from: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Snapshot files of other replicas to merge in (counts add up).
    #[arg(long, num_args = 1..)]
    pub merge: Vec<PathBuf>,
}

/// Reads `GET /inventory` from a plain-HTTP admin listener.
fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// admin URLs are supported")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/inventory"),
    };
    let path = if path == "/" { "/inventory" } else { path };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))?;
    let timeout = Duration::from_secs(10);
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{url}: {e}"))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    // HTTP/1.0: the answer is delimited by the connection's end, no chunks.
    write!(s, "GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n")
        .map_err(|e| format!("{url}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("{url}: {e}"))?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("malformed response")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("{url}: status {status}"));
    }
    Ok(raw[split + 4..].to_vec())
}

fn read_store(source: &str) -> Result<Store, String> {
    let bytes = if source.starts_with("http://") || source.starts_with("https://") {
        fetch(source)?
    } else {
        std::fs::read(source).map_err(|e| format!("{source}: {e}"))?
    };
    let snap: Snapshot = serde_json::from_slice(&bytes).map_err(|e| format!("{source}: {e}"))?;
    Store::from_snapshot(snap).map_err(|e| format!("{source}: {e}"))
}

/// Builds the merged snapshot the arguments name.
pub fn build(args: &ReportArgs) -> Result<Snapshot, String> {
    let mut store = read_store(&args.from)?;
    let limits = Limits::default();
    for f in &args.merge {
        store.merge(&read_store(&f.display().to_string())?, &limits);
    }
    Ok(store.to_snapshot())
}

/// Runs `leakwarden report`: 0 on success, 1 when a source cannot be read.
pub fn run(args: &ReportArgs) -> ExitCode {
    let snap = match build(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("leakwarden: report: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = match args.format {
        Format::Md => render::markdown(&snap),
        Format::Html => render::html(&snap),
        Format::Json => serde_json::to_string_pretty(&snap).unwrap_or_default() + "\n",
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

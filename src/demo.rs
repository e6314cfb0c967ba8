//! `leakwarden demo`: an in-process demo shop upstream on loopback with fake
//! sensitive data, and the guard in front of it.
//!
//! Every value here is a published test number or an invented one that
//! passes the validators (Luhn and issuer ranges for cards, mod-97 for
//! IBANs, SSA rules for SSNs); none belongs to a real person. The demo
//! only ever binds loopback unless told otherwise.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use crate::app::{self, Overrides};
use crate::metrics::Metrics;
use crate::proxy::{Guard, Proxy};
use crate::serve::{self, EXIT_CONFIG, EXIT_FAILURE};

/// Arguments of `leakwarden demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Address of the guard (the URL you curl).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address of the admin listener (/metrics, /healthz, /readyz).
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
    /// Address of the demo shop upstream; port 0 lets the OS choose.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub shop_listen: SocketAddr,
    /// Optional configuration file for policies and detectors (it must not
    /// define routes: the demo routes everything to the shop).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// The shop's account page (HTML).
pub const ACCOUNT_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Acme Outfitters - My account</title></head>
<body>
<h1>My account</h1>
<section id="profile">
  <p>Name: Jane Q. Example</p>
  <p>Email: <a href="mailto:jane.example@example.com">jane.example@example.com</a></p>
  <p>Phone: +1 415-555-0132</p>
  <p>SSN on file: 536-22-1945</p>
</section>
<section id="wallet">
  <h2>Saved payment methods</h2>
  <ul>
    <li>Visa ending 1111: <span class="pan">4111 1111 1111 1111</span> exp 12/29</li>
    <li>Mastercard: <span class="pan">5555-5555-5555-4444</span> exp 03/28</li>
    <li>Bank transfer: IBAN GB82 WEST 1234 5698 7654 32</li>
  </ul>
</section>
<section id="orders">
  <h2>Recent orders</h2>
  <table>
    <tr><th>Order</th><th>Placed</th><th>Total</th><th>Tracking</th></tr>
    <tr><td>ORD-2026-004217</td><td>2026-11-02 14:31:07</td><td>$1,299.00</td><td>940011189922385</td></tr>
    <tr><td>ORD-2026-003988</td><td>2026-10-17 09:05:44</td><td>$84.50</td><td>1732874400</td></tr>
  </table>
  <p>Customer since 2019. Loyalty points: 12,480. Support line: 1-800-555-0199 (toll free).</p>
</section>
</body>
</html>
"#;

/// The shop's customer API (JSON): one card as a string, one as a number.
pub const CUSTOMERS_JSON: &str = r#"{
  "page": 1,
  "per_page": 2,
  "total": 2,
  "generated_at": 1764398400,
  "customers": [
    {
      "id": 100231,
      "name": "Jane Q. Example",
      "email": "jane.example@example.com",
      "phone": "+1 (415) 555-0132",
      "ssn": "536-22-1945",
      "card": {"number": "4111111111111111", "brand": "visa", "exp": "12/29"},
      "iban": "DE89370400440532013000",
      "balance_cents": 129900
    },
    {
      "id": 100232,
      "name": "Alex Sample",
      "email": "alex.sample@example.org",
      "phone": "+44 20 7946 0958",
      "ssn": "412-67-8302",
      "card": {"number": 4012888888881881, "brand": "visa", "exp": "01/27"},
      "iban": "NL91ABNA0417164300",
      "balance_cents": 8450
    }
  ]
}
"#;

/// The shop's export (CSV).
pub const EXPORT_CSV: &str = "\
customer_id,name,email,card_number,ssn,iban,last_order,total
100231,Jane Q. Example,jane.example@example.com,4111-1111-1111-1111,536-22-1945,GB82WEST12345698765432,ORD-2026-004217,1299.00
100232,Alex Sample,alex.sample@example.org,5105 1051 0510 5100,412-67-8302,FR1420041010050500013M02606,ORD-2026-003988,84.50
100233,Sam Placeholder,sam@example.net,378282246310005,291-45-7760,NL91ABNA0417164300,ORD-2026-003560,17.25
";

const INDEX_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Outfitters</title></head>
<body><h1>Acme Outfitters (demo shop)</h1>
<ul><li><a href="/account">/account</a> (HTML)</li>
<li><a href="/api/customers">/api/customers</a> (JSON)</li>
<li><a href="/export.csv">/export.csv</a> (CSV)</li></ul>
</body></html>
"#;

fn page(path: &str) -> Option<(&'static str, &'static str)> {
    Some(match path {
        "/" => ("text/html; charset=utf-8", INDEX_HTML),
        "/account" => ("text/html; charset=utf-8", ACCOUNT_HTML),
        "/api/customers" => ("application/json", CUSTOMERS_JSON),
        "/export.csv" => ("text/csv; charset=utf-8", EXPORT_CSV),
        _ => return None,
    })
}

async fn shop(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, ctype, body) = match page(req.uri().path()) {
        Some((ctype, body)) => (StatusCode::OK, ctype, body),
        None => (StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "not found\n"),
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    Ok(resp)
}

/// Starts the demo shop on `addr` and returns the bound address. It runs
/// until the tokio runtime stops.
pub async fn spawn_shop(addr: SocketAddr) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        io::Error::new(e.kind(), format!("cannot listen on {addr} (demo shop): {e}"))
    })?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let builder = builder.clone();
            tokio::spawn(async move {
                let _ = builder.serve_connection(TokioIo::new(stream), service_fn(shop)).await;
            });
        }
    });
    Ok(bound)
}

/// Runs the demo until Ctrl-C.
pub fn run(args: DemoArgs) -> ExitCode {
    let tokio_rt = match serve::tokio_runtime(None) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("leakwarden demo: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    tokio_rt.block_on(async move {
        let shop_addr = match spawn_shop(args.shop_listen).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("leakwarden demo: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        };
        let overrides = Overrides {
            listen: vec![args.listen],
            admin: Some(args.admin),
            upstream: Some(format!("http://{shop_addr}")),
            ..Overrides::default()
        };
        let runtime = match app::load_optional(args.config.as_deref(), &overrides) {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("leakwarden demo: configuration error: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        serve::init_logging(&runtime.file.log);
        let metrics = Arc::new(Metrics::new());
        metrics.record_initial_load(crate::clock::unix_now());
        let proxy = Proxy::new(runtime, metrics);
        let signals = serve::ShutdownSignals::install();
        let guard = match Guard::start_with(proxy, None).await {
            Ok(g) => g,
            Err(e) => {
                eprintln!("leakwarden demo: {e}");
                if e.kind() == io::ErrorKind::AddrInUse {
                    eprintln!(
                        "  another program uses that port; pick free ones, e.g.\n  leakwarden demo --listen 127.0.0.1:18080 --admin 127.0.0.1:19901"
                    );
                }
                return ExitCode::from(EXIT_FAILURE);
            }
        };
        let guard_addr = guard.listen[0];
        let admin = guard.admin.map(|a| a.to_string()).unwrap_or_default();
        println!(
            "\nleakwarden demo is running (Ctrl-C to stop).\n\n\
             The demo shop (upstream, unprotected):  http://{shop_addr}/\n\
             The same shop through the guard:        http://{guard_addr}/\n\n\
             Compare what leaks directly with what the guard lets through:\n\n\
             \x20 curl -s http://{shop_addr}/account          # direct: raw card numbers, SSN, IBAN\n\
             \x20 curl -s http://{guard_addr}/account          # through leakwarden\n\
             \x20 curl -s http://{guard_addr}/api/customers    # JSON (a card as a string and as a number)\n\
             \x20 curl -s http://{guard_addr}/export.csv       # CSV export\n\
             \x20 curl --http2-prior-knowledge -s http://{guard_addr}/account   # HTTP/2 (h2c)\n\n\
             Metrics and health:\n\n\
             \x20 curl -s http://{admin}/metrics | grep leakwarden_\n\
             \x20 curl -s http://{admin}/readyz\n\
             \n\
             All data is fake: published test card numbers and invented SSNs and IBANs.\n"
        );
        serve::run_until_signal(guard, signals).await
    })
}

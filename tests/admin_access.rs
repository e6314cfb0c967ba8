//! The admin listener's protections, with real requests on 127.0.0.1:0:
//! with a token configured, `POST /reload` needs `Authorization: Bearer`;
//! a request carrying `Origin` (what a browser adds to a cross-site POST)
//! or naming a foreign `Host` (DNS rebinding) is refused on every endpoint
//! and never reaches the reload; read-only endpoints need no token.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use http::{Request, StatusCode};
use leakwarden::app::{self, Overrides};
use leakwarden::metrics::Metrics;
use leakwarden::proxy::{Guard, Proxy};
use leakwarden::reload::Reloader;

// No access log: a line per request on stdout would flood the test output.
const QUIET: &str = "\n[access_log]\nenabled = false\n";

/// One admin request: method, path, headers and the status expected.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, StatusCode);

const TOKEN: &str = "s3cr3t-admin-token-0123456789";

struct Admin {
    guard: Guard,
    metrics: Arc<Metrics>,
    dir: tempfile::TempDir,
}

impl Admin {
    /// A guard with reload, started from `admin_toml` plus one route; the
    /// token file `token` (if any) is written beside the configuration.
    async fn start(admin_toml: &str, token: Option<&str>) -> Admin {
        let dir = tempfile::tempdir().unwrap();
        if let Some(t) = token {
            std::fs::write(dir.path().join("admin.token"), format!("{t}\n")).unwrap();
        }
        let path: PathBuf = dir.path().join("leakwarden.toml");
        let text = format!(
            "{admin_toml}\n[upstreams.app]\nurl = \"http://127.0.0.1:1\"\n\
             [[routes]]\nname = \"r\"\nupstream = \"app\"\n"
        );
        std::fs::write(&path, text + QUIET).unwrap();
        let overrides =
            Overrides { listen: vec![loopback()], admin: Some(loopback()), ..Overrides::default() };
        let (_, runtime) = app::load(&path, &overrides).expect("config valid");
        let metrics = Arc::new(Metrics::new());
        let proxy = Proxy::new(runtime, metrics.clone());
        let reloader = Reloader::new(Some(path), overrides, proxy.clone());
        let guard = Guard::start_with(proxy, Some(reloader.admin_hook())).await.expect("starts");
        Admin { guard, metrics, dir }
    }

    fn reloads(&self) -> u64 {
        ["success", "failure"]
            .iter()
            .map(|r| self.metrics.config_reloads_total.with_label_values(&[r]).get())
            .sum()
    }

    async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> StatusCode {
        let admin = self.guard.admin.unwrap();
        let mut b = Request::builder().method(method).uri(format!("http://{admin}{path}"));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        send(&h1_client(), b.body(empty()).unwrap()).await.0.status
    }
}

#[tokio::test]
async fn reload_needs_the_token_when_one_is_configured() {
    let a = Admin::start("[admin]\ntoken_file = \"admin.token\"\n", Some(TOKEN)).await;
    let bearer = format!("Bearer {TOKEN}");
    let cases: &[Case] = &[
        ("POST", "/reload", vec![], StatusCode::UNAUTHORIZED),
        (
            "POST",
            "/reload",
            vec![("authorization", "Bearer wrong-token-0123456789")],
            StatusCode::UNAUTHORIZED,
        ),
        ("POST", "/reload", vec![("authorization", TOKEN)], StatusCode::UNAUTHORIZED),
        (
            "POST",
            "/reload",
            vec![("authorization", &bearer), ("origin", "https://evil.example")],
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/reload",
            vec![("authorization", &bearer), ("host", "evil.example:9901")],
            StatusCode::FORBIDDEN,
        ),
        ("GET", "/healthz", vec![], StatusCode::OK),
        ("GET", "/metrics", vec![], StatusCode::OK),
        ("GET", "/metrics", vec![("host", "rebound.evil.example")], StatusCode::FORBIDDEN),
        ("GET", "/metrics", vec![("origin", "null")], StatusCode::FORBIDDEN),
    ];
    for (method, path, headers, want) in cases {
        assert_eq!(a.request(method, path, headers).await, *want, "{method} {path} {headers:?}");
    }
    assert_eq!(a.reloads(), 0, "no refused request reached the reload");

    let ok = a.request("POST", "/reload", &[("authorization", &bearer)]).await;
    assert_eq!(ok, StatusCode::OK);
    assert_eq!(a.reloads(), 1);
}

#[tokio::test]
async fn curl_reloads_with_the_token_file() {
    let a = Admin::start("[admin]\ntoken_file = \"admin.token\"\n", Some(TOKEN)).await;
    let admin = a.guard.admin.unwrap();
    let token_file = a.dir.path().join("admin.token");
    let curl = |with_token: bool| {
        let url = format!("http://{admin}/reload");
        let header = format!(
            "Authorization: Bearer {}",
            std::fs::read_to_string(&token_file).unwrap().trim()
        );
        tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new("curl");
            cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", &url]);
            if with_token {
                cmd.args(["-H", &header]);
            }
            let out = cmd.output().expect("curl runs (it is installed by .ci/run)");
            String::from_utf8(out.stdout).unwrap()
        })
    };
    assert_eq!(curl(false).await.unwrap(), "401");
    assert_eq!(curl(true).await.unwrap(), "200");
    assert_eq!(a.reloads(), 1);
}

#[tokio::test]
async fn without_a_token_loopback_reload_is_open_but_not_cross_site() {
    let a = Admin::start("", None).await;
    // What a web page's form or fetch() POST to the loopback port carries.
    let cross_site = [("origin", "https://evil.example"), ("content-type", "text/plain")];
    assert_eq!(a.request("POST", "/reload", &cross_site).await, StatusCode::FORBIDDEN);
    assert_eq!(
        a.request("POST", "/reload", &[("host", "evil.example")]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(a.reloads(), 0);
    assert_eq!(a.request("POST", "/reload", &[]).await, StatusCode::OK);
    assert_eq!(a.reloads(), 1);
}

#[tokio::test]
async fn configured_admin_host_names_are_accepted() {
    let a = Admin::start("[admin]\nhosts = [\"Admin.Internal\"]\n", None).await;
    assert_eq!(
        a.request("GET", "/healthz", &[("host", "admin.internal:9901")]).await,
        StatusCode::OK
    );
    assert_eq!(
        a.request("GET", "/healthz", &[("host", "other.internal")]).await,
        StatusCode::FORBIDDEN
    );
}

#[test]
fn token_errors_name_the_setting_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let route = "[upstreams.app]\nurl = \"http://127.0.0.1:1\"\n[[routes]]\nname = \"r\"\nupstream = \"app\"\n";
    std::fs::write(dir.path().join("short.token"), "tooshort-tok\n").unwrap();
    let cases = [
        ("[admin]\ntoken_file = \"short.token\"\n", "at least 16 bytes"),
        ("[admin]\ntoken_file = \"missing.token\"\n", "token_file: cannot read"),
        ("[admin]\ntoken_env = \"LEAKWARDEN_TEST_NO_SUCH_VAR\"\n", "is not set"),
        ("[admin]\ntoken_file = \"a\"\ntoken_env = \"B\"\n", "not both"),
        ("[admin]\nhosts = [\"bad host\"]\n", "[admin] hosts"),
    ];
    for (admin, want) in cases {
        let path = dir.path().join("c.toml");
        std::fs::write(&path, format!("{admin}{route}")).unwrap();
        let err = app::load(&path, &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains(want), "{admin}: {err}");
        assert!(!err.contains("tooshort-tok"), "{err}");
    }
}

//! The command line (clap derive): `run`, `check-config`, `scan`, `demo`,
//! `healthcheck`, `completions`, `man`. It turns arguments into settings and
//! hands `run` to [`crate::serve`] (tokio runtime, signals, exit codes: 0
//! success, 1 runtime failure, 2 bad configuration or usage).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::app::{self, HostMatch, Overrides};
use crate::config;
use crate::serve::config_error;
pub use crate::serve::{EXIT_CONFIG, EXIT_FAILURE};

/// The git revision the binary was built from (build.rs), or "unknown" for
/// a build outside a git checkout without `LEAKWARDEN_REVISION` set.
pub const REVISION: &str = env!("LEAKWARDEN_REVISION");

/// What `--version` prints after the program name: `0.1.0 (rev 1a2b3c4d5e6f)`.
pub const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (rev ", env!("LEAKWARDEN_REVISION"), ")");

#[derive(Debug, Parser)]
#[command(
    name = "leakwarden",
    version = VERSION,
    about = "A streaming reverse proxy that keeps card numbers, personal data and secrets from leaking out of HTTP responses",
    long_about = "leakwarden sits in front of a website (as a sidecar or a gateway) and streams every \
text-like response body through a detection engine: card numbers, SSNs, IBANs, emails, phone \
numbers, API keys and tokens are masked, redacted, tokenized or blocked on the fly, without \
buffering whole bodies. Metrics are exported for Prometheus on the admin listener.\n\n\
Try it: `leakwarden demo`, then follow the printed curl commands.\n\n\
Exit codes: 0 success, 1 runtime failure, 2 bad configuration or usage."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the guard in front of an upstream (sidecar or gateway).
    Run(RunArgs),
    /// Validate a configuration file and print a summary (exit 0), or the
    /// error with file:line:col (exit 2).
    CheckConfig(CheckArgs),
    /// Scan files or standard input for sensitive data (data-at-rest audit).
    Scan(crate::scan::ScanArgs),
    /// Start a demo shop with fake sensitive data and the guard in front of
    /// it, on loopback, and print what to try.
    Demo(crate::demo::DemoArgs),
    /// Exit 0 if the admin listener's /healthz answers 200 (for container
    /// health checks in images without curl).
    Healthcheck(HealthArgs),
    /// Print the privacy inventory of a running guard or of saved
    /// snapshots (merged), as Markdown, HTML or JSON.
    Report(crate::inventory::report::ReportArgs),
    /// Print a shell completion script to standard output, e.g.
    /// `leakwarden completions bash > /etc/bash_completion.d/leakwarden`.
    Completions(CompletionArgs),
    /// Print the manual page (roff) to standard output, e.g.
    /// `leakwarden man | man -l -`, or write one page per command.
    Man(ManArgs),
}

/// Arguments of `leakwarden man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write leakwarden.1 and a page per subcommand (leakwarden-run.1, ...)
    /// into this directory instead of printing leakwarden.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Arguments of `leakwarden completions`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `leakwarden run`.
#[derive(Debug, Args)]
// The field docs are also `--help` text, where a TOML section is written
// as users write it, in brackets: not a rustdoc link.
#[allow(rustdoc::broken_intra_doc_links)]
pub struct RunArgs {
    /// Configuration file (TOML). Without it, flags alone configure a
    /// sidecar: --upstream is then required.
    #[arg(long, short, env = "LEAKWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (repeat or comma-separate for several);
    /// overrides [server] listen. Default 127.0.0.1:8080.
    #[arg(long, env = "LEAKWARDEN_LISTEN", value_delimiter = ',')]
    pub listen: Vec<SocketAddr>,
    /// Upstream base URL (http://host:port) for a single catch-all route;
    /// only when the configuration file defines no routes.
    #[arg(long, env = "LEAKWARDEN_UPSTREAM")]
    pub upstream: Option<String>,
    /// Admin listener address (/healthz, /readyz, /metrics); overrides
    /// [admin] listen. Default 127.0.0.1:9901.
    #[arg(long, env = "LEAKWARDEN_ADMIN")]
    pub admin: Option<SocketAddr>,
    /// Runtime worker threads. Default: the number of CPU cores.
    #[arg(long, env = "LEAKWARDEN_WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs
    /// --tls-key. Overrides [tls] cert.
    #[arg(long, env = "LEAKWARDEN_TLS_CERT", requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) of --tls-cert.
    #[arg(long, env = "LEAKWARDEN_TLS_KEY", requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
}

impl RunArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            admin: self.admin,
            upstream: self.upstream.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
        }
    }
}

/// Arguments of `leakwarden check-config`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The configuration file to validate.
    pub file: PathBuf,
}

/// Arguments of `leakwarden healthcheck`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Admin listener address to query.
    #[arg(long, env = "LEAKWARDEN_ADMIN", default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
}

/// Parses arguments, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_CONFIG } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => run(args),
        Command::CheckConfig(args) => check_config(&args),
        Command::Scan(args) => crate::scan::run(args),
        Command::Demo(args) => crate::demo::run(args),
        Command::Healthcheck(args) => healthcheck(&args),
        Command::Completions(args) => completions(&args, &mut std::io::stdout()),
        Command::Man(args) => man(&args, &mut std::io::stdout()),
        Command::Report(args) => crate::inventory::report::run(&args),
    }
}

/// The clap command tree, as the completion and man page generators see it.
pub fn command() -> clap::Command {
    Cli::command()
}

fn completions(args: &CompletionArgs, out: &mut dyn std::io::Write) -> ExitCode {
    clap_complete::generate(args.shell, &mut command(), "leakwarden", out);
    ExitCode::SUCCESS
}

/// Writes leakwarden(1) to `out`, or with `--out-dir` one page per
/// command (leakwarden.1, leakwarden-run.1, ...) into that directory.
fn man(args: &ManArgs, out: &mut dyn std::io::Write) -> ExitCode {
    let result = match &args.out_dir {
        Some(dir) => clap_mangen::generate_to(command(), dir),
        None => clap_mangen::Man::new(command()).render(out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leakwarden man: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    crate::serve::run(args.config.clone(), args.overrides(), args.workers)
}

fn check_config(args: &CheckArgs) -> ExitCode {
    let file = match config::read_file(&args.file) {
        Ok(f) => f,
        Err(e) => return config_error(&e),
    };
    let name = args.file.display().to_string();
    // A sidecar file may leave routing to --upstream: check the rest with a
    // placeholder catch-all route.
    let needs_upstream = file.routes.is_empty();
    let overrides = Overrides {
        upstream: needs_upstream.then(|| "http://127.0.0.1:1".to_string()),
        ..Overrides::default()
    };
    let rt = match app::Runtime::build(file, &overrides, &name) {
        Ok(rt) => rt,
        Err(e) => return config_error(&e),
    };
    println!("{name}: ok");
    let listen: Vec<String> = rt.listen.iter().map(ToString::to_string).collect();
    println!("  listen: {}", listen.join(", "));
    match rt.admin {
        Some(a) => println!("  admin: {a}"),
        None => println!("  admin: disabled"),
    }
    let mut policies: Vec<&str> = rt.policies.keys().map(String::as_str).collect();
    policies.sort_unstable();
    println!("  policies: {}", policies.join(", "));
    if needs_upstream {
        println!("  routes: none (pass --upstream URL to `leakwarden run`)");
    } else {
        for r in &rt.routes {
            let u = &rt.upstreams[r.upstream];
            let host = match &r.host {
                HostMatch::Any => "*".to_string(),
                HostMatch::Exact(h) => h.clone(),
                HostMatch::Suffix(s) => format!("*{s}"),
            };
            println!(
                "  route {}: host {host} prefix {} -> {} ({}://{}) policy {}",
                r.name, r.path_prefix, u.name, u.scheme, u.authority, r.policy.name
            );
        }
    }
    ExitCode::SUCCESS
}

fn healthcheck(args: &HealthArgs) -> ExitCode {
    use std::io::{Read, Write};
    let mut addr = args.admin;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let timeout = std::time::Duration::from_secs(3);
    let result = (|| -> std::io::Result<bool> {
        let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    })();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("leakwarden: {addr}/healthz did not answer 200");
            ExitCode::from(EXIT_FAILURE)
        }
        Err(e) => {
            eprintln!("leakwarden: {addr}/healthz: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

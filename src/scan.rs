//! `leakwarden scan`: offline scanning of files or stdin with the detection
//! engine (a data-at-rest audit). Streams each input in 64 KiB reads, so
//! memory stays bounded whatever the file size.
//!
//! Output never contains a scanned value: JSON Lines carry offsets, kind,
//! brand, the configured action and the keyed fingerprint; the text format
//! is a per-kind summary. Exit codes like grep: 0 nothing found, 1
//! findings, 2 error (an error wins over findings).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::file::FileConfig;
use crate::config::policy::PolicySection;
use crate::config::ConfigError;
use crate::detect::{ContentHint, Engine, Finding, Scanner};
use crate::policy::Policy;

/// Read size: also the most input held in memory at once besides the
/// engine's bounded hold-back.
const READ_SIZE: usize = 64 * 1024;

/// Output formats of `leakwarden scan`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// A per-kind summary table.
    #[default]
    Text,
    /// JSON Lines, one finding per line.
    Json,
}

/// Arguments of `leakwarden scan`.
#[derive(Debug, clap::Args)]
// The field docs are also `--help` text, where a TOML section is written
// as users write it, in brackets: not a rustdoc link.
#[allow(rustdoc::broken_intra_doc_links)]
pub struct ScanArgs {
    /// Configuration file whose [detect] section and default policy apply.
    #[arg(long, env = "LEAKWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Follow symbolic links met inside directories (loops are detected
    /// and skipped). Without it they are skipped, as `grep -r` and `rg` do;
    /// links named on the command line are always followed.
    #[arg(long, short = 'L')]
    pub follow_symlinks: bool,
    /// Files or directories (scanned recursively) to scan; `-` reads
    /// standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Runs the scan; exit codes like grep: 0 nothing found, 1 findings, 2 error.
pub fn run(args: ScanArgs) -> ExitCode {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let stderr = io::stderr();
    let code = run_with(
        &args,
        &mut stdin.lock(),
        &mut io::BufWriter::new(stdout.lock()),
        &mut stderr.lock(),
    );
    ExitCode::from(code)
}

/// [`run`] with explicit streams; returns the exit code.
pub fn run_with(
    args: &ScanArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let engine = match load_engine(args.config.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(err, "leakwarden scan: {e}");
            return 2;
        }
    };
    let mut walk = Walk::new(args.follow_symlinks);
    for p in &args.paths {
        walk.expand(p, err);
    }
    let Walk { files, mut failed, .. } = walk;
    let mut summary = Summary::default();
    let mut buf = vec![0u8; READ_SIZE];
    for path in &files {
        let name = path.to_string_lossy();
        let result = if path.as_os_str() == "-" {
            scan_stream(
                &engine,
                "-",
                hint_for(path),
                stdin,
                &mut buf,
                args.format,
                out,
                &mut summary,
            )
        } else {
            match File::open(path) {
                Ok(mut f) => scan_stream(
                    &engine,
                    &name,
                    hint_for(path),
                    &mut f,
                    &mut buf,
                    args.format,
                    out,
                    &mut summary,
                ),
                Err(e) => Err(ScanError::Input(e)),
            }
        };
        match result {
            Ok(()) => {}
            Err(ScanError::Input(e)) => {
                let _ = writeln!(err, "leakwarden scan: {name}: {e}");
                failed = true;
            }
            Err(ScanError::Output(e)) => {
                // Usually a closed pipe (`| head`): stop quietly.
                if e.kind() != ErrorKind::BrokenPipe {
                    let _ = writeln!(err, "leakwarden scan: writing output: {e}");
                }
                return 2;
            }
        }
    }
    if args.format == ScanFormat::Text {
        if let Err(e) = summary.print(out) {
            if e.kind() != ErrorKind::BrokenPipe {
                let _ = writeln!(err, "leakwarden scan: writing output: {e}");
            }
            return 2;
        }
    }
    if out.flush().is_err() {
        return 2;
    }
    if failed {
        2
    } else if summary.findings > 0 {
        1
    } else {
        0
    }
}

/// The engine of the configuration's `default` policy (or the built-in
/// defaults without a configuration).
fn load_engine(config: Option<&Path>) -> Result<Arc<Engine>, ConfigError> {
    let Some(path) = config else {
        return Policy::build("default", &PolicySection::default(), &Default::default())
            .map(|p| p.engine);
    };
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Io { file: file.clone(), source })?;
    let cfg: FileConfig = toml::from_str(&text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(&text, s.start));
        ConfigError::At { file: file.clone(), line, column, message: e.message().to_string() }
    })?;
    let section = cfg.policies.get("default").cloned().unwrap_or_default();
    Policy::build("default", &section, &cfg.detect).map(|p| p.engine)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, column)
}

/// The files to scan, in command-line order and within a directory in
/// name order (walkdir), each file once however many links lead to it.
struct Walk {
    follow: bool,
    files: Vec<PathBuf>,
    /// (device, inode) of every file listed: two links to one file, or a
    /// directory reached twice through symlinks, scan it once.
    #[cfg(unix)]
    seen: std::collections::HashSet<(u64, u64)>,
    failed: bool,
}

impl Walk {
    fn new(follow: bool) -> Walk {
        Walk {
            follow,
            files: Vec::new(),
            #[cfg(unix)]
            seen: Default::default(),
            failed: false,
        }
    }

    fn expand(&mut self, p: &Path, err: &mut dyn Write) {
        if p.as_os_str() == "-" {
            self.files.push(p.to_path_buf());
            return;
        }
        let walker = walkdir::WalkDir::new(p).follow_links(self.follow).sort_by_file_name();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if e.loop_ancestor().is_some() => {
                    // Following links, walkdir stops at a link back to an
                    // ancestor: everything below it is scanned already.
                    let at = e
                        .path()
                        .map_or_else(|| p.display().to_string(), |l| l.display().to_string());
                    let _ = writeln!(err, "leakwarden scan: {at}: symlink loop, skipped");
                    continue;
                }
                Err(e) => {
                    let at = e.path().unwrap_or(p).display().to_string();
                    let msg = e.io_error().map_or_else(|| e.to_string(), ToString::to_string);
                    let _ = writeln!(err, "leakwarden scan: {at}: {msg}");
                    self.failed = true;
                    continue;
                }
            };
            // Not following, a link inside a directory is reported as a
            // link: skipped. A link named on the command line is followed
            // (walkdir descends into a root link to a directory, but
            // reports a root link to a file as a link).
            let is_file = entry.file_type().is_file()
                || (entry.depth() == 0 && entry.path_is_symlink() && entry.path().is_file());
            if !is_file {
                continue;
            }
            if self.first_visit(&entry) {
                self.files.push(entry.into_path());
            }
        }
    }

    #[cfg(unix)]
    fn first_visit(&mut self, entry: &walkdir::DirEntry) -> bool {
        use std::os::unix::fs::MetadataExt;
        match entry.metadata() {
            Ok(m) => self.seen.insert((m.dev(), m.ino())),
            // Opening it will report the error.
            Err(_) => true,
        }
    }

    #[cfg(not(unix))]
    fn first_visit(&mut self, _entry: &walkdir::DirEntry) -> bool {
        true
    }
}

fn hint_for(p: &Path) -> ContentHint {
    match p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("json") | Some("jsonl") | Some("ndjson") => ContentHint::Json,
        Some("html") | Some("htm") | Some("xhtml") => ContentHint::Html,
        _ => ContentHint::Text,
    }
}

enum ScanError {
    Input(io::Error),
    Output(io::Error),
}

#[derive(Default)]
struct Summary {
    files: usize,
    bytes: u64,
    findings: u64,
    /// kind name -> (findings, files with at least one).
    per_kind: BTreeMap<String, (u64, usize)>,
}

impl Summary {
    fn print(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{:<16} {:>10} {:>7}", "KIND", "FINDINGS", "FILES")?;
        for (k, (n, f)) in &self.per_kind {
            writeln!(out, "{k:<16} {n:>10} {f:>7}")?;
        }
        writeln!(out, "{:<16} {:>10}", "total", self.findings)?;
        writeln!(out, "scanned {} file(s), {} bytes", self.files, self.bytes)
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_stream(
    engine: &Arc<Engine>,
    name: &str,
    hint: ContentHint,
    input: &mut dyn Read,
    buf: &mut [u8],
    format: ScanFormat,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> Result<(), ScanError> {
    let mut scanner = Scanner::new(engine.clone(), hint);
    // Only the findings matter here: the output comes as shared pieces
    // (slices of the scanner's buffer where unmodified, not copies) and is
    // dropped.
    let mut rewritten: Vec<bytes::Bytes> = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut kinds_here = std::collections::BTreeSet::new();
    let mut emit = |findings: &mut Vec<Finding>, summary: &mut Summary| -> Result<(), ScanError> {
        for f in findings.drain(..) {
            let kind = engine.kind_name(f.kind).to_string();
            summary.findings += 1;
            summary.per_kind.entry(kind.clone()).or_default().0 += 1;
            if kinds_here.insert(kind.clone()) {
                summary.per_kind.entry(kind.clone()).or_default().1 += 1;
            }
            if format == ScanFormat::Json {
                let line = serde_json::json!({
                    "path": name,
                    "kind": kind,
                    "start": f.start,
                    "end": f.end,
                    "brand": f.brand.map(|b| b.as_str()),
                    "action": f.action.as_str(),
                    "fingerprint": f.fingerprint.map(|f| f.to_string()),
                });
                writeln!(out, "{line}").map_err(ScanError::Output)?;
            }
        }
        Ok(())
    };
    loop {
        let n = match input.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                // Report what was found before the error, then fail.
                scanner.finish_shared(&mut rewritten, &mut findings);
                emit(&mut findings, summary)?;
                return Err(ScanError::Input(e));
            }
        };
        scanner.feed_shared(&buf[..n], &mut rewritten, &mut findings);
        rewritten.clear();
        emit(&mut findings, summary)?;
    }
    scanner.finish_shared(&mut rewritten, &mut findings);
    emit(&mut findings, summary)?;
    summary.files += 1;
    summary.bytes += scanner.consumed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(format: ScanFormat, paths: &[&Path]) -> ScanArgs {
        ScanArgs {
            config: None,
            format,
            follow_symlinks: false,
            paths: paths.iter().map(|p| p.to_path_buf()).collect(),
        }
    }

    fn run_str(a: &ScanArgs, stdin: &str) -> (u8, String, String) {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let code = run_with(a, &mut stdin.as_bytes(), &mut o, &mut e);
        (code, String::from_utf8(o).unwrap(), String::from_utf8(e).unwrap())
    }

    #[test]
    fn json_lines_from_stdin() {
        let (code, out, _) = run_str(
            &args(ScanFormat::Json, &[Path::new("-")]),
            "x 4111 1111 1111 1111 and 822-43-8021\n",
        );
        assert_eq!(code, 1);
        let lines: Vec<serde_json::Value> =
            out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["path"], "-");
        assert_eq!(lines[0]["kind"], "card");
        assert_eq!((lines[0]["start"].as_u64(), lines[0]["end"].as_u64()), (Some(2), Some(21)));
        assert_eq!(lines[0]["brand"], "visa");
        assert_eq!(lines[1]["kind"], "ssn");
        assert!(!out.contains("4111") && !out.contains("8021"));
    }

    #[test]
    fn exit_codes_and_text_summary() {
        let dir = tempfile::tempdir().unwrap();
        let clean = dir.path().join("clean.txt");
        std::fs::write(&clean, "nothing to see here 12345\n").unwrap();
        assert_eq!(run_str(&args(ScanFormat::Text, &[&clean]), "").0, 0);
        let dirty = dir.path().join("d.json");
        std::fs::write(&dirty, r#"{"k":"AKIA6HQS25BK3I6RNGX6","c":4111111111111111}"#).unwrap();
        let (code, out, _) = run_str(&args(ScanFormat::Text, &[dir.path()]), "");
        assert_eq!(code, 1);
        assert!(out.contains("aws_access_key"), "{out}");
        assert!(out.contains("scanned 2 file(s)"), "{out}");
        let missing = dir.path().join("missing");
        let (code, _, err) = run_str(&args(ScanFormat::Json, &[&dirty, &missing]), "");
        assert_eq!(code, 2);
        assert!(err.contains("missing"), "{err}");
    }

    /// A link back to an ancestor once made the walk scan the same file
    /// dozens of times and exit 2 ("too many levels of symbolic links").
    /// Each file is scanned once, with or without following links, and
    /// findings decide the exit code.
    #[cfg(unix)]
    #[test]
    fn symlink_loops_scan_each_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("site");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("page.html"), "<p>4111 1111 1111 1111</p>").unwrap();
        std::os::unix::fs::symlink(dir.path(), sub.join("up")).unwrap();
        std::os::unix::fs::symlink(".", sub.join("self")).unwrap();
        std::os::unix::fs::symlink("page.html", sub.join("alias.html")).unwrap();
        for follow in [false, true] {
            let mut a = args(ScanFormat::Json, &[dir.path()]);
            a.follow_symlinks = follow;
            let (code, out, err) = run_str(&a, "");
            assert_eq!(code, 1, "follow={follow}: {err}");
            assert_eq!(out.lines().count(), 1, "follow={follow}: one finding, once: {out}");
            let mut a = args(ScanFormat::Text, &[dir.path()]);
            a.follow_symlinks = follow;
            let (code, out, _) = run_str(&a, "");
            assert_eq!(code, 1);
            assert!(out.contains("scanned 1 file(s)"), "follow={follow}: {out}");
        }
        // A link named on the command line is followed.
        let (code, out, _) = run_str(&args(ScanFormat::Json, &[&sub.join("alias.html")]), "");
        assert_eq!((code, out.lines().count()), (1, 1));
    }

    #[test]
    fn large_input_streams() {
        // 3 MiB with a card at the very end, fed through 64 KiB reads.
        let mut data = vec![b'a'; 3 << 20];
        data.extend_from_slice(b" 5500000000000004");
        let a = args(ScanFormat::Json, &[Path::new("-")]);
        let (mut o, mut e) = (Vec::new(), Vec::new());
        assert_eq!(run_with(&a, &mut data.as_slice(), &mut o, &mut e), 1);
        let v: serde_json::Value =
            serde_json::from_slice(o.split(|&b| b == b'\n').next().unwrap()).unwrap();
        assert_eq!(v["start"].as_u64(), Some((3 << 20) + 1));
        assert_eq!(v["brand"], "mastercard");
    }

    #[test]
    fn config_errors_name_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("lw.toml");
        std::fs::write(&cfg, "[detect]\ncard_mask = \"last4\"\nbogus = 1\n").unwrap();
        let a = ScanArgs {
            config: Some(cfg.clone()),
            format: ScanFormat::Text,
            follow_symlinks: false,
            paths: vec!["-".into()],
        };
        let (code, _, err) = run_str(&a, "");
        assert_eq!(code, 2);
        assert!(err.contains("lw.toml:3:1"), "{err}");
        std::fs::write(&cfg, "[detect]\nallow_values = [\"4111111111111111\"]\n").unwrap();
        let (code, _, _) = run_str(&a, "4111111111111111");
        assert_eq!(code, 0);
    }
}

//! One writer for every line-oriented log (the audit log, the access log):
//! callers serialize a line and queue it (bounded, [`QUEUE_LINES`]) to a
//! writer thread that owns the output, so that concurrent responses never
//! interleave and no async worker ever waits on a lock or a disk. A full
//! queue drops the line and says so to the caller, which counts it in its
//! own metric. The writer flushes whenever its queue is empty, then pauses
//! briefly so that lines arriving under load are written in batches
//! (one wake-up and one write per batch, not per line), and reopens a file
//! output on request (SIGUSR1, for logrotate).
//!
//! It never looks at what a line says: masking is the callers' job.

pub mod json;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// Lines the writer thread may have queued before new ones are dropped
/// (and counted): a slow disk must slow the log, never the proxy.
pub const QUEUE_LINES: usize = 4096;

/// Where a log's lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    Stderr,
    /// A file, created if missing and always appended to.
    File(PathBuf),
}

/// What the writer thread is sent.
enum Msg {
    Line(Vec<u8>),
    /// Write and flush everything queued before, then answer.
    Sync(SyncSender<()>),
    /// Flush, then reopen a file output by its path (after logrotate
    /// renamed it); other outputs ignore it.
    Reopen,
}

/// A bounded queue to a writer thread (see the module docs). Disabled, it
/// accepts and discards everything.
pub struct LineSink {
    tx: Option<Queue>,
}

/// The sending end of the writer's queue, and the writer thread: a
/// [`Msg::Sync`] also unparks it, so that a caller waiting for its lines
/// (shutdown, a test) does not wait out the writer's batching pause.
#[derive(Clone)]
struct Queue {
    tx: SyncSender<Msg>,
    writer: std::thread::Thread,
}

impl fmt::Debug for LineSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineSink").field("enabled", &self.tx.is_some()).finish()
    }
}

impl Default for LineSink {
    fn default() -> Self {
        LineSink::disabled()
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The writer thread: writes lines as they come and flushes whenever the
/// queue is empty (so a burst is one flush, and a quiet log is always on
/// disk). It ends when the last sender is gone, after writing what is
/// left. `name` says which log a write failure is about.
fn writer_loop(
    name: &'static str,
    rx: Receiver<Msg>,
    mut w: Box<dyn Write + Send>,
    path: Option<PathBuf>,
) {
    let mut failed = false;
    let mut report = |r: std::io::Result<()>| {
        // One warning per failure streak, not one per line.
        match r {
            Err(e) if !failed => {
                failed = true;
                tracing::warn!(log = name, error = %e, "log line not written");
            }
            Err(_) => {}
            Ok(()) => failed = false,
        }
    };
    while let Ok(msg) = rx.recv() {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(line) => report(w.write_all(&line)),
                Msg::Sync(ack) => {
                    report(w.flush());
                    let _ = ack.send(());
                }
                Msg::Reopen => {
                    report(w.flush());
                    if let Some(path) = &path {
                        match open_append(path) {
                            Ok(f) => w = Box::new(BufWriter::new(f)),
                            // Keep writing to the old file rather than
                            // losing lines.
                            Err(e) => tracing::warn!(
                                log = name,
                                path = %path.display(),
                                error = %e,
                                "cannot reopen the log file; still writing to the old one"
                            ),
                        }
                    }
                }
            }
            next = rx.try_recv().ok();
        }
        report(w.flush());
        // Lines that come while the writer sleeps wait in the queue and go
        // out as the next batch, with one flush; and a sender that finds
        // the writer awake makes no system call to wake it. Without this
        // pause a busy proxy woke this thread for every line (a futex
        // wake, two context switches and a write per request, on the
        // proxy's own cores). A quiet log still writes each line at once.
        // Lines never unpark the writer; only a sync does (its caller
        // waits), and a spurious wake-up only shortens the pause.
        std::thread::park_timeout(BATCH_PAUSE);
    }
    report(w.flush());
}

/// How long the writer waits after a batch before it takes the next one:
/// bounds how late a line is written under load (at 30,000 lines a
/// second, a batch is ~300 lines, well under [`QUEUE_LINES`]).
const BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

impl LineSink {
    /// A sink that writes nothing.
    pub fn disabled() -> LineSink {
        LineSink { tx: None }
    }

    /// Opens `target` (a file is opened here, so a bad path is the
    /// caller's configuration error) and starts the writer thread, named
    /// `leakwarden-<name>`.
    pub fn open(name: &'static str, target: &Target) -> std::io::Result<LineSink> {
        let (w, path): (Box<dyn Write + Send>, _) = match target {
            // Buffered like a file: the writer flushes after each batch,
            // instead of stdout's line buffering making one system call a
            // line.
            Target::Stdout => (Box::new(BufWriter::new(std::io::stdout())), None),
            Target::Stderr => (Box::new(BufWriter::new(std::io::stderr())), None),
            Target::File(path) => {
                (Box::new(BufWriter::new(open_append(path)?)), Some(path.clone()))
            }
        };
        LineSink::spawn(name, w, path)
    }

    fn spawn(
        name: &'static str,
        w: Box<dyn Write + Send>,
        path: Option<PathBuf>,
    ) -> std::io::Result<LineSink> {
        let (tx, rx) = sync_channel(QUEUE_LINES);
        let writer = std::thread::Builder::new()
            .name(format!("leakwarden-{name}"))
            .spawn(move || writer_loop(name, rx, w, path))?;
        Ok(LineSink { tx: Some(Queue { tx, writer: writer.thread().clone() }) })
    }

    /// A sink writing to any writer (tests use an in-memory buffer).
    ///
    /// # Panics
    /// When the writer thread cannot be started.
    pub fn from_writer(name: &'static str, w: Box<dyn Write + Send>) -> LineSink {
        LineSink::spawn(name, w, None).expect("log writer thread starts")
    }

    /// An in-memory sink and a handle on what it wrote.
    pub fn memory(name: &'static str) -> (LineSink, MemoryLog) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = LineSink::from_writer(name, Box::new(MemoryWriter(buf.clone())));
        let log = MemoryLog { buf, sync: sink.tx.clone() };
        (sink, log)
    }

    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Serializes one record as a JSON line through serde and queues it
    /// (the tests' way; the logs write their lines by hand, [`json`]).
    /// Returns false when the line was dropped (queue full, writer gone,
    /// not serializable). Never blocks, never fails the caller.
    #[cfg(test)]
    pub fn write_json<T: serde::Serialize>(&self, record: &T) -> bool {
        if self.tx.is_none() {
            // Disabled: not even serialized.
            return true;
        }
        let mut line = match serde_json::to_vec(record) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "log record not serializable");
                return false;
            }
        };
        line.push(b'\n');
        self.write_line(line)
    }

    /// Queues one line the caller serialized (ending in a newline).
    /// Returns false when it was dropped (queue full, writer gone): the
    /// caller counts it. Never blocks.
    pub fn write_line(&self, line: Vec<u8>) -> bool {
        let Some(Queue { tx, .. }) = &self.tx else { return true };
        tx.try_send(Msg::Line(line)).is_ok()
    }

    /// Asks the writer to reopen its file (after logrotate renamed it).
    /// Never blocks: with a full queue the request waits behind the lines
    /// on a helper thread. No-op for stdout, stderr and a disabled sink.
    pub fn reopen(&self) {
        let Some(Queue { tx, .. }) = &self.tx else { return };
        if let Err(TrySendError::Full(msg)) = tx.try_send(Msg::Reopen) {
            let tx = tx.clone();
            let _ = std::thread::Builder::new()
                .name("leakwarden-reopen".into())
                .spawn(move || tx.send(msg));
        }
    }

    /// Blocks until every line queued so far is written and flushed (or
    /// five seconds pass). For shutdown and tests: never on an async
    /// worker.
    pub fn sync(&self) {
        if let Some(tx) = &self.tx {
            sync_on(tx);
        }
    }
}

fn sync_on(q: &Queue) {
    let (ack_tx, ack_rx) = sync_channel(1);
    if q.tx.send(Msg::Sync(ack_tx)).is_ok() {
        q.writer.unpark();
        let _ = ack_rx.recv_timeout(std::time::Duration::from_secs(5));
    }
}

struct MemoryWriter(Arc<Mutex<Vec<u8>>>);

impl Write for MemoryWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An in-memory log, for tests.
#[derive(Clone)]
pub struct MemoryLog {
    buf: Arc<Mutex<Vec<u8>>>,
    sync: Option<Queue>,
}

impl MemoryLog {
    /// Every line written so far (waits for the lines already queued).
    pub fn lines(&self) -> Vec<String> {
        if let Some(tx) = &self.sync {
            sync_on(tx);
        }
        let buf = self.buf.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&buf).lines().map(str::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_follows_a_renamed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let rotated = dir.path().join("x.log.1");
        std::fs::write(&path, "earlier\n").unwrap();
        let sink = LineSink::open("test", &Target::File(path.clone())).unwrap();
        assert!(sink.write_json(&1));
        sink.sync();
        std::fs::rename(&path, &rotated).unwrap();
        // Until the reopen, lines follow the renamed file (as logrotate
        // expects between its rename and its signal).
        assert!(sink.write_json(&2));
        sink.reopen();
        assert!(sink.write_json(&3));
        sink.sync();
        assert_eq!(std::fs::read_to_string(&rotated).unwrap(), "earlier\n1\n2\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "3\n");
    }

    #[test]
    fn reopen_of_stdout_and_disabled_is_harmless() {
        let (sink, log) = LineSink::memory("test");
        sink.reopen();
        assert!(sink.write_json(&"a"));
        assert_eq!(log.lines(), ["\"a\""]);
        let off = LineSink::disabled();
        off.reopen();
        assert!(off.write_json(&"b"));
        assert!(!off.enabled());
    }

    /// A writer that blocks until told to go on.
    struct Stuck(std::sync::mpsc::Receiver<()>);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_queue_drops_lines_and_reopen_does_not_block() {
        let (go, wait) = std::sync::mpsc::channel();
        let sink = LineSink::from_writer("test", Box::new(Stuck(wait)));
        let accepted = (0..QUEUE_LINES + 50).filter(|_| sink.write_json(&0)).count();
        assert!((QUEUE_LINES..=QUEUE_LINES + 1).contains(&accepted), "{accepted}");
        // Returns at once although the queue is full.
        sink.reopen();
        drop(go);
    }
}

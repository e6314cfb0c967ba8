//! The inventory's snapshot file: written atomically (a temporary file in
//! the same directory, synced, then renamed over the old one), on an
//! interval and at shutdown, on a blocking thread; read once at start.
//!
//! A reader never sees a half-written file, and a crash mid-write leaves
//! the previous snapshot in place.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::store::{Snapshot, Store};
use super::Inventory;

/// Writes `snap` to `path` atomically.
pub fn save(path: &Path, snap: &Snapshot) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        serde_json::to_writer(&mut f, snap)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    let r = write();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Reads a snapshot file; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<Store>, String> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let snap: Snapshot =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Store::from_snapshot(snap).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

/// Saves on a blocking thread (the async workers never touch the disk).
pub async fn save_async(inventory: &Inventory, path: PathBuf) {
    let snap = inventory.snapshot();
    let result = tokio::task::spawn_blocking(move || save(&path, &snap).map(|_| path)).await;
    match result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot write the inventory snapshot"),
        Err(e) => tracing::warn!(error = %e, "inventory snapshot task failed"),
    }
}

/// Snapshots every `interval` until `stop` resolves, then once more.
pub async fn run(
    inventory: Arc<Inventory>,
    path: PathBuf,
    interval: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => save_async(&inventory, path.clone()).await,
        }
    }
    save_async(&inventory, path).await;
}

/// The snapshot task of a running guard.
pub struct Snapshots {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Starts snapshotting the inventory if there is one and it has a file.
pub fn spawn(inventory: Option<&Arc<Inventory>>) -> Snapshots {
    let Some((inv, (path, interval))) =
        inventory.and_then(|i| i.file.clone().map(|f| (i.clone(), f)))
    else {
        return Snapshots { stop: None, task: None };
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(inv, path, interval, async move {
        let _ = rx.await;
    }));
    Snapshots { stop: Some(tx), task: Some(task) }
}

impl Snapshots {
    /// Writes the last snapshot and waits for it (at shutdown).
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::store::{KindRecord, Limits, ResponseRecord};

    #[test]
    fn a_snapshot_survives_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.json");
        assert_eq!(load(&path).unwrap(), None);
        let mut st = Store::new("2026-12-01T00:00:00.000Z".into());
        let rec = ResponseRecord {
            route: "api",
            method: "GET",
            template: "/c/{id}",
            now: "2026-12-01T01:00:00.000Z",
            hour: "2026-12-01T01:00:00.000Z",
            kinds: vec![KindRecord {
                kind: "ssn",
                findings: 1,
                action: "monitor",
                fields: vec!["ssn".into()],
            }],
            ..ResponseRecord::default()
        };
        st.record(&rec, &Limits::default());
        save(&path, &st.to_snapshot()).unwrap();
        // Saved again over the old file: still one whole snapshot.
        save(&path, &st.to_snapshot()).unwrap();
        assert_eq!(load(&path).unwrap(), Some(st));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(load(&path).unwrap_err().contains("inv.json"));
    }
}

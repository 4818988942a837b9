//! Hot reload: watch the project's files and swap in a new config when a saved edit is valid.
//!
//! Owns: noticing changes (polling sizes and modification times of the few files a project has:
//! portable, immune to editors' rename-on-save, no inotify limits) and the decision: a valid
//! project replaces the served one atomically (requests in flight keep the snapshot they started
//! with); an invalid one is rejected while the project was serving, and replaces it while it had
//! errors anyway (D10). It reports what happened as [`ReloadEvent`]s; the CLI prints them.

use super::state::{AppState, Served, load_for};
use crate::validate::Report;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a reload did.
pub enum ReloadEvent {
    /// The new config is being served (its report may hold warnings).
    Reloaded(Arc<Served>),
    /// The change has errors; the previous config keeps serving.
    Rejected(Box<Report>),
    /// The project still has errors (nothing was being served); these are the current ones.
    StillBroken(Arc<Served>),
    /// The project could not be read at all.
    Unreadable(String),
}

type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// Sizes and modification times of every file the project loader reads.
fn fingerprint(root: &Path) -> Fingerprint {
    let mut paths: Vec<PathBuf> = [
        "zuplo.jsonc",
        "zuplo.json",
        ".env",
        ".env.zuplo",
        "modules/zuplo.runtime.ts",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    if let Ok(entries) = std::fs::read_dir(root.join("config")) {
        for e in entries.flatten() {
            paths.push(e.path());
        }
    }
    // custom code (§17.4): a change under modules/ restarts the worker
    module_files(&root.join("modules"), 0, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            Some((p, meta.len(), meta.modified().ok()))
        })
        .collect()
}

/// The files under `modules/` (bounded depth and count: a project's own code, not a tree of
/// dependencies).
fn module_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    const MAX_DEPTH: usize = 8;
    const MAX_FILES: usize = 2000;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if out.len() >= MAX_FILES {
            return;
        }
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() && depth < MAX_DEPTH && e.file_name() != "node_modules" {
            module_files(&e.path(), depth + 1, out);
        } else if kind.is_file() {
            out.push(e.path());
        }
    }
}

/// Watches `root` until `stop`; sends one event per change it acted on.
pub fn watch(
    state: Arc<AppState>,
    root: PathBuf,
    interval: Duration,
    stop: CancellationToken,
) -> mpsc::UnboundedReceiver<ReloadEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    // taken now, not in the task: an edit made right after this call must count as a change
    // (a handful of metadata reads, once)
    let mut last = fingerprint(&root);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(interval) => {}
            }
            let scan_root = root.clone();
            let now = tokio::task::spawn_blocking(move || fingerprint(&scan_root))
                .await
                .unwrap_or_default();
            if now == last {
                continue;
            }
            // let a burst of saves settle, then read what is there
            tokio::time::sleep(interval / 2).await;
            let scan_root = root.clone();
            last = tokio::task::spawn_blocking(move || fingerprint(&scan_root))
                .await
                .unwrap_or(now);
            let event = match load_for(root.clone(), state.dev.local_idp).await {
                Err(e) => ReloadEvent::Unreadable(e.to_string()),
                Ok(report) if report.has_errors() => {
                    let serving = state.served.load().errors.is_empty();
                    if serving {
                        ReloadEvent::Rejected(Box::new(report))
                    } else {
                        let served = Arc::new(Served::new(report));
                        state.served.store(served.clone());
                        ReloadEvent::StillBroken(served)
                    }
                }
                Ok(report) => {
                    let served = Arc::new(Served::new(report));
                    state.served.store(served.clone());
                    state.upstreams.forget_all_setups();
                    // a new worker for the new config: modules, variables and runtimeInit as
                    // they are now; calls in flight on the old one finish first
                    state.custom.start_for(&served.report, true).await;
                    ReloadEvent::Reloaded(served)
                }
            };
            if tx.send(event).is_err() {
                break;
            }
        }
    });
    rx
}

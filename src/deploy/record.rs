//! The history entry a successful deploy adds to the inventory parent.

use crate::inventory::history::{self, HistoryEntry};

use super::delete::Pruned;
use super::{AppRun, Prepared};

/// What the history records about this deploy.
pub(super) fn history_entry(
    prepared: &Prepared,
    run: &AppRun,
    kind: &str,
    pruned: &Pruned,
) -> HistoryEntry {
    let c = prepared.plan.counts();
    let objects: Vec<&serde_json::Value> =
        prepared.plan.targets().map(|(_, t)| &t.object).collect();
    HistoryEntry {
        revision: 0,
        sha: prepared
            .commit
            .as_ref()
            .map(|c| c.sha.clone())
            .unwrap_or_default(),
        reference: run.revision.clone(),
        time: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        run: crate::ci::run_identity(),
        kind: kind.to_string(),
        path: run.render.path.to_string_lossy().into_owned(),
        config: run
            .config
            .as_ref()
            .map(|c| c.to_string_lossy().into_owned()),
        env: run.env.clone(),
        images: history::images(&objects),
        created: c.create,
        updated: c.update,
        pruned: pruned.deleted.iter().filter(|d| d.error.is_none()).count(),
    }
}

//! What every deploy that took the lock leaves in the history, whatever its outcome: the entry
//! on the inventory parent and, for a success, the snapshot of what it applied.

use crate::error::Error;
use crate::inventory::history::{self, HistoryEntry, Outcome, SnapshotRef};

use crate::deploy::delete::Pruned;
use crate::deploy::snapshot;
use crate::deploy::wait;
use crate::deploy::write::Written;
use crate::deploy::writer::Writer;
use crate::deploy::{AppRun, ParentRecord, Prepared};

/// How a deploy ended, for its history entry; `None` when the run lost its lock and may write
/// nothing more.
pub(in crate::deploy) fn ending(
    result: &Result<Written, Error>,
) -> Option<(Outcome, Option<String>)> {
    match result {
        Ok(written) => Some(match written.status() {
            crate::exit::ExitStatus::Success => (Outcome::Succeeded, None),
            crate::exit::ExitStatus::Unhealthy => (Outcome::Unhealthy, why_not_healthy(written)),
            _ => (Outcome::Failed, why_failed(written)),
        }),
        Err(Error::LockLost(_)) => None,
        Err(Error::Cancelled(why)) => Some((Outcome::Cancelled, Some(why.clone()))),
        Err(e) => Some((Outcome::Failed, Some(first_line(&e.to_string())))),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

fn why_failed(written: &Written) -> Option<String> {
    let write = written
        .applied
        .failed()
        .next()
        .map(|o| (o.id.to_string(), o.error.as_ref().map(ToString::to_string)));
    let prune = || {
        written
            .pruned
            .as_ref()
            .and_then(|p| p.failed().next())
            .map(|d| (d.id.to_string(), d.error.as_ref().map(ToString::to_string)))
    };
    if let Some((id, error)) = write.or_else(prune) {
        return Some(first_line(&format!("{id}: {}", error.unwrap_or_default())));
    }
    why_not_healthy(written)
}

fn why_not_healthy(written: &Written) -> Option<String> {
    if let Some(hook) = written.failed_hook() {
        return Some(first_line(&format!(
            "{} hook {}: {}",
            hook.phase,
            hook.id,
            hook.reason.as_deref().unwrap_or("failed")
        )));
    }
    let health = written.health.as_ref()?;
    Some(match &health.outcome {
        wait::Outcome::Healthy => return None,
        wait::Outcome::Failed { id, reason, .. } => first_line(&format!("{id}: {reason}")),
        wait::Outcome::TimedOut { waiting, .. } => format!(
            "timed out waiting for {} object(s){}",
            waiting.len(),
            waiting
                .first()
                .map(|id| format!(", first {id}"))
                .unwrap_or_default()
        ),
        wait::Outcome::Cancelled => "cancelled during the health wait".into(),
        wait::Outcome::Unreachable { message } => first_line(message),
    })
}

/// Adds the deploy's entry to the history (with its snapshot for a success), drops the oldest
/// entries and their snapshots. The parent records only what remains when the deploy
/// succeeded (its prune went through); otherwise the kinds old and new.
pub(in crate::deploy) async fn record(
    writer: &Writer<'_>,
    parent: &ParentRecord,
    prepared: &Prepared,
    run: &AppRun,
    (outcome, reason): (Outcome, Option<String>),
    written: Option<&Written>,
) -> Result<(), Error> {
    let cluster = writer.cluster;
    let inventory = &prepared.inventory;
    let pruned = written.and_then(|w| w.pruned.as_ref());
    let mut entry = history_entry(prepared, run, &writer.options.kind, pruned);
    entry.hooks = written
        .map(|w| {
            w.hooks
                .iter()
                .map(|h| history::HookRecord {
                    object: h.id.to_string(),
                    phase: h.phase.to_string(),
                    wave: h.wave,
                    succeeded: h.succeeded,
                    seconds: h.seconds.round() as u64,
                })
                .collect()
        })
        .unwrap_or_default();
    entry.outcome = outcome;
    entry.reason = reason;
    if outcome == Outcome::Succeeded {
        let revision = history::next_revision(&inventory.history);
        match snapshot::write(cluster, inventory, revision, &prepared.plan).await {
            Ok((parts, sha256)) => {
                entry.snapshot = Some(SnapshotRef {
                    parts,
                    sha256: Some(sha256),
                })
            }
            Err(e) => writer.progress.note(&format!(
                "warning: {e}; a rollback to revision {revision} renders its commit again"
            )),
        }
    }
    let (kept, dropped) = history::append(inventory.history.clone(), entry);
    parent
        .write(
            cluster,
            inventory,
            Some(&kept),
            outcome == Outcome::Succeeded,
        )
        .await?;
    for gone in &dropped {
        snapshot::delete(cluster, inventory, gone).await;
    }
    Ok(())
}

/// What the history records about this deploy.
fn history_entry(
    prepared: &Prepared,
    run: &AppRun,
    kind: &str,
    pruned: Option<&Pruned>,
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
        pruned: pruned.map_or(0, |p| {
            p.deleted.iter().filter(|d| d.error.is_none()).count()
        }),
        outcome: Outcome::Succeeded,
        reason: None,
        snapshot: None,
        hooks: Vec::new(),
        chart: prepared.chart.clone(),
        promoted: prepared
            .promoted
            .iter()
            .map(|p| history::Promoted {
                alias: p.alias.clone(),
                repository: p.repository.clone(),
                tag: p.tag.clone(),
            })
            .collect(),
        input_digest: prepared.input_digest.clone(),
        children: run.child_records.clone(),
    }
}

//! Writing one prepared app: namespaces, the lock, the inventory parent, CRDs and their wait,
//! re-validation, the waves with their health waits, the prune (last), and the history entry.

use std::time::Duration;

use crate::cluster::{Cluster, Propagation};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::object::{Phase, Stage};

use crate::deploy::definitions::{create_namespace, wait_for_crds};
use crate::deploy::delete::{self, PruneOptions, Pruned};
use crate::deploy::hooks::{HookContext, HookRun, clean_up, run_phase};
use crate::deploy::lock::Locked;
use crate::deploy::record::{ending, record};
use crate::deploy::revalidate::revalidate;
use crate::deploy::staged::{self, Applied};
use crate::deploy::wait::{HealthReport, Outcome};
use crate::deploy::waves::{apply_waves, wait_healthy};
use crate::deploy::writer::{Writer, write_options};
use crate::deploy::{AppRun, ParentRecord, Prepared, Progress};

/// How long recording a failed deploy may take before the run ends without it.
const RECORD_FAILURE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to write, beyond the app's own settings.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// What the history records: `deploy`, `rollback` or `atomic-rollback`.
    pub kind: String,
    /// Do not wait for health; prune right after the writes and return once the last
    /// deletions are accepted.
    pub no_wait: bool,
    /// How long every object may take to become healthy.
    pub timeout: Duration,
    /// Wait for LoadBalancer Services to get an address.
    pub wait_for_load_balancers: bool,
    /// How long to wait for another deploy of the same app to release its lock.
    pub lock_timeout: Duration,
    /// Run the chart's `test` hooks after `PostSync` (`--run-tests`).
    pub run_tests: bool,
}

impl WriteOptions {
    /// A rollback runs Helm's `pre-rollback` and `post-rollback` hooks too.
    fn rollback(&self) -> bool {
        self.kind.contains("rollback")
    }
}

/// What the write phase did.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub applied: Applied,
    pub health: Option<HealthReport>,
    /// `None` when the deploy stopped before the prune.
    pub pruned: Option<Pruned>,
    /// The sync hooks that ran, in order.
    pub hooks: Vec<HookRun>,
}

impl Written {
    /// A failed write or deletion (or a server that stopped answering) is a failure of the
    /// run; otherwise a health check that did not pass is an unhealthy rollout.
    pub fn status(&self) -> ExitStatus {
        let failed_prune = self
            .pruned
            .as_ref()
            .is_some_and(|p| p.failed().next().is_some());
        if self.applied.failed().next().is_some() || failed_prune {
            ExitStatus::Failure
        } else if self.failed_hook().is_some() {
            ExitStatus::Unhealthy
        } else {
            self.health
                .as_ref()
                .map_or(ExitStatus::Success, health_status)
        }
    }
}

impl Written {
    /// The first hook that failed (not counting `SyncFail` hooks, which run because the
    /// deploy failed already).
    pub fn failed_hook(&self) -> Option<&HookRun> {
        self.hooks
            .iter()
            .find(|h| !h.succeeded && h.phase != Phase::SyncFail)
    }
}

/// A server that stopped answering is a failure of the run, not of the rollout; anything
/// else not healthy is an unhealthy rollout.
pub fn health_status(health: &HealthReport) -> ExitStatus {
    match health.outcome {
        Outcome::Unreachable { .. } => ExitStatus::Failure,
        _ if !health.healthy() => ExitStatus::Unhealthy,
        _ => ExitStatus::Success,
    }
}

/// An app with nothing to write is checked all the same: a green run means deployed and
/// healthy, so a retried CI job of a broken rollout fails again. `None` with `--no-wait`.
pub async fn check_health(
    cluster: &Cluster,
    prepared: &Prepared,
    options: &WriteOptions,
    progress: &dyn Progress,
) -> Result<Option<HealthReport>, Error> {
    let targets: Vec<&crate::plan::Target> = prepared.plan.targets().map(|(_, t)| t).collect();
    if options.no_wait || targets.is_empty() {
        return Ok(None);
    }
    let health = wait_healthy(cluster, &targets, options, None, "", progress).await;
    if crate::cancel::requested() {
        return Err(Error::Cancelled(
            "during the health check; nothing needed writing and nothing was written".into(),
        ));
    }
    Ok(Some(health))
}

/// Writes the app under its lock (see [`crate::deploy::lock`]). Returns the prepared app with its
/// plan as finally validated, and what was written; an `Err` means the deploy stopped
/// (cancelled, lost lock, inventory, re-validation). Every outcome is recorded in the history
/// while the lock is held.
pub async fn write(
    cluster: &Cluster,
    mut prepared: Prepared,
    run: &AppRun,
    locked: &Locked,
    options: &WriteOptions,
    progress: &dyn Progress,
) -> Result<(Prepared, Written), Error> {
    let to_write = to_write(&prepared) + locked.created.len();
    let applied = Applied {
        outcomes: locked.created.clone(),
        not_attempted: 0,
    };
    let run_options = prepared.options.clone();
    let writer = Writer {
        cluster,
        run_options: &run_options,
        options,
        progress,
        to_write,
        lease: &locked.lease,
    };
    writer.check(&applied)?;
    let parent = ParentRecord::new(&prepared.plan, &prepared.inventory, &run.identity);
    let mut result = write_locked(&writer, &parent, &mut prepared, applied, run.propagation).await;
    if let Ok(written) = &mut result
        && written.status() != ExitStatus::Success
    {
        let ctx = hook_context(&writer);
        let hooks: Vec<&crate::plan::Target> = prepared
            .plan
            .hooks(Phase::SyncFail)
            .map(|(_, t)| t)
            .collect();
        match run_phase(&ctx, Phase::SyncFail, &hooks).await {
            Ok(mut runs) => {
                clean_up(&ctx, Phase::SyncFail, &mut runs).await;
                written.hooks.extend(runs);
            }
            Err(e) => progress.note(&format!("warning: SyncFail hooks stopped: {e}")),
        }
    }
    if let Some(ending) = ending(&result) {
        let succeeded = ending.0 == crate::inventory::history::Outcome::Succeeded;
        let recording = record(
            &writer,
            &parent,
            &prepared,
            run,
            ending,
            result.as_ref().ok(),
        );
        if succeeded {
            recording.await?;
        } else {
            // The deploy failed already, perhaps because the server stopped answering: that is
            // the error to report, and recording it must not hold the run.
            match tokio::time::timeout(RECORD_FAILURE_TIMEOUT, recording).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => progress.note(&format!("warning: the history records nothing: {e}")),
                Err(_) => progress.note("warning: the history records nothing: no answer"),
            }
        }
    }
    Ok((prepared, result?))
}

/// Everything under the lock: namespaces, inventory, CRDs, the other objects, prune.
async fn write_locked(
    writer: &Writer<'_>,
    parent: &ParentRecord,
    prepared: &mut Prepared,
    mut applied: Applied,
    propagation: Propagation,
) -> Result<Written, Error> {
    let cluster = writer.cluster;
    for ns in &prepared.namespaces_to_create {
        applied
            .outcomes
            .push(create_namespace(cluster, &prepared.namespace_resource, ns, None).await);
    }
    if applied.failed().next().is_none() {
        let stage = staged::apply(
            cluster,
            &prepared.plan,
            &[Stage::Namespaces],
            None,
            writer.run_options.concurrency,
            write_options(writer.run_options),
        )
        .await;
        applied.outcomes.extend(stage.outcomes);
    }
    if applied.failed().next().is_some() {
        return Ok(stopped(applied, Vec::new()));
    }
    writer.check(&applied)?;
    parent
        .write(cluster, &prepared.inventory, None, false)
        .await?;

    let ctx = hook_context(writer);
    let mut hooks = Vec::new();
    let mut before = vec![Phase::PreSync];
    if writer.options.rollback() {
        before.push(Phase::PreRollback);
    }
    for phase in before {
        if !run_hooks(&ctx, &prepared.plan, phase, &mut hooks).await? {
            return Ok(Written {
                applied,
                hooks,
                ..Written::default()
            });
        }
    }
    writer.check(&applied)?;

    let crds = staged::apply(
        cluster,
        &prepared.plan,
        &[Stage::Crds],
        None,
        writer.run_options.concurrency,
        write_options(writer.run_options),
    )
    .await;
    applied.outcomes.extend(crds.outcomes);
    writer.check(&applied)?;
    if applied.failed().next().is_none() {
        applied
            .outcomes
            .extend(wait_for_crds(cluster, &prepared.plan).await);
    }
    if applied.failed().next().is_some() {
        return Ok(stopped(applied, hooks));
    }

    let plan = std::mem::take(&mut prepared.plan);
    prepared.plan = revalidate(cluster, plan, writer.run_options).await?;

    let health = apply_waves(writer, &mut prepared.plan, &mut applied, &mut hooks).await?;
    // The Sync phase spans every wave: its hooks go once the last wave is over.
    clean_up(&ctx, Phase::Sync, &mut hooks).await;
    if applied.failed().next().is_some() {
        return Ok(stopped(applied, hooks));
    }
    let unfinished =
        |health: Option<HealthReport>, applied: Applied, hooks: Vec<HookRun>| Written {
            applied,
            health,
            pruned: None,
            hooks,
        };
    if health.as_ref().is_some_and(|h| !h.healthy()) || hooks.iter().any(|h| !h.succeeded) {
        return Ok(unfinished(health, applied, hooks));
    }

    // PostSync once everything is healthy: with --no-wait, nothing says it is.
    let mut after = Vec::new();
    if writer.options.no_wait {
        if prepared.plan.hooks(Phase::PostSync).next().is_some() {
            writer.progress.note(
                "warning: PostSync hooks not run: --no-wait does not wait for the app to be healthy",
            );
        }
    } else {
        after.push(Phase::PostSync);
        if writer.options.run_tests {
            after.push(Phase::Test);
        }
    }
    if writer.options.rollback() {
        after.push(Phase::PostRollback);
    }
    for phase in after {
        if !run_hooks(&ctx, &prepared.plan, phase, &mut hooks).await? {
            return Ok(unfinished(health, applied, hooks));
        }
    }

    // PruneLast: only once every write succeeded and everything is healthy.
    writer.check(&applied)?;
    let pruned = prune(writer, prepared, propagation).await;
    if crate::cancel::requested() {
        let done = pruned.deleted.iter().filter(|d| d.error.is_none()).count();
        return Err(Error::Cancelled(format!(
            "during the prune, after {done} deletion(s); every object was applied; rerun to finish the prune"
        )));
    }
    Ok(Written {
        applied,
        health,
        pruned: Some(pruned),
        hooks,
    })
}

pub(in crate::deploy) fn hook_context<'a>(writer: &Writer<'a>) -> HookContext<'a> {
    HookContext {
        cluster: writer.cluster,
        progress: writer.progress,
        timeout: writer.options.timeout,
        strict: writer.run_options.plan.validate,
        stream_logs: tracing::enabled!(tracing::Level::INFO),
    }
}

/// Runs the plan's hooks of `phase` into `runs`; `false` when one failed.
pub(in crate::deploy) async fn run_hooks(
    ctx: &HookContext<'_>,
    plan: &crate::plan::Plan,
    phase: Phase,
    runs: &mut Vec<HookRun>,
) -> Result<bool, Error> {
    let hooks: Vec<&crate::plan::Target> = plan.hooks(phase).map(|(_, t)| t).collect();
    let mut ran = run_phase(ctx, phase, &hooks).await?;
    clean_up(ctx, phase, &mut ran).await;
    let ok = ran.iter().all(|r| r.succeeded);
    runs.extend(ran);
    Ok(ok)
}

async fn prune(writer: &Writer<'_>, prepared: &Prepared, propagation: Propagation) -> Pruned {
    let options = PruneOptions {
        propagation,
        concurrency: writer.run_options.concurrency,
        dry_run: false,
        no_wait: writer.options.no_wait,
    };
    delete::prune(writer.cluster, &prepared.plan, options).await
}

/// `--dry-run`: the server checks the prune deletions too; nothing is written.
pub async fn dry_run(cluster: &Cluster, prepared: &Prepared, run: &AppRun) -> Pruned {
    let options = PruneOptions {
        propagation: run.propagation,
        concurrency: prepared.options.concurrency,
        dry_run: true,
        no_wait: true,
    };
    delete::prune(cluster, &prepared.plan, options).await
}

fn stopped(applied: Applied, hooks: Vec<HookRun>) -> Written {
    Written {
        applied,
        hooks,
        ..Written::default()
    }
}

/// Objects (and namespaces) the write phase is to create or update.
pub fn to_write(prepared: &Prepared) -> usize {
    let objects = prepared.plan.entries.iter().filter(|e| e.writes()).count();
    objects + prepared.namespaces_to_create.len()
}

//! Writing one app: namespaces, the lock, the inventory parent, CRDs, the waves of objects,
//! the health wait, pruning, and the history entry.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::apply::{self, Applied, Outcome, Stage};
use crate::cli::ApplyArgs;
use crate::cluster::{ApplyOptions, Cluster, HeldLease};
use crate::error::Error;
use crate::history::{self, HistoryEntry};
use crate::object::ObjectRef;
use crate::plan::{Action, Plan, Target};
use crate::printer::Printer;
use crate::prune::{self, Pruned};
use crate::report;
use crate::settings::AppRun;
use crate::wait::{self, HealthReport, WaitOptions};

use super::apply::report_results;
use super::inventory::Inventory;
use super::output::AppReport;
use super::parent::ParentRecord;
use super::prepare::{Prepared, observe};

/// Label on namespaces kpush created, so people can tell where they came from.
const CREATED_BY_LABEL: &str = "app.kubernetes.io/created-by";
/// How long a CRD may take to be served.
const CRD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a pod may wait for a node before the rollout counts as failed.
const UNSCHEDULABLE_GRACE: Duration = Duration::from_secs(30);

pub(super) async fn write(
    mut prepared: Prepared,
    run: &AppRun,
    kind: &str,
    args: &ApplyArgs,
    printer: &Printer,
    text: bool,
    parent: ParentRecord,
) -> Result<AppReport, Error> {
    let cluster = prepared.cluster.clone();
    let concurrency = prepared.options.concurrency;
    let strict = prepared.options.plan.validate;
    let force = prepared.options.force_conflicts;
    check_cancel(&Applied::default(), to_write(&prepared))?;

    // Namespaces first: everything else, the lock included, lives in them.
    let mut applied = Applied::default();
    for ns in &prepared.namespaces_to_create {
        applied
            .outcomes
            .push(create_namespace(&cluster, &prepared.namespace_resource, ns).await);
    }
    if applied.failed().next().is_none() {
        let stage = apply::apply(
            &cluster,
            &prepared.targets,
            &prepared.plan,
            &[Stage::Namespaces],
            None,
            concurrency,
            write_options(strict, force),
        )
        .await;
        applied.outcomes.extend(stage.outcomes);
    }
    if applied.failed().next().is_some() {
        let written = Written {
            applied,
            health: None,
            pruned: None,
        };
        return Ok(report_results(printer, text, run, prepared, written));
    }

    check_cancel(&applied, to_write(&prepared))?;
    let lease = take_lock(&cluster, &prepared.inventory, args, printer).await?;
    let result = write_locked(&mut prepared, run, kind, args, printer, &parent, applied).await;
    lease.release().await;
    Ok(report_results(printer, text, run, prepared, result?))
}
/// What the write phase did.
pub(super) struct Written {
    pub(super) applied: Applied,
    pub(super) health: Option<HealthReport>,
    pub(super) pruned: Option<Pruned>,
}
async fn take_lock(
    cluster: &Cluster,
    inventory: &Inventory,
    args: &ApplyArgs,
    printer: &Printer,
) -> Result<HeldLease, Error> {
    let namespace = inventory.parent.namespace.as_deref().unwrap_or_default();
    let holder = crate::ci::run_identity();
    Ok(cluster
        .acquire_lease(
            namespace,
            &inventory.parent.name,
            &holder,
            Duration::from_secs(args.lock_timeout),
            |other| {
                printer.note(&format!(
                    "waiting for the deploy lock {namespace}/{}, held by {other} (up to {}s)",
                    inventory.parent.name, args.lock_timeout
                ))
            },
        )
        .await?)
}
/// Everything after the lock is taken: inventory, CRDs, the other objects, prune.
async fn write_locked(
    prepared: &mut Prepared,
    run: &AppRun,
    kind: &str,
    args: &ApplyArgs,
    printer: &Printer,
    parent: &ParentRecord,
    mut applied: Applied,
) -> Result<Written, Error> {
    let stopped = |applied: Applied| {
        Ok(Written {
            applied,
            health: None,
            pruned: None,
        })
    };
    let cluster = prepared.cluster.clone();
    let concurrency = prepared.options.concurrency;
    let strict = prepared.options.plan.validate;
    let force = prepared.options.force_conflicts;
    let targets = &prepared.targets;

    parent.write(&cluster, &prepared.inventory, None).await?;

    let crds = apply::apply(
        &cluster,
        targets,
        &prepared.plan,
        &[Stage::Crds],
        None,
        concurrency,
        write_options(strict, force),
    )
    .await;
    applied.outcomes.extend(crds.outcomes);
    check_cancel(&applied, to_write(prepared))?;
    if applied.failed().next().is_none() {
        let waited = wait_for_crds(&cluster, targets, &prepared.plan).await;
        applied.outcomes.extend(waited);
    }
    if applied.failed().next().is_some() {
        return stopped(applied);
    }

    // Objects whose namespace or CRD did not exist could not be dry-run before; they can now.
    let pending: Vec<usize> = (0..targets.len())
        .filter(|&i| prepared.plan.entries[i].pending.is_some())
        .collect();
    if !pending.is_empty() {
        let subset: Vec<Target> = pending
            .iter()
            .map(|&i| Target {
                awaits_crd: None,
                ..targets[i].clone()
            })
            .collect();
        let observations = observe(&cluster, &subset, &BTreeSet::new(), &prepared.options).await;
        let revalidated = Plan::build(&subset, observations, &prepared.options.plan);
        for (i, entry) in pending.iter().zip(revalidated.entries) {
            prepared.plan.entries[*i] = entry;
        }
        if prepared.plan.error_class().is_some() {
            let errors = Plan {
                entries: prepared.plan.errors().cloned().collect(),
            };
            printer.out(&report::plan_text(&errors, printer));
            return Err(Error::Invalid(
                "validation failed after creating namespaces and CustomResourceDefinitions; no other object was written, nothing was pruned".into(),
            ));
        }
    }

    // Waves in ascending order; each is applied (and healthy, unless --no-wait) before the
    // next starts.
    let waves: std::collections::BTreeSet<i64> = targets.iter().map(apply::wave_of).collect();
    let last = waves.last().copied();
    let mut health = None;
    for wave in waves {
        let final_wave = Some(wave) == last;
        let rest = apply::apply(
            &cluster,
            targets,
            &prepared.plan,
            &[Stage::ClusterScoped, Stage::Namespaced],
            Some(wave),
            concurrency,
            write_options(strict, force),
        )
        .await;
        applied.outcomes.extend(rest.outcomes);
        applied.not_attempted += rest.not_attempted;
        check_cancel(&applied, to_write(prepared))?;
        if applied.failed().next().is_some() {
            return stopped(applied);
        }
        // Health before the next wave and before pruning: a broken rollout keeps what it
        // would replace.
        if args.no_wait {
            continue;
        }
        // The last wait covers every object, the earlier waves' included.
        let in_wave: Vec<Target> = if final_wave {
            targets.to_vec()
        } else {
            targets
                .iter()
                .filter(|t| apply::wave_of(t) == wave)
                .cloned()
                .collect()
        };
        let options = WaitOptions {
            timeout: args.timeout,
            unschedulable_grace: UNSCHEDULABLE_GRACE,
            wait_for_load_balancers: !args.no_wait_lb,
            rollout_started: applied.started(),
        };
        let scope = if final_wave {
            String::new()
        } else {
            format!(" (wave {wave})")
        };
        printer.note(&format!(
            "waiting up to {}s for {} object(s) to become healthy{scope}",
            options.timeout.as_secs(),
            in_wave.len()
        ));
        let report = wait::wait(&cluster, &in_wave, options, |line| {
            printer.note(&format!("  {line}"))
        })
        .await;
        check_cancel(&applied, to_write(prepared))?;
        let healthy = report.healthy();
        health = Some(report);
        if !healthy {
            return Ok(Written {
                applied,
                health,
                pruned: None,
            });
        }
    }

    // PruneLast: only once every write succeeded and everything is healthy.
    check_cancel(&applied, to_write(prepared))?;
    let pruned = prune::prune(
        &cluster,
        &prepared.inventory.candidates,
        &prepared.plan,
        prune::PruneOptions {
            propagation: run.propagation,
            concurrency,
            dry_run: false,
            no_wait: args.no_wait,
        },
    )
    .await;
    if crate::cancel::requested() {
        let done = pruned.deleted.iter().filter(|d| d.error.is_none()).count();
        return Err(Error::Cancelled(format!(
            "during the prune, after {done} deletion(s); every object was applied; rerun to finish the prune"
        )));
    }
    if pruned.failed().next().is_none() {
        let entry = history_entry(prepared, run, kind, &pruned);
        let history = history::append(prepared.inventory.history.clone(), entry);
        parent
            .write(&cluster, &prepared.inventory, Some(&history))
            .await?;
    }
    Ok(Written {
        applied,
        health,
        pruned: Some(pruned),
    })
}
async fn create_namespace(
    cluster: &Cluster,
    resource: &crate::object::Resource,
    name: &str,
) -> Outcome {
    let id = ObjectRef {
        group: String::new(),
        version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: name.to_string(),
    };
    let object = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {CREATED_BY_LABEL: "kpush"}}
    });
    let result = cluster
        .apply(resource, &id, &object, ApplyOptions::default())
        .await;
    Outcome {
        id,
        action: Action::Create,
        error: result.err(),
        written_at: None,
    }
}
/// Custom resources can only be sent once their CRDs are served: waits for each CRD this
/// deploy created or changed. A CRD that does not become established is a failed outcome.
async fn wait_for_crds(cluster: &Cluster, targets: &[Target], plan: &Plan) -> Vec<Outcome> {
    let waits = targets
        .iter()
        .zip(&plan.entries)
        .filter(|(t, e)| apply::is_crd(t) && matches!(e.action, Action::Create | Action::Update))
        .map(|(t, e)| async move {
            let result = cluster
                .wait_established(&t.resource, &t.id, CRD_TIMEOUT)
                .await;
            result.err().map(|error| Outcome {
                id: t.id.clone(),
                action: e.action,
                error: Some(error),
                written_at: None,
            })
        });
    futures::future::join_all(waits)
        .await
        .into_iter()
        .flatten()
        .collect()
}
fn write_options(strict: bool, force: bool) -> ApplyOptions {
    ApplyOptions {
        strict,
        force,
        dry_run: false,
    }
}
/// What the history records about this deploy.
fn history_entry(prepared: &Prepared, run: &AppRun, kind: &str, pruned: &Pruned) -> HistoryEntry {
    let c = prepared.plan.counts();
    let objects: Vec<&serde_json::Value> = prepared.targets.iter().map(|t| &t.object).collect();
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

/// Stops the run when it was cancelled, saying what was written; nothing is pruned after this.
fn check_cancel(applied: &Applied, to_write: usize) -> Result<(), Error> {
    if !crate::cancel::requested() {
        return Ok(());
    }
    let written = applied
        .outcomes
        .iter()
        .filter(|o| o.error.is_none())
        .count();
    Err(Error::Cancelled(format!(
        "{written} of {to_write} object(s) written; nothing was pruned and the deploy lock is released; rerun the same command to finish"
    )))
}

/// Objects (and namespaces) the write phase is to create or update.
pub(super) fn to_write(prepared: &Prepared) -> usize {
    let objects = prepared
        .plan
        .entries
        .iter()
        .filter(|e| matches!(e.action, Action::Create | Action::Update))
        .count();
    objects + prepared.namespaces_to_create.len()
}

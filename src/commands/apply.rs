//! `kpush apply`: validate everything by dry run, then write in stages under a lock, recording
//! the inventory, and prune last.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use serde_json::json;

use crate::apply::{self, Applied, Outcome, Stage};
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use crate::cluster::{ApplyOptions, Cluster, FailureClass, HeldLease};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::history::{self, HistoryEntry};
use crate::inventory::{GroupKind, ParentState, parent_manifest};
use crate::object::ObjectRef;
use crate::plan::{Action, Plan, Target};
use crate::printer::{Printer, Style};
use crate::prune::{self, Pruned};
use crate::report;
use crate::wait::{self, HealthReport, WaitOptions};

use crate::settings::{self, AppRun};

use super::inventory::Inventory;
use super::output::{self, AppReport, app_header};
use super::prepare::{Prepared, observe, prepare};

/// Label on namespaces kpush created, so people can tell where they came from.
const CREATED_BY_LABEL: &str = "app.kubernetes.io/created-by";
/// How long a CRD may take to be served.
const CRD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a pod may wait for a node before the rollout counts as failed.
const UNSCHEDULABLE_GRACE: Duration = Duration::from_secs(30);
/// Below this many members, any share of them may be pruned without confirmation.
const TRIVIAL_INVENTORY: usize = 5;

pub fn failure_status(class: FailureClass) -> ExitStatus {
    match class {
        FailureClass::Invalid => ExitStatus::Invalid,
        FailureClass::Conflict | FailureClass::Transient => ExitStatus::Failure,
    }
}

pub async fn apply(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(
        global,
        &args.target.source,
        Some(&args.target),
        args.prune_propagation,
    )?;
    super::warn(printer, &resolved.warnings);
    let reports = apply_resolved(global, args, printer, &resolved, "deploy").await?;
    Ok(output::finish("apply", global.output, printer, &reports))
}

/// Plans, validates and writes every resolved app; `kind` is what history records.
pub async fn apply_resolved(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
    resolved: &settings::Resolved,
    kind: &str,
) -> Result<Vec<AppReport>, Error> {
    let text = global.output == OutputFormat::Text;
    let many = resolved.apps.len() > 1;

    // Every app is planned and validated before any app is written.
    let mut prepared = Vec::new();
    for run in &resolved.apps {
        let p = prepare(global, &args.target, &resolved.snapshot, run).await?;
        if text {
            let namespace = p.inventory.parent.namespace.clone().unwrap_or_default();
            if many {
                app_header(printer, &run.name, run.env.as_deref(), &namespace);
            }
            for ns in &p.namespaces_to_create {
                printer.out(&format!("+ v1 Namespace {ns} (--create-namespace)\n"));
            }
            printer.out(&report::plan_text(&p.plan, printer));
            output::images_line(printer, &run.images);
        }
        prepared.push((run, p));
    }
    let invalid = prepared
        .iter()
        .filter_map(|(_, p)| p.plan.error_class())
        .map(failure_status)
        .max_by_key(|s| *s == ExitStatus::Invalid);
    if let Some(status) = invalid {
        let n: usize = prepared.iter().map(|(_, p)| p.plan.counts().error).sum();
        printer.note(&printer.paint(
            Style::Error,
            &format!("error: {n} object(s) failed validation; nothing was written to the cluster"),
        ));
        let reports: Vec<AppReport> = prepared
            .into_iter()
            .map(|(run, p)| {
                let own = p.plan.error_class().map(failure_status).unwrap_or(status);
                report_of(run, p, None, None, own)
            })
            .collect();
        return Ok(reports);
    }
    for (_, p) in &prepared {
        check_prune_share(&p.plan, args)?;
    }

    let mut reports = Vec::new();
    for (run, p) in prepared {
        if many && text {
            let namespace = p.inventory.parent.namespace.clone().unwrap_or_default();
            app_header(printer, &run.name, run.env.as_deref(), &namespace);
        }
        let parent = ParentRecord::new(&p);
        if !p.plan.has_changes() && p.namespaces_to_create.is_empty() && !parent.needs_write() {
            if text {
                printer.out("No changes.\n");
            }
            reports.push(report_of(run, p, None, None, ExitStatus::Success));
            continue;
        }
        let previous = p.inventory.history.last().cloned();
        let report = if args.dry_run {
            dry_run(p, run, printer, text).await
        } else {
            write(p, run, kind, args, printer, text, parent).await?
        };
        let failed = report.status() != ExitStatus::Success;
        let unhealthy = report.status() == ExitStatus::Unhealthy;
        reports.push(report);
        if !failed && args.write_back && !args.dry_run && !run.images.is_empty() {
            write_back(args, printer, resolved, run)?;
        }
        if unhealthy && args.atomic && !args.dry_run {
            let rolled_back = roll_back(global, args, printer, resolved, run, previous).await?;
            reports.extend(rolled_back);
        }
        // A failed app stops the run: later apps may depend on it.
        if failed {
            break;
        }
    }
    Ok(reports)
}

/// `--write-back`: the promoted tags, committed to the app's `.argocd-source-<app>.yaml`.
fn write_back(
    args: &ApplyArgs,
    printer: &Printer,
    resolved: &settings::Resolved,
    run: &AppRun,
) -> Result<(), Error> {
    let snapshot = &resolved.snapshot;
    let kind = crate::render::detect(snapshot, &run.render.path)?;
    let file = crate::render::override_file(&run.render.path, &run.name);
    let existing = snapshot.read(&file)?;
    let content = crate::render::record_promotions(existing.as_deref(), kind, &run.images)
        .map_err(|e| Error::Invalid(format!("cannot update `{}`: {e}", file.display())))?;
    let images: Vec<String> = run.images.iter().map(ToString::to_string).collect();
    let message = format!(
        "Deploy {} to {}{}\n\nRecorded by kpush --write-back after a successful deploy.",
        images.join(", "),
        run.name,
        run.env
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    let root = snapshot.root();
    let author = crate::source::author(root, args.git_user.as_deref(), args.git_email.as_deref());
    let sha = crate::source::commit_file(root, &file, content.as_bytes(), &message, &author)?;
    printer.note(&format!(
        "recorded {} in `{}` (commit {}); push it with `git push`",
        images.join(", "),
        file.display(),
        &sha[..7]
    ));
    Ok(())
}

/// `--atomic`: the previous recorded revision goes back at once, without pruning what the
/// failed deploy added. The run still exits 4.
async fn roll_back(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
    resolved: &settings::Resolved,
    run: &AppRun,
    previous: Option<HistoryEntry>,
) -> Result<Vec<AppReport>, Error> {
    let Some(entry) = previous.filter(|e| !e.sha.is_empty()) else {
        printer.note(&printer.paint(
            Style::Error,
            &format!(
                "--atomic: {} has no earlier recorded revision to roll back to",
                run.name
            ),
        ));
        return Ok(Vec::new());
    };
    printer.note(&format!(
        "--atomic: rolling {} back to revision {} ({})",
        run.name,
        entry.revision,
        entry.sha.get(..7).unwrap_or(&entry.sha)
    ));
    let mut target = args.target.clone();
    target.prune = false;
    let mut back = super::rollback::resolve_entry(
        global,
        &args.target.source,
        resolved,
        &run.name,
        &entry,
        target.clone(),
    )?;
    for app in &mut back.apps {
        app.prune = false;
    }
    let args = ApplyArgs {
        target,
        atomic: false,
        ..args.clone()
    };
    Box::pin(apply_resolved(
        global,
        &args,
        printer,
        &back,
        "atomic-rollback",
    ))
    .await
}

fn report_of(
    run: &AppRun,
    prepared: Prepared,
    applied: Option<Applied>,
    pruned: Option<Pruned>,
    status: ExitStatus,
) -> AppReport {
    AppReport {
        app: run.name.clone(),
        env: run.env.clone(),
        images: run.images.iter().map(ToString::to_string).collect(),
        namespace: prepared
            .inventory
            .parent
            .namespace
            .clone()
            .unwrap_or_default(),
        counts: prepared.plan.counts(),
        plan: prepared.plan,
        applied,
        health: None,
        pruned,
        exit_code: status.code(),
    }
}

/// A prune that removes most of a real inventory is more often a wrong PATH or revision than
/// intent: it needs `--confirm-prune`.
fn check_prune_share(plan: &Plan, args: &ApplyArgs) -> Result<(), Error> {
    let c = plan.counts();
    let existing = c.update + c.unchanged + c.prune + c.keep;
    let threshold = usize::from(args.prune_threshold);
    if threshold == 0 || args.confirm_prune || existing < TRIVIAL_INVENTORY {
        return Ok(());
    }
    if c.prune * 100 > threshold * existing {
        return Err(Error::Invalid(format!(
            "this deploy would prune {} of the app's {existing} objects ({}%), more than --prune-threshold {threshold}%\nhint: check PATH and --rev; pass `--confirm-prune` if this is intended",
            c.prune,
            c.prune * 100 / existing
        )));
    }
    Ok(())
}

/// What the parent should record before the members are written (old and new together, so a
/// crash never loses track of a member) and after a successful prune (only what remains).
struct ParentRecord {
    before: (BTreeSet<GroupKind>, BTreeSet<String>),
    after: (BTreeSet<GroupKind>, BTreeSet<String>),
    previous: Option<ParentState>,
}

impl ParentRecord {
    fn new(prepared: &Prepared) -> ParentRecord {
        let inventory = &prepared.inventory;
        let destination = inventory.parent.namespace.clone().unwrap_or_default();
        let kept: HashSet<&ObjectRef> = prepared
            .plan
            .entries
            .iter()
            .filter(|e| e.action == Action::Keep)
            .map(|e| &e.id)
            .collect();
        let mut kinds = BTreeSet::new();
        let mut namespaces = BTreeSet::new();
        let remaining = prepared.targets.iter().map(|t| &t.id).chain(
            inventory
                .candidates
                .iter()
                .map(|c| &c.id)
                .filter(|id| kept.contains(id)),
        );
        for id in remaining {
            kinds.insert(GroupKind {
                group: id.group.clone(),
                kind: id.kind.clone(),
            });
            if let Some(ns) = id.namespace.as_ref().filter(|ns| **ns != destination) {
                namespaces.insert(ns.clone());
            }
        }
        let mut before = (kinds.clone(), namespaces.clone());
        if let Some(previous) = &inventory.previous {
            before.0.extend(previous.group_kinds.iter().cloned());
            before
                .1
                .extend(previous.additional_namespaces.iter().cloned());
        }
        ParentRecord {
            before,
            after: (kinds, namespaces),
            previous: inventory.previous.clone(),
        }
    }

    fn needs_write(&self) -> bool {
        match &self.previous {
            None => true,
            Some(p) => {
                p.group_kinds != self.after.0
                    || p.additional_namespaces != self.after.1
                    || p.tooling.as_deref() != Some(crate::inventory::tooling().as_str())
            }
        }
    }

    /// Before the members (`history` `None`, the kinds old and new) or after a successful
    /// deploy (only what remains, and the history with this deploy added).
    async fn write(
        &self,
        cluster: &Cluster,
        inventory: &Inventory,
        history: Option<&[HistoryEntry]>,
    ) -> Result<(), Error> {
        let (kinds, namespaces) = match history {
            Some(_) => &self.after,
            None => &self.before,
        };
        let parent = &inventory.parent;
        let recorded = history.map(history::to_annotation).or_else(|| {
            (!inventory.history.is_empty()).then(|| history::to_annotation(&inventory.history))
        });
        let body = parent_manifest(
            &parent.name,
            parent.namespace.as_deref().unwrap_or_default(),
            kinds,
            namespaces,
            recorded.as_deref(),
        );
        cluster
            .apply(
                &inventory.secret_resource,
                parent,
                &body,
                ApplyOptions::default(),
            )
            .await
            .map(|_| ())
            .map_err(|f| Error::Runtime(format!("cannot write the inventory {parent}: {f}")))
    }
}

/// `--dry-run`: the server checks the prune deletions too; nothing is written.
async fn dry_run(prepared: Prepared, run: &AppRun, printer: &Printer, text: bool) -> AppReport {
    let pruned = prune::prune(
        &prepared.cluster,
        &prepared.inventory.candidates,
        &prepared.plan,
        run.propagation,
        prepared.options.concurrency,
        true,
    )
    .await;
    let status = if pruned.failed().next().is_some() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    if text {
        printer.out(&report::pruned_text(&pruned, printer));
        printer.out("Dry run: nothing was written.\n");
    }
    report_of(run, prepared, None, Some(pruned), status)
}

async fn write(
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

    let lease = take_lock(&cluster, &prepared.inventory, args, printer).await?;
    let result = write_locked(&mut prepared, run, kind, args, printer, &parent, applied).await;
    lease.release().await;
    Ok(report_results(printer, text, run, prepared, result?))
}

/// What the write phase did.
struct Written {
    applied: Applied,
    health: Option<HealthReport>,
    pruned: Option<Pruned>,
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
    let pruned = prune::prune(
        &cluster,
        &prepared.inventory.candidates,
        &prepared.plan,
        run.propagation,
        concurrency,
        false,
    )
    .await;
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

fn report_results(
    printer: &Printer,
    text: bool,
    run: &AppRun,
    prepared: Prepared,
    written: Written,
) -> AppReport {
    let Written {
        applied,
        health,
        pruned,
    } = written;
    let status = if applied.failed().next().is_some()
        || pruned.as_ref().is_some_and(|p| p.failed().next().is_some())
    {
        ExitStatus::Failure
    } else if health.as_ref().is_some_and(|h| !h.healthy()) {
        ExitStatus::Unhealthy
    } else {
        ExitStatus::Success
    };
    if text {
        printer.out(&report::applied_text(&applied, printer));
        if let Some(health) = &health {
            printer.out(&report::health_text(health, printer));
        }
        match &pruned {
            Some(pruned) => printer.out(&report::pruned_text(pruned, printer)),
            None if prepared.plan.counts().prune > 0 => printer.out(&printer.paint(
                Style::Error,
                "Nothing was pruned: the deploy did not complete.\n",
            )),
            None => {}
        }
    }
    let mut report = report_of(run, prepared, Some(applied), pruned, status);
    report.health = health;
    report
}

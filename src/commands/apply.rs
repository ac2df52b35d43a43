//! `kpush apply`: plan and validate every app, then write each one (with `--atomic`, roll a
//! failed rollout back), and report.

use crate::cli::{ApplyArgs, GlobalArgs};
use crate::deploy::{self, AppRun, PrepareOptions};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::inventory::history::HistoryEntry;
use crate::plan::Declared;
use crate::printer::{Printer, Style};
use crate::report::{self, AppReport, Stream};
use crate::settings;

use super::plan::{Planned, plan_all, plan_one};
use super::write_back::write_back;

pub async fn apply(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let saved = match &args.plan {
        Some(path) => Some(super::saved_plan::load(path, args.plan_max_age)?),
        None => None,
    };
    // A saved plan is applied at its own commit.
    let global = &match &saved {
        Some(plan) => {
            if global.rev.as_ref().is_some_and(|r| *r != plan.commit) {
                return Err(Error::Invalid(format!(
                    "--rev {} and the plan's commit {} differ; leave --rev out to apply the plan",
                    global.rev.as_deref().unwrap_or(""),
                    plan.commit
                )));
            }
            if args.target.update_images {
                return Err(Error::Invalid(
                    "--update-images chooses tags when it runs; a saved plan is applied with the tags it was planned with: leave --update-images out".into(),
                ));
            }
            GlobalArgs {
                rev: Some(plan.commit.clone()),
                ..global.clone()
            }
        }
        None => global.clone(),
    };
    let mut resolved = settings::resolve(
        global,
        &args.target.source,
        Some(&args.target),
        args.prune_propagation,
    )?;
    super::warn(printer, &resolved.warnings);
    super::update_images(printer, &mut resolved).await?;
    let reports =
        apply_resolved(global, args, printer, &resolved, "deploy", saved.as_ref()).await?;
    let sinks = &args.target.report_to;
    Ok(report::finish(
        "apply",
        global.output,
        printer,
        &reports,
        sinks,
    ))
}

/// What writing each app of a run shares.
struct Writing<'a> {
    args: &'a ApplyArgs,
    resolved: &'a settings::Resolved,
    kind: &'a str,
    prepare: PrepareOptions,
    write: deploy::WriteOptions,
    /// Which app of the run declares each object, for a plan made again.
    declared: Declared,
    stream: Stream,
    /// Applying a saved plan: a plan made again is not the plan approved.
    pinned: bool,
}

/// Plans, validates and writes every resolved app; `kind` is what history records.
pub async fn apply_resolved(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
    resolved: &settings::Resolved,
    kind: &str,
    saved: Option<&crate::plan::saved::SavedPlan>,
) -> Result<Vec<AppReport>, Error> {
    let stream = Stream::new(*printer, global.output, resolved.apps.len() > 1);
    // Every app is planned and validated before any app is written.
    let prepare = settings::prepare_options(&args.target, settings::confirmations(&args.confirm));
    let mut planned = plan_all(
        global,
        prepare.clone(),
        resolved,
        &stream,
        args.target.render_always,
        false,
    )
    .await?
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .map_err(|failed| failed.error)?;
    // An approved plan is applied only as it was approved, and each update only if its
    // object is still at the version checked.
    if let Some(saved) = saved {
        super::saved_plan::check(saved, &planned)?;
        super::saved_plan::pin(&mut planned);
        stream.line(&format!(
            "Plan of commit {} (saved {}) checked: the cluster and the commit are as planned.",
            saved.commit, saved.created
        ));
    }
    if let Some(worst) = planned
        .iter()
        .filter_map(|p| p.prepared.plan.error_class())
        .max()
    {
        let n: usize = planned.iter().map(|p| p.prepared.plan.counts().error).sum();
        stream.error(&format!(
            "{n} object(s) {}; nothing was written to the cluster",
            worst.why_not_written()
        ));
        let status = worst.exit_status();
        return Ok(planned
            .into_iter()
            .map(|p| {
                let own = p.prepared.plan.error_class().map(|c| c.exit_status());
                p.report(own.unwrap_or(status))
            })
            .collect());
    }
    let ctx = Writing {
        args,
        pinned: saved.is_some(),
        resolved,
        kind,
        prepare,
        write: settings::write_options(args, kind),
        declared: Declared::by(
            planned
                .iter()
                .map(|p| (p.run.name.as_str(), &p.prepared.plan)),
        ),
        stream,
    };
    for p in &planned {
        ctx.guard(p)?;
    }
    // Apps that left their parent's render go once everything else is deployed and healthy.
    let gone = if kind == "deploy" {
        super::departed::departed(&planned, resolved)
    } else {
        Vec::new()
    };
    super::departed::announce(&ctx.stream, &gone);

    let mut reports = Vec::new();
    for p in planned {
        ctx.stream.write_heading(&p.id());
        let run = p.run;
        let back_to = atomic_target(&p);
        let report = ctx.write_one(p).await?;
        let status = report.status();
        // Only a run that changed an object has something to undo (a PreSync hook that failed
        // before anything was applied has not).
        let wrote = report
            .applied
            .as_ref()
            .is_some_and(|a| a.outcomes.iter().any(|o| o.error.is_none()));
        reports.push(report);
        if status == ExitStatus::Success
            && args.write_back
            && !args.dry_run
            && !run.images.is_empty()
        {
            write_back(args, printer, resolved, run)?;
        }
        // A rollout that was already broken before this run is not this run's to undo.
        if status == ExitStatus::Unhealthy && args.atomic && !args.dry_run && wrote {
            let rolled_back = roll_back(global, args, printer, resolved, run, back_to).await?;
            reports.extend(rolled_back);
        }
        // A failed app stops the run: later apps may depend on it.
        if status != ExitStatus::Success {
            break;
        }
    }
    if !gone.is_empty() && reports.iter().all(|r| r.status() == ExitStatus::Success) {
        let settled = super::departed::settle(global, args, printer, &ctx.stream, &gone).await?;
        reports.extend(settled);
    }
    Ok(reports)
}

impl Writing<'_> {
    /// The checks on a valid plan before anything is written: the share of the inventory a
    /// prune takes, and (for a deploy, not a rollback) a commit older than the one deployed
    /// last.
    fn guard(&self, p: &Planned<'_>) -> Result<(), Error> {
        let args = self.args;
        deploy::guards::check_prune_share(
            &p.prepared.plan,
            args.prune_threshold,
            args.confirm.confirm_prune,
        )?;
        if self.kind == "deploy" {
            let warning = deploy::guards::check_not_outdated(
                &p.prepared.inventory.history,
                p.prepared.commit.as_ref(),
                |candidate, deployed| self.resolved.snapshot.lineage(candidate, deployed),
                args.allow_outdated,
            )?;
            super::warn(self.stream.printer(), &Vec::from_iter(warning));
        }
        Ok(())
    }

    /// Writes one planned app (or checks its prune, with `--dry-run`) and reports it.
    async fn write_one(&self, p: Planned<'_>) -> Result<AppReport, Error> {
        let (args, stream) = (self.args, &self.stream);
        if p.prepared.nothing_to_write(p.run, self.args.run_tests) {
            return self.unchanged(p).await;
        }
        if args.dry_run {
            let pruned = deploy::dry_run(&p.cluster, &p.prepared, p.run).await;
            stream.dry_run(&pruned);
            let status = if pruned.failed().next().is_some() {
                ExitStatus::Failure
            } else {
                ExitStatus::Success
            };
            let mut report = p.report(status);
            report.pruned = Some(pruned);
            return Ok(report);
        }
        let Planned {
            run,
            cluster,
            mut prepared,
        } = p;
        let progress = stream.printer();
        let locked = deploy::lock(&cluster, run, &mut prepared, &self.write, progress).await?;
        if !locked.current(&prepared) && self.pinned {
            locked.release().await;
            return Err(Error::Invalid(format!(
                "another deploy of {} ran since the plan was checked; nothing of it was written\nhint: plan again (`kpush diff --save-plan`) and have the new plan approved",
                run.name
            )));
        }
        if !locked.current(&prepared) {
            // Another deploy ran since the plan: plan again, now that nobody else can.
            stream.line(&format!(
                "Another deploy of {} ran while this one waited for its lock; planning again:",
                run.name
            ));
            let again = plan_one(
                &self.prepare,
                self.resolved,
                run,
                cluster,
                &self.declared,
                stream,
            )
            .await;
            let again = match again {
                Ok(again) => again,
                Err(e) => {
                    locked.release().await;
                    return Err(e);
                }
            };
            let checked = match again.prepared.plan.error_class() {
                Some(class) => {
                    stream.error(&format!(
                        "{} object(s) {}; nothing more was written to the cluster",
                        again.prepared.plan.counts().error,
                        class.why_not_written()
                    ));
                    Err(class.exit_status())
                }
                None => self.guard(&again).map_err(|e| {
                    stream.error(&e.to_string());
                    e.exit_status()
                }),
            };
            if let Err(status) = checked {
                locked.release().await;
                return Ok(again.report(status));
            }
            if again.prepared.nothing_to_write(run, self.args.run_tests) {
                locked.release().await;
                return self.unchanged(again).await;
            }
            return self.write_locked(again, locked).await;
        }
        let p = Planned {
            run,
            cluster,
            prepared,
        };
        self.write_locked(p, locked).await
    }

    /// Writes an app whose plan is current under `locked`, then releases the lock.
    async fn write_locked(
        &self,
        p: Planned<'_>,
        locked: deploy::Locked,
    ) -> Result<AppReport, Error> {
        let stream = &self.stream;
        let to_write = deploy::to_write(&p.prepared);
        let planned_prunes = p.prepared.plan.counts().prune;
        let Planned {
            run,
            cluster,
            prepared,
        } = p;
        let written = deploy::write(
            &cluster,
            prepared,
            run,
            &locked,
            &self.write,
            stream.printer(),
        )
        .await;
        locked.release().await;
        let (prepared, written) = match written {
            Ok(done) => done,
            Err(Error::Revalidation(errors)) => {
                stream.errors(&errors);
                return Err(Error::Revalidation(errors));
            }
            Err(e) => return Err(e),
        };
        stream.written(&written, to_write, planned_prunes);
        let p = Planned {
            run,
            cluster,
            prepared,
        };
        Ok(p.report(ExitStatus::Success).with_written(written))
    }

    /// An app with nothing to write: its health is checked all the same.
    async fn unchanged(&self, p: Planned<'_>) -> Result<AppReport, Error> {
        let stream = &self.stream;
        stream.line("No changes.");
        if self.args.dry_run {
            return Ok(p.report(ExitStatus::Success));
        }
        let health =
            deploy::check_health(&p.cluster, &p.prepared, &self.write, stream.printer()).await?;
        let report = p.report(ExitStatus::Success);
        Ok(match health {
            Some(health) => {
                stream.health(&health);
                report.with_health(health)
            }
            None => report,
        })
    }
}

/// What `--atomic` goes back to: the last successful deploy before this one, and where its
/// snapshot is kept.
fn atomic_target(p: &Planned<'_>) -> Option<AtomicTarget> {
    let inventory = &p.prepared.inventory;
    let entry = inventory.history.iter().rev().find(|e| e.succeeded())?;
    Some(AtomicTarget {
        entry: entry.clone(),
        secret_resource: inventory.secret_resource.clone(),
        parent: inventory.parent.clone(),
    })
}

struct AtomicTarget {
    entry: HistoryEntry,
    secret_resource: crate::object::Resource,
    parent: crate::object::ObjectRef,
}

/// `--atomic`: what the last successful deploy applied goes back at once, from its snapshot,
/// without pruning what the failed deploy added. The run still exits 4.
async fn roll_back(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
    resolved: &settings::Resolved,
    run: &AppRun,
    back_to: Option<AtomicTarget>,
) -> Result<Vec<AppReport>, Error> {
    let refuse = |why: String| {
        printer.note(&printer.paint(Style::Error, &format!("--atomic: {why}")));
        Ok(Vec::new())
    };
    let Some(target) = back_to else {
        return refuse(format!(
            "{} has no earlier successful deploy to roll back to",
            run.name
        ));
    };
    let entry = &target.entry;
    let cluster = deploy::connect(&settings::connection(global), run).await?;
    let kept =
        deploy::snapshot::read(&cluster, &target.secret_resource, &target.parent, entry).await?;
    let Some(rendered) = kept else {
        return refuse(format!(
            "revision {} kept no snapshot of what it applied (it was deployed by an older kpush); nothing was rolled back\nhint: `kpush rollback --to {}` renders that commit again",
            entry.revision,
            entry.sha.get(..7).unwrap_or(&entry.sha)
        ));
    };
    printer.note(&format!(
        "--atomic: rolling {} back to revision {} ({}), as it was applied",
        run.name,
        entry.revision,
        entry.sha.get(..7).unwrap_or(&entry.sha)
    ));
    let mut back = settings::restoring(resolved, run, entry, rendered)?;
    for app in &mut back.apps {
        app.prune = false;
    }
    let mut target = args.target.clone();
    target.prune = false;
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
        None,
    ))
    .await
}

//! `kpush apply`: plan and validate every app, then write each one (with `--atomic`, roll a
//! failed rollout back), and report.

use crate::cli::{ApplyArgs, GlobalArgs};
use crate::deploy::{self, AppRun};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::inventory::history::HistoryEntry;
use crate::printer::{Printer, Style};
use crate::report::{self, AppReport, Stream};
use crate::settings;

use super::plan::{Planned, plan_all};
use super::write_back::write_back;

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
    let sinks = &args.target.report_to;
    Ok(report::finish(
        "apply",
        global.output,
        printer,
        &reports,
        sinks,
    ))
}

/// Plans, validates and writes every resolved app; `kind` is what history records.
pub async fn apply_resolved(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
    resolved: &settings::Resolved,
    kind: &str,
) -> Result<Vec<AppReport>, Error> {
    let stream = Stream::new(*printer, global.output, resolved.apps.len() > 1);
    // Every app is planned and validated before any app is written.
    let options = settings::prepare_options(&args.target, settings::confirmations(args));
    let planned = plan_all(global, options, resolved, &stream).await?;
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
    for p in &planned {
        deploy::guards::check_prune_share(
            &p.prepared.plan,
            args.prune_threshold,
            args.confirm_prune,
        )?;
    }

    let options = settings::write_options(args, kind);
    let mut reports = Vec::new();
    for p in planned {
        stream.write_heading(&p.id());
        let run = p.run;
        let previous = p.prepared.inventory.history.last().cloned();
        let report = write_one(p, args, &options, &stream).await?;
        let status = report.status();
        let wrote = report.applied.is_some();
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
            let rolled_back = roll_back(global, args, printer, resolved, run, previous).await?;
            reports.extend(rolled_back);
        }
        // A failed app stops the run: later apps may depend on it.
        if status != ExitStatus::Success {
            break;
        }
    }
    Ok(reports)
}

/// Writes one planned app (or checks its prune, with `--dry-run`) and reports it.
async fn write_one(
    p: Planned<'_>,
    args: &ApplyArgs,
    options: &deploy::WriteOptions,
    stream: &Stream,
) -> Result<AppReport, Error> {
    if p.prepared.nothing_to_write(p.run) {
        stream.line("No changes.");
        if args.dry_run {
            return Ok(p.report(ExitStatus::Success));
        }
        let health =
            deploy::check_health(&p.cluster, &p.prepared, options, stream.printer()).await?;
        let report = p.report(ExitStatus::Success);
        return Ok(match health {
            Some(health) => {
                stream.health(&health);
                report.with_health(health)
            }
            None => report,
        });
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
    let to_write = deploy::to_write(&p.prepared);
    let planned_prunes = p.prepared.plan.counts().prune;
    let Planned {
        run,
        cluster,
        prepared,
    } = p;
    let written = deploy::write(&cluster, prepared, run, options, stream.printer()).await;
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
    let mut back = settings::resolve_entry(
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

//! `kpush apply`: plan and validate every app, then write each one, and report.

use crate::cli::{ApplyArgs, GlobalArgs};
use crate::cluster::FailureClass;
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::plan::Plan;
use crate::printer::Printer;
use crate::report::{self, AppReport, Stream};
use crate::settings;

use super::plan::{Planned, plan_all};
use super::promote::{roll_back, write_back};

/// Below this many members, any share of them may be pruned without confirmation.
const TRIVIAL_INVENTORY: usize = 5;

pub fn failure_status(class: FailureClass) -> ExitStatus {
    match class {
        FailureClass::Invalid => ExitStatus::Invalid,
        FailureClass::Conflict | FailureClass::Transient => ExitStatus::Failure,
    }
}

/// What kept a plan's errors from being written, by the worst failure class among them.
fn why_not_written(worst: FailureClass) -> &'static str {
    match worst {
        FailureClass::Invalid => "failed validation",
        FailureClass::Conflict => {
            "conflict with another field manager (`--force-conflicts` takes the fields over)"
        }
        FailureClass::Transient => {
            "could not be checked: the API server failed or kept throttling the requests, and a rerun may pass"
        }
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
    let planned = plan_all(global, &args.target, resolved, &stream).await?;
    if let Some(worst) = planned
        .iter()
        .filter_map(|p| p.prepared.plan.error_class())
        .max()
    {
        let n: usize = planned.iter().map(|p| p.prepared.plan.counts().error).sum();
        stream.error(&format!(
            "{n} object(s) {}; nothing was written to the cluster",
            why_not_written(worst)
        ));
        let status = failure_status(worst);
        return Ok(planned
            .into_iter()
            .map(|p| {
                let own = p.prepared.plan.error_class().map(failure_status);
                p.report(own.unwrap_or(status))
            })
            .collect());
    }
    for p in &planned {
        check_prune_share(&p.prepared.plan, args)?;
    }

    let options = settings::write_options(args, kind);
    let mut reports = Vec::new();
    for p in planned {
        stream.write_heading(&p.id());
        let run = p.run;
        let previous = p.prepared.inventory.history.last().cloned();
        let report = write_one(p, args, &options, &stream).await?;
        let status = report.status();
        reports.push(report);
        if status == ExitStatus::Success
            && args.write_back
            && !args.dry_run
            && !run.images.is_empty()
        {
            write_back(args, printer, resolved, run)?;
        }
        if status == ExitStatus::Unhealthy && args.atomic && !args.dry_run {
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
    if p.prepared.nothing_to_write() {
        stream.line("No changes.");
        return Ok(p.report(ExitStatus::Success));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_nothing_was_written_follows_the_worst_class() {
        use FailureClass::*;
        let cases: &[(&[FailureClass], &str)] = &[
            (&[Transient, Invalid, Conflict], "failed validation"),
            (
                &[Conflict, Transient],
                "conflict with another field manager",
            ),
            (&[Transient], "could not be checked"),
        ];
        for (classes, reason) in cases {
            let worst = classes.iter().copied().max().unwrap();
            assert!(why_not_written(worst).starts_with(reason), "{classes:?}");
        }
    }
}

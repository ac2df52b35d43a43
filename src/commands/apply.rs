//! `kpush apply`: plan and validate every app, then write each one (see `write`), and report.

use crate::apply::Applied;
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use crate::cluster::FailureClass;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::plan::Plan;
use crate::printer::{Printer, Style};
use crate::prune::{self, Pruned};
use crate::report;
use crate::settings::{self, AppRun};

use super::output::{self, AppReport, app_header};
use super::parent::ParentRecord;
use super::prepare::{Prepared, prepare};
use super::promote::{roll_back, write_back};
use super::write::{Written, write};

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
    Ok(output::finish(
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
    let text = global.output == OutputFormat::Text;
    let many = resolved.apps.len() > 1;

    // Every app is planned and validated before any app is written.
    let mut prepared = Vec::new();
    let renders = super::prepare::render_all(&resolved.snapshot, &resolved.apps)?;
    for (run, rendered) in resolved.apps.iter().zip(renders) {
        let p = prepare(global, &args.target, run, rendered).await?;
        if text {
            let namespace = p.inventory.parent.namespace.clone().unwrap_or_default();
            app_header(printer, many, &run.name, run.env.as_deref(), &namespace);
            for ns in &p.namespaces_to_create {
                printer.out(&format!("+ v1 Namespace {ns} (--create-namespace)\n"));
            }
            printer.out(&report::plan_text(&p.plan, printer));
            output::images_line(printer, &run.images);
            output::app_footer(printer, &run.name);
        }
        prepared.push((run, p));
    }
    let worst = prepared
        .iter()
        .filter_map(|(_, p)| p.plan.error_class())
        .max();
    if let Some(worst) = worst {
        let status = failure_status(worst);
        let n: usize = prepared.iter().map(|(_, p)| p.plan.counts().error).sum();
        printer.note(&printer.paint(
            Style::Error,
            &format!(
                "error: {n} object(s) {}; nothing was written to the cluster",
                why_not_written(worst)
            ),
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
            output::app_heading(printer, &run.name, run.env.as_deref(), &namespace);
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
pub(super) fn report_of(
    run: &AppRun,
    prepared: Prepared,
    applied: Option<Applied>,
    pruned: Option<Pruned>,
    status: ExitStatus,
) -> AppReport {
    AppReport {
        app: run.name.clone(),
        env: run.env.clone(),
        revision: prepared.commit.as_ref().map(|c| c.sha.clone()),
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
/// `--dry-run`: the server checks the prune deletions too; nothing is written.
async fn dry_run(prepared: Prepared, run: &AppRun, printer: &Printer, text: bool) -> AppReport {
    let pruned = prune::prune(
        &prepared.cluster,
        &prepared.inventory.candidates,
        &prepared.plan,
        prune::PruneOptions {
            propagation: run.propagation,
            concurrency: prepared.options.concurrency,
            dry_run: true,
            no_wait: true,
        },
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
pub(super) fn report_results(
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
    // A server that stopped answering is a failure of the run, not of the rollout.
    let unreachable = health
        .as_ref()
        .is_some_and(|h| matches!(h.outcome, crate::wait::Outcome::Unreachable { .. }));
    let status = if applied.failed().next().is_some()
        || pruned.as_ref().is_some_and(|p| p.failed().next().is_some())
        || unreachable
    {
        ExitStatus::Failure
    } else if health.as_ref().is_some_and(|h| !h.healthy()) {
        ExitStatus::Unhealthy
    } else {
        ExitStatus::Success
    };
    let failed_writes = applied.failed().count();
    if failed_writes > 0 {
        let written = applied
            .outcomes
            .iter()
            .filter(|o| o.error.is_none())
            .count();
        printer.note(&printer.paint(
            Style::Error,
            &format!(
                "error: {written} of {} object(s) written, {failed_writes} failed, {} not attempted; nothing was pruned. Rerun the same command once the cause is fixed: it converges.",
                super::write::to_write(&prepared),
                applied.not_attempted
            ),
        ));
    }
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

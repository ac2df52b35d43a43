//! `kpush delete`: every app planned (what goes, what stays and why, which hooks run), then
//! torn down under its lock, or only checked with `--dry-run`.

use crate::cli::{DeleteArgs, GlobalArgs};
use crate::deploy::{self, teardown};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::printer::{Printer, Style};
use crate::report::{self, AppId, AppReport, Stream};
use crate::settings;

pub async fn delete(
    global: &GlobalArgs,
    args: &DeleteArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(global, &args.source, None, args.prune_propagation)?;
    super::warn(printer, &resolved.warnings);
    let (prepare, write) = settings::delete_options(args);
    let stream = Stream::new(*printer, global.output, resolved.apps.len() > 1);
    let connection = settings::connection(global);
    // The hooks come from the render: every app renders before anything is deleted.
    let renders = deploy::render_all(&resolved.snapshot, &resolved.apps).map_err(|e| match e {
        Error::Render(_) => Error::Invalid(format!(
            "{e}\nhint: kpush delete renders the app to find its PreDelete and PostDelete hooks; for an app removed from the repository, pass `--rev` with a commit that still has it (`kpush history` names the last one deployed)"
        )),
        e => e,
    })?;
    let ctx = Teardown {
        connection: &connection,
        prepare,
        write,
        dry_run: args.dry_run,
        stream: &stream,
        printer,
    };
    let mut reports = Vec::new();
    for (run, rendered) in resolved.apps.iter().zip(renders) {
        let report = teardown_app(&ctx, &resolved.snapshot, run, rendered).await?;
        let failed = report.status() != ExitStatus::Success;
        reports.push(report);
        if failed {
            break;
        }
    }
    Ok(report::finish(
        "delete",
        global.output,
        printer,
        &reports,
        &args.report_to,
    ))
}

/// What tearing apps down shares: `kpush delete`, and apply for the apps that left their
/// parent's render.
pub(super) struct Teardown<'a> {
    pub connection: &'a deploy::Connection,
    pub prepare: deploy::PrepareOptions,
    pub write: deploy::WriteOptions,
    pub dry_run: bool,
    pub stream: &'a Stream,
    pub printer: &'a Printer,
}

/// Tears one app down under its lock (or checks it, with `--dry-run`) and reports it.
pub(super) async fn teardown_app(
    ctx: &Teardown<'_>,
    snapshot: &crate::source::Snapshot,
    run: &deploy::AppRun,
    rendered: (crate::render::Rendered, Option<crate::source::CommitInfo>),
) -> Result<AppReport, Error> {
    let (stream, printer, prepare, write) = (ctx.stream, ctx.printer, &ctx.prepare, &ctx.write);
    let cluster = deploy::connect(ctx.connection, run).await?;
    let rendered = deploy::for_cluster(&cluster, snapshot, run, rendered).await?;
    let namespace = run
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let id = AppId {
        app: run.name.clone(),
        env: run.env.clone(),
        namespace: namespace.clone(),
        parent: run.parent.clone(),
    };
    let planned = teardown::plan(&cluster, run, rendered.clone(), prepare.clone()).await?;
    let Some(mut planned) = planned else {
        stream.line(&format!(
            "Nothing to delete: app {} has no inventory in namespace `{namespace}`.",
            run.name
        ));
        return Ok(AppReport::new(
            id,
            None,
            Default::default(),
            ExitStatus::Success,
        ));
    };
    let prepared = &mut planned.prepared;
    stream.plan(&id, &[], &prepared.plan, &[]);
    let revision = prepared.commit.as_ref().map(|c| c.sha.clone());
    if let Some(class) = prepared.plan.error_class() {
        stream.error(&format!(
            "{} hook(s) {}; nothing was deleted",
            prepared.plan.counts().error,
            class.why_not_written()
        ));
        return Ok(AppReport::new(
            id,
            revision,
            prepared.plan.clone(),
            class.exit_status(),
        ));
    }
    if ctx.dry_run {
        let checked = teardown::dry_run(&cluster, prepared, run.propagation).await;
        stream.dry_run(&checked);
        let status = match checked.failed().next() {
            Some(_) => ExitStatus::Failure,
            None => ExitStatus::Success,
        };
        let mut report = AppReport::new(id, revision, prepared.plan.clone(), status);
        report.pruned = Some(checked);
        return Ok(report);
    }
    let locked = deploy::lock(&cluster, run, prepared, write, printer).await?;
    if !locked.current(prepared) {
        // Another deploy ran since the plan: what the inventory holds may have changed.
        match teardown::plan(&cluster, run, rendered, prepare.clone()).await {
            Ok(Some(again)) => {
                stream.line("Another deploy ran meanwhile; planned again:");
                stream.plan(&id, &[], &again.prepared.plan, &[]);
                planned = again;
            }
            Ok(None) => {
                locked.release().await;
                stream.line("Nothing to delete: the inventory went meanwhile.");
                return Ok(AppReport::new(
                    id,
                    revision,
                    Default::default(),
                    ExitStatus::Success,
                ));
            }
            Err(e) => {
                locked.release().await;
                return Err(e);
            }
        }
    }
    let done =
        teardown::teardown(&cluster, &planned, locked, write, run.propagation, printer).await?;
    let status = done.status();
    stream.torn_down(&done, &run.name);
    let mut report = AppReport::new(id, revision, planned.prepared.plan, status);
    report.pruned = done.deleted;
    report.hooks = done.hooks;
    if status != ExitStatus::Success {
        printer.note(&printer.paint(
            Style::Error,
            &format!(
                "error: app {} was not deleted completely; rerun once the cause is fixed",
                run.name
            ),
        ));
    }
    Ok(report)
}

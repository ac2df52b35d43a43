//! `kpush rollback`: deploy a recorded revision again, rendered from the local repository, with
//! every check `apply` makes; recorded in the history as a rollback.

use crate::cli::{GlobalArgs, RollbackArgs};
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::settings;

use super::apply::apply_resolved;

pub async fn rollback(
    global: &GlobalArgs,
    args: &RollbackArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let source = &args.apply.target.source;
    let current = settings::resolve(global, source, None, None)?;
    if current.apps.len() != 1 {
        return Err(Error::Invalid(
            "rollback works on one app at a time: pass PATH or `--app NAME`".into(),
        ));
    }
    let run = &current.apps[0];
    let cluster = deploy::connect(&settings::connection(global), run).await?;
    let (_, history) = deploy::recorded(&cluster, run).await?;
    let entry = settings::choose(&history, args.to.as_deref(), args.steps)?;
    printer.note(&format!(
        "rolling {} back to revision {} ({} {}, deployed {})",
        run.name,
        entry.revision,
        entry.sha.get(..7).unwrap_or(&entry.sha),
        entry.reference,
        entry.time
    ));
    let resolved = settings::resolve_entry(
        global,
        source,
        &current,
        &run.name,
        entry,
        args.apply.target.clone(),
    )?;
    let reports = apply_resolved(global, &args.apply, printer, &resolved, "rollback").await?;
    let sinks = &args.apply.target.report_to;
    Ok(crate::report::finish(
        "rollback",
        global.output,
        printer,
        &reports,
        sinks,
    ))
}

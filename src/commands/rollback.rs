//! `kpush rollback`: deploy a recorded revision again, exactly as it was applied (from the
//! snapshot the deploy kept in the cluster; deploys recorded without one are rendered again
//! from the local repository), with every check `apply` makes; recorded as a rollback.

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
    let current = settings::resolve(
        global,
        source,
        Some(&args.apply.target),
        args.apply.prune_propagation,
    )?;
    if current.apps.len() != 1 {
        return Err(Error::Invalid(
            "rollback works on one app at a time: pass PATH or `--app NAME`".into(),
        ));
    }
    let run = &current.apps[0];
    if run.update_images {
        printer.note(
            "--update-images is not used by rollback: it puts back the images the revision deployed",
        );
    }
    let cluster = deploy::connect(&settings::connection(global), run).await?;
    let recorded = deploy::recorded(&cluster, run).await?;
    let entry = settings::choose(&recorded.history, args.to.as_deref(), args.steps)?;
    printer.note(&format!(
        "rolling {} back to revision {} ({} {}, deployed {})",
        run.name,
        entry.revision,
        entry.sha.get(..7).unwrap_or(&entry.sha),
        entry.reference,
        entry.time
    ));
    let kept = deploy::snapshot::read(&cluster, &recorded.secret_resource, &recorded.parent, entry)
        .await?;
    let resolved = match kept {
        Some(rendered) => settings::restoring(&current, run, entry, rendered)?,
        None => {
            printer.note(&format!(
                "revision {} kept no snapshot of what it applied: rendering commit {} again",
                entry.revision,
                entry.sha.get(..7).unwrap_or(&entry.sha)
            ));
            settings::resolve_entry(
                global,
                source,
                &current,
                &run.name,
                entry,
                args.apply.target.clone(),
            )?
        }
    };
    let reports = apply_resolved(global, &args.apply, printer, &resolved, "rollback", None).await?;
    let sinks = &args.apply.target.report_to;
    Ok(crate::report::finish(
        "rollback",
        global.output,
        printer,
        &reports,
        sinks,
    ))
}

//! `kpush status`: what each app runs now and whether it is healthy, read-only.

use crate::cli::{GlobalArgs, StatusArgs};
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::report;
use crate::settings;

pub async fn status(
    global: &GlobalArgs,
    args: &StatusArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(global, &args.source, None, None)?;
    let mut apps = Vec::new();
    for run in &resolved.apps {
        let cluster = deploy::connect(&settings::connection(global), run).await?;
        let status = deploy::status::status(&cluster, run).await?;
        report::status_app(global.output, printer, &status);
        apps.push(status);
    }
    Ok(report::status_finish(global.output, printer, &apps))
}

//! `kpush history`: each app's recorded deploys, read from its inventory in the cluster.

use crate::cli::{GlobalArgs, StatusArgs};
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::report::{self, AppHistory};
use crate::settings;

pub async fn history(
    global: &GlobalArgs,
    args: &StatusArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(global, &args.source, None, None)?;
    let mut all = Vec::new();
    for run in &resolved.apps {
        let cluster = deploy::connect(&settings::connection(global), run).await?;
        let deploy::Recorded {
            namespace,
            history: entries,
            ..
        } = deploy::recorded(&cluster, run).await?;
        let history = AppHistory {
            app: run.name.clone(),
            namespace,
            entries,
        };
        report::history_app(global.output, printer, &history);
        all.push(history);
    }
    report::history_finish(global.output, printer, &all);
    Ok(ExitStatus::Success)
}

//! `kpush render`: the manifests at a revision, without a cluster.

use crate::cli::{GlobalArgs, OutputFormat, RenderArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::report;

pub fn render(
    global: &GlobalArgs,
    args: &RenderArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let (_source, rendered) = super::prepare::render(global, &args.path)?;
    let text = match global.output {
        OutputFormat::Text => report::manifests_yaml(&rendered),
        OutputFormat::Json => report::manifests_json(&rendered),
        OutputFormat::Markdown => report::manifests_markdown(&rendered),
    };
    printer.out(&text);
    Ok(ExitStatus::Success)
}

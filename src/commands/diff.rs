//! `kpush diff`: the plan, printed; nothing is written.

use crate::cli::{DiffArgs, GlobalArgs, OutputFormat};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::report;

use super::output::{Results, finish};
use super::prepare::{Prepared, prepare};

pub async fn diff(
    global: &GlobalArgs,
    args: &DiffArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let Prepared {
        plan,
        namespaces_to_create,
        ..
    } = prepare(global, &args.target).await?;
    let status = if let Some(class) = plan.error_class() {
        super::apply::failure_status(class)
    } else if args.exit_code && (plan.has_changes() || !namespaces_to_create.is_empty()) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    };
    if global.output == OutputFormat::Text {
        for ns in &namespaces_to_create {
            printer.out(&format!("+ v1 Namespace {ns} (--create-namespace)\n"));
        }
        printer.out(&report::plan_text(&plan, printer));
    }
    Ok(finish(
        "diff",
        global.output,
        printer,
        &plan,
        Results::default(),
        status,
    ))
}

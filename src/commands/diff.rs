//! `kpush diff`: every app's plan, printed; nothing is written.

use crate::cli::{DiffArgs, GlobalArgs, OutputFormat};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::report;
use crate::settings;

use super::output::{AppReport, app_header, finish};
use super::prepare::{Prepared, prepare};

pub async fn diff(
    global: &GlobalArgs,
    args: &DiffArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(global, &args.target.source, Some(&args.target), None)?;
    super::warn(printer, &resolved.warnings);
    let text = global.output == OutputFormat::Text;
    let many = resolved.apps.len() > 1;
    let mut reports = Vec::new();
    for run in &resolved.apps {
        let Prepared {
            plan,
            namespaces_to_create,
            inventory,
            ..
        } = prepare(global, &args.target, &resolved.snapshot, run).await?;
        let namespace = inventory.parent.namespace.clone().unwrap_or_default();
        let status = if let Some(class) = plan.error_class() {
            super::apply::failure_status(class)
        } else if args.exit_code && (plan.has_changes() || !namespaces_to_create.is_empty()) {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        };
        if text {
            if many {
                app_header(printer, &run.name, run.env.as_deref(), &namespace);
            }
            for ns in &namespaces_to_create {
                printer.out(&format!("+ v1 Namespace {ns} (--create-namespace)\n"));
            }
            printer.out(&report::plan_text(&plan, printer));
        }
        reports.push(AppReport {
            app: run.name.clone(),
            env: run.env.clone(),
            namespace,
            counts: plan.counts(),
            plan,
            applied: None,
            pruned: None,
            exit_code: status.code(),
        });
    }
    Ok(finish("diff", global.output, printer, &reports))
}

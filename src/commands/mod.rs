//! One module per subcommand, each a thin layer: settings resolved, the engine (`deploy`)
//! called, its results handed to the report. Each returns the exit status of the run.

mod apply;
mod delete;
mod departed;
mod diff;
mod history;
mod plan;
mod render;
mod rollback;
mod saved_plan;
mod status;
mod write_back;

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub async fn run(cli: Cli) -> Result<ExitStatus, Error> {
    let printer = Printer::new(cli.global.no_color);
    crate::cancel::listen();
    let result = dispatch(&cli, &printer).await;
    if let Err(error) = &result {
        // The pipeline still gets its exit code and an annotation on the failure.
        let status = error.exit_status();
        if let Err(e) =
            crate::report::write_sinks(cli.command.name(), &[], status, cli.command.report_sinks())
        {
            printer.note(&format!("error: {e}"));
        }
        if crate::ci::CiSystem::detect() == Some(crate::ci::CiSystem::GitHubActions) {
            printer.note(crate::ci::error_annotation(&error.to_string()).trim_end());
        }
    }
    result
}

async fn dispatch(cli: &Cli, printer: &Printer) -> Result<ExitStatus, Error> {
    match &cli.command {
        Command::Render(args) => render::render(&cli.global, args, printer),
        Command::Diff(args) => diff::diff(&cli.global, args, printer).await,
        Command::Apply(args) => apply::apply(&cli.global, args, printer).await,
        Command::Status(args) => status::status(&cli.global, args, printer).await,
        Command::History(args) => history::history(&cli.global, args, printer).await,
        Command::Rollback(args) => rollback::rollback(&cli.global, args, printer).await,
        Command::Delete(args) => delete::delete(&cli.global, args, printer).await,
    }
}

/// Warnings about the input, on stderr, before anything else.
/// `--update-images` (or an app's `updateImages`): the tags the registries offer, chosen
/// before any cluster call.
async fn update_images(
    printer: &Printer,
    resolved: &mut crate::settings::Resolved,
) -> Result<(), crate::error::Error> {
    if resolved.apps.iter().any(|a| a.update_images) {
        let warnings = crate::settings::update_from_registries(&mut resolved.apps).await?;
        warn(printer, &warnings);
    }
    Ok(())
}

fn warn(printer: &Printer, warnings: &[String]) {
    for warning in warnings {
        printer.note(&printer.paint(
            crate::printer::Style::Changed,
            &format!("warning: {warning}"),
        ));
    }
}

//! The end of a `diff` or `apply` run: the machine formats, and the GitHub step summary.

use std::io::Write;

use crate::apply::Applied;
use crate::cli::OutputFormat;
use crate::exit::ExitStatus;
use crate::plan::Plan;
use crate::printer::Printer;
use crate::report::{self, DeployReport, MARKDOWN_LIMIT};

/// Prints the JSON or markdown report (text was streamed as the run went), appends the
/// markdown summary to `$GITHUB_STEP_SUMMARY` when set, and returns `status`.
pub fn finish(
    command: &str,
    format: OutputFormat,
    printer: &Printer,
    plan: &Plan,
    applied: Option<&Applied>,
    status: ExitStatus,
) -> ExitStatus {
    match format {
        OutputFormat::Text => {}
        OutputFormat::Json => printer.out(&report::json(&DeployReport {
            command,
            counts: plan.counts(),
            plan,
            applied,
            exit_code: status.code(),
        })),
        OutputFormat::Markdown => printer.out(&markdown(command, plan, applied)),
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(markdown(command, plan, applied).as_bytes()));
        if let Err(e) = appended {
            tracing::warn!("cannot append to GITHUB_STEP_SUMMARY {path:?}: {e}");
        }
    }
    status
}

fn markdown(command: &str, plan: &Plan, applied: Option<&Applied>) -> String {
    let mut text = report::markdown(&format!("kpush {command}"), plan, MARKDOWN_LIMIT);
    if let Some(applied) = applied {
        text.push('\n');
        text.push_str(&report::applied_text(applied, &Printer::plain()));
    }
    text
}

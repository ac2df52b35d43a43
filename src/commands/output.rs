//! The end of a `diff` or `apply` run: the machine formats, and the GitHub step summary.

use std::io::Write;

use crate::apply::Applied;
use crate::cli::OutputFormat;
use crate::exit::ExitStatus;
use crate::plan::Plan;
use crate::printer::Printer;
use crate::prune::Pruned;
use crate::report::{self, DeployReport, MARKDOWN_LIMIT};

/// What a run did after planning.
#[derive(Debug, Clone, Copy, Default)]
pub struct Results<'a> {
    pub applied: Option<&'a Applied>,
    pub pruned: Option<&'a Pruned>,
}

/// Prints the JSON or markdown report (text was streamed as the run went), appends the
/// markdown summary to `$GITHUB_STEP_SUMMARY` when set, and returns `status`.
pub fn finish(
    command: &str,
    format: OutputFormat,
    printer: &Printer,
    plan: &Plan,
    results: Results<'_>,
    status: ExitStatus,
) -> ExitStatus {
    match format {
        OutputFormat::Text => {}
        OutputFormat::Json => printer.out(&report::json(&DeployReport {
            command,
            counts: plan.counts(),
            plan,
            applied: results.applied,
            pruned: results.pruned,
            exit_code: status.code(),
        })),
        OutputFormat::Markdown => printer.out(&markdown(command, plan, results)),
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(markdown(command, plan, results).as_bytes()));
        if let Err(e) = appended {
            tracing::warn!("cannot append to GITHUB_STEP_SUMMARY {path:?}: {e}");
        }
    }
    status
}

fn markdown(command: &str, plan: &Plan, results: Results<'_>) -> String {
    let mut text = report::markdown(&format!("kpush {command}"), plan, MARKDOWN_LIMIT);
    if let Some(applied) = results.applied {
        text.push('\n');
        text.push_str(&report::applied_text(applied, &Printer::plain()));
    }
    if let Some(pruned) = results.pruned {
        text.push_str(&report::pruned_text(pruned, &Printer::plain()));
    }
    text
}

//! The end of a `diff` or `apply` run: the machine formats over every app, the `--report-to`
//! files, the GitHub step summary, and the exit status.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::ci::{self, CiSystem};
use crate::exit::ExitStatus;
use crate::printer::{Printer, Style};

use super::app::{AppReport, overall};
use super::{Format, MARKDOWN_LIMIT};

/// A file `--report-to` writes, in one format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSink {
    pub format: Format,
    pub path: PathBuf,
}

/// The JSON document `--output json` prints.
#[derive(Debug, Serialize)]
struct Document<'a> {
    command: &'a str,
    apps: &'a [AppReport],
    exit_code: u8,
}

/// Prints the JSON or markdown report (text was streamed as the run went), writes the
/// `--report-to` files, appends markdown to `$GITHUB_STEP_SUMMARY` when set, annotates invalid
/// objects on GitHub, and returns the run's status.
pub fn finish(
    command: &str,
    format: Format,
    printer: &Printer,
    reports: &[AppReport],
    sinks: &[ReportSink],
) -> ExitStatus {
    let mut status = overall(reports);
    // Text was streamed as the run went.
    if format != Format::Text {
        printer.out(&render(format, command, reports, status));
    }
    if CiSystem::detect() == Some(CiSystem::GitHubActions) {
        let entries = || reports.iter().flat_map(|r| &r.plan.entries);
        printer.note(ci::annotate_invalid(entries()).trim_end());
        let kept = ci::annotate_kept_containers(entries());
        if !kept.is_empty() {
            printer.note(kept.trim_end());
        }
    }
    if let Err(e) = write_sinks(command, reports, status, sinks) {
        printer.note(&printer.paint(Style::Error, &format!("error: {e}")));
        if matches!(status, ExitStatus::Success | ExitStatus::Changes) {
            status = ExitStatus::Failure;
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(markdown(command, reports).as_bytes()));
        if let Err(e) = appended {
            tracing::warn!("cannot append to GITHUB_STEP_SUMMARY {path:?}: {e}");
        }
    }
    status
}

/// The whole run's report in `format`.
fn render(format: Format, command: &str, reports: &[AppReport], status: ExitStatus) -> String {
    match format {
        Format::Json => json(command, reports, status),
        Format::Markdown => markdown(command, reports),
        Format::Dotenv => super::dotenv(&summary(reports, status)),
        Format::GitlabTerraform => super::gitlab_terraform(&summary(reports, status)),
        // Text is streamed while the run goes (`Stream`), never rendered at the end.
        Format::Text => String::new(),
    }
}

fn json(command: &str, reports: &[AppReport], status: ExitStatus) -> String {
    let doc = Document {
        command,
        apps: reports,
        exit_code: status.code(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("reports serialise");
    text.push('\n');
    text
}

/// The counts pipelines branch on, over every app.
fn summary(reports: &[AppReport], status: ExitStatus) -> super::Summary {
    let mut counts = crate::plan::Counts::default();
    for r in reports {
        let c = &r.counts;
        counts.create += c.create;
        counts.update += c.update;
        counts.unchanged += c.unchanged;
        counts.prune += c.prune;
        counts.keep += c.keep;
        counts.error += c.error;
    }
    let mut revisions = reports.iter().filter_map(|r| r.revision.as_deref());
    let first = revisions.next();
    let revision = first
        .filter(|first| revisions.all(|r| r == *first))
        .map(str::to_string);
    super::Summary {
        changes: counts.create + counts.update + counts.prune > 0
            || reports.iter().any(|r| r.status() == ExitStatus::Changes),
        counts,
        revision,
        exit_code: status.code(),
    }
}

/// Writes every `--report-to` file; a run that ended early writes them with no apps, so a
/// pipeline still finds its exit code.
pub fn write_sinks(
    command: &str,
    reports: &[AppReport],
    status: ExitStatus,
    sinks: &[ReportSink],
) -> Result<(), String> {
    let mut failed = Vec::new();
    for sink in sinks {
        let text = render(sink.format, command, reports, status);
        if let Err(e) = std::fs::write(&sink.path, text) {
            failed.push(format!("{}: {e}", sink.path.display()));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "cannot write the report to {}; check that the directory exists and is writable",
            failed.join(", ")
        ))
    }
}

/// Every app's section; the size limit is shared between them.
fn markdown(command: &str, reports: &[AppReport]) -> String {
    let (same, reports): (Vec<&AppReport>, Vec<&AppReport>) =
        reports.iter().partition(|r| r.same_inputs);
    let mut text = apps_table(&reports, same.len());
    let limit = MARKDOWN_LIMIT.saturating_sub(text.len()) / reports.len().max(1);
    for r in reports {
        let mut title = match &r.env {
            Some(env) => format!("kpush {command} `{}` ({env}) → `{}`", r.app, r.namespace),
            None => format!("kpush {command} `{}` → `{}`", r.app, r.namespace),
        };
        if let Some(parent) = &r.parent {
            title.push_str(&format!(" (rendered by `{parent}`)"));
        }
        if let Some(error) = &r.error {
            text.push_str(&format!(
                "### {title}: could not be planned\n\n```\n{error}\n```\n\n"
            ));
            continue;
        }
        text.push_str(&super::markdown(
            &title,
            &r.plan,
            &r.namespaces_to_create,
            limit.saturating_sub(600),
        ));
        let plain = Printer::plain();
        if let Some(applied) = &r.applied {
            text.push('\n');
            text.push_str(&super::applied_text(applied, &plain));
        }
        text.push_str(&super::hooks_markdown(&r.hooks, limit / 4));
        if let Some(health) = &r.health {
            text.push_str(&super::health_text(health, &plain));
        }
        if let Some(pruned) = &r.pruned {
            text.push_str(&super::pruned_text(pruned, &plain));
        }
        text.push('\n');
    }
    text.push_str(&same_inputs_markdown(&same));
    text
}

/// With several apps, the comment starts with one row per app that changes (added, removed,
/// changed, drift) and its object counts; the unchanged are counted.
fn apps_table(reports: &[&AppReport], same_inputs: usize) -> String {
    const ROWS: usize = 200;
    if reports.len() + same_inputs < 2 {
        return String::new();
    }
    let changing: Vec<&&AppReport> = reports
        .iter()
        .filter(|r| r.change.is_some() || r.error.is_some())
        .collect();
    let unchanged = reports.len() - changing.len() + same_inputs;
    let mut text = String::new();
    if !changing.is_empty() {
        text.push_str("| app | change | create | update | prune |\n|---|---|---:|---:|---:|\n");
        for r in changing.iter().take(ROWS) {
            let change = match (&r.error, r.change) {
                (Some(_), _) => "could not be planned",
                (None, Some(c)) => c.as_str(),
                (None, None) => "",
            };
            let c = &r.counts;
            text.push_str(&format!(
                "| `{}` | {change} | {} | {} | {} |\n",
                r.app,
                c.create + r.namespaces_to_create.len(),
                c.update,
                c.prune
            ));
        }
        if changing.len() > ROWS {
            text.push_str(&format!(
                "\n… and {} more apps that change.\n",
                changing.len() - ROWS
            ));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "{} app{} changing, {unchanged} unchanged.\n\n",
        changing.len(),
        if changing.len() == 1 { "" } else { "s" }
    ));
    text
}

/// One line for the apps an offline diff did not render: their inputs are the same.
fn same_inputs_markdown(same: &[&AppReport]) -> String {
    const NAMED: usize = 50;
    if same.is_empty() {
        return String::new();
    }
    let mut names: Vec<String> = same
        .iter()
        .take(NAMED)
        .map(|r| format!("`{}`", r.app))
        .collect();
    if same.len() > NAMED {
        names.push(format!("and {} more", same.len() - NAMED));
    }
    format!(
        "Unchanged, with the same inputs at both commits ({} app{}): {}\n",
        same.len(),
        if same.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

//! The end of a `diff` or `apply` run: the machine formats over every app, the GitHub step
//! summary, and the exit status.

use std::io::Write;

use serde::Serialize;

use crate::apply::Applied;
use crate::ci::{self, CiSystem};
use crate::cli::{OutputFormat, ReportSink, SinkFormat};
use crate::exit::ExitStatus;
use crate::plan::{Counts, Plan};
use crate::printer::{Printer, Style};
use crate::prune::Pruned;
use crate::report::{self, MARKDOWN_LIMIT};
use crate::wait::HealthReport;

/// What happened to one app.
#[derive(Debug, Clone, Serialize)]
pub struct AppReport {
    pub app: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The commit rendered; absent for the working tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub namespace: String,
    /// Images promoted by `--image`, as `repository:tag`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    pub counts: Counts,
    pub plan: Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Applied>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Pruned>,
    pub exit_code: u8,
}

impl AppReport {
    pub fn status(&self) -> ExitStatus {
        match self.exit_code {
            0 => ExitStatus::Success,
            2 => ExitStatus::Changes,
            3 => ExitStatus::Invalid,
            4 => ExitStatus::Unhealthy,
            _ => ExitStatus::Failure,
        }
    }
}

/// The JSON document `--output json` prints.
#[derive(Debug, Serialize)]
struct Document<'a> {
    command: &'a str,
    apps: &'a [AppReport],
    exit_code: u8,
}

/// The run's status: a failure outranks a validation error, which outranks changes.
pub fn overall(reports: &[AppReport]) -> ExitStatus {
    let statuses: Vec<ExitStatus> = reports.iter().map(AppReport::status).collect();
    [
        ExitStatus::Unhealthy,
        ExitStatus::Failure,
        ExitStatus::Invalid,
        ExitStatus::Changes,
    ]
    .into_iter()
    .find(|s| statuses.contains(s))
    .unwrap_or(ExitStatus::Success)
}

/// Prints the JSON or markdown report (text was streamed as the run went), writes the
/// `--report-to` files, appends markdown to `$GITHUB_STEP_SUMMARY` when set, annotates invalid
/// objects on GitHub, and returns the run's status.
pub fn finish(
    command: &str,
    format: OutputFormat,
    printer: &Printer,
    reports: &[AppReport],
    sinks: &[ReportSink],
) -> ExitStatus {
    let mut status = overall(reports);
    match format {
        OutputFormat::Text => {}
        OutputFormat::Json => printer.out(&json(command, reports, status)),
        OutputFormat::Markdown => printer.out(&markdown(command, reports)),
    }
    if CiSystem::detect() == Some(CiSystem::GitHubActions) {
        let entries = reports.iter().flat_map(|r| &r.plan.entries);
        printer.note(ci::annotate_invalid(entries).trim_end());
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
fn summary(reports: &[AppReport], status: ExitStatus) -> report::Summary {
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
    report::Summary {
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
        let text = match sink.format {
            SinkFormat::Json => json(command, reports, status),
            SinkFormat::Markdown => markdown(command, reports),
            SinkFormat::Dotenv => report::dotenv(&summary(reports, status)),
            SinkFormat::GitlabTerraform => report::gitlab_terraform(&summary(reports, status)),
        };
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
    let limit = MARKDOWN_LIMIT / reports.len().max(1);
    let mut text = String::new();
    for r in reports {
        let title = match &r.env {
            Some(env) => format!("kpush {command} `{}` ({env}) → `{}`", r.app, r.namespace),
            None => format!("kpush {command} `{}` → `{}`", r.app, r.namespace),
        };
        text.push_str(&report::markdown(
            &title,
            &r.plan,
            limit.saturating_sub(600),
        ));
        let plain = Printer::plain();
        if let Some(applied) = &r.applied {
            text.push('\n');
            text.push_str(&report::applied_text(applied, &plain));
        }
        if let Some(health) = &r.health {
            text.push_str(&report::health_text(health, &plain));
        }
        if let Some(pruned) = &r.pruned {
            text.push_str(&report::pruned_text(pruned, &plain));
        }
        text.push('\n');
    }
    text
}

/// The promoted images, under the plan.
pub fn images_line(printer: &Printer, images: &[crate::images::Promotion]) {
    if !images.is_empty() {
        let list: Vec<String> = images.iter().map(ToString::to_string).collect();
        printer.out(&format!("Images: {}\n", list.join(", ")));
    }
}

/// Opens an app's part of the log: a collapsible section in CI, else a heading when several
/// apps are deployed.
pub fn app_header(printer: &Printer, many: bool, app: &str, env: Option<&str>, namespace: &str) {
    let title = format!("kpush {}", app_title(app, env, namespace));
    let section = ci::section_start(CiSystem::detect(), app, &title);
    if !section.is_empty() {
        printer.out(&section);
    } else if many {
        app_heading(printer, app, env, namespace);
    }
}

/// Closes what `app_header` opened in CI.
pub fn app_footer(printer: &Printer, app: &str) {
    printer.out(&ci::section_end(CiSystem::detect(), app));
}

/// A line introducing an app's part of the output.
pub fn app_heading(printer: &Printer, app: &str, env: Option<&str>, namespace: &str) {
    let title = app_title(app, env, namespace);
    printer.out(&printer.paint(Style::Header, &format!("== {title}\n")));
}

fn app_title(app: &str, env: Option<&str>, namespace: &str) -> String {
    let env = env.map(|e| format!(" ({e})")).unwrap_or_default();
    format!("{app}{env} → {namespace}")
}

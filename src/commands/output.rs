//! The end of a `diff` or `apply` run: the machine formats over every app, the GitHub step
//! summary, and the exit status.

use std::io::Write;

use serde::Serialize;

use crate::apply::Applied;
use crate::cli::OutputFormat;
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

/// Prints the JSON or markdown report (text was streamed as the run went), appends markdown to
/// `$GITHUB_STEP_SUMMARY` when set, and returns the run's status.
pub fn finish(
    command: &str,
    format: OutputFormat,
    printer: &Printer,
    reports: &[AppReport],
) -> ExitStatus {
    let status = overall(reports);
    match format {
        OutputFormat::Text => {}
        OutputFormat::Json => {
            let doc = Document {
                command,
                apps: reports,
                exit_code: status.code(),
            };
            let mut text = serde_json::to_string_pretty(&doc).expect("reports serialise");
            text.push('\n');
            printer.out(&text);
        }
        OutputFormat::Markdown => printer.out(&markdown(command, reports)),
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

/// A line introducing an app when several are deployed.
pub fn app_header(printer: &Printer, app: &str, env: Option<&str>, namespace: &str) {
    let env = env.map(|e| format!(" ({e})")).unwrap_or_default();
    printer.out(&printer.paint(Style::Header, &format!("== {app}{env} → {namespace}\n")));
}

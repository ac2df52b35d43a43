//! `kpush status` and `kpush history`: each app's state as text while the run goes, and one
//! JSON document at its end in the machine formats.

use std::fmt::Write;

use serde_json::json;

use crate::deploy::status::AppStatus;
use crate::exit::ExitStatus;
use crate::health::State;
use crate::inventory::history::HistoryEntry;
use crate::printer::{Printer, Style};

use super::Format;

/// One app's recorded deploys.
#[derive(Debug, Clone)]
pub struct AppHistory {
    pub app: String,
    pub namespace: String,
    pub entries: Vec<HistoryEntry>,
}

/// Prints one app's status in the text format.
pub fn status_app(format: Format, printer: &Printer, status: &AppStatus) {
    if format != Format::Text {
        return;
    }
    let revision = match &status.current {
        Some(e) => format!(
            "revision {} ({} {}, {} by {}){}",
            e.revision,
            e.sha.get(..7).unwrap_or(&e.sha),
            e.reference,
            e.time,
            e.run,
            if e.succeeded() {
                String::new()
            } else {
                format!(", {}", e.outcome.as_str())
            }
        ),
        None => "never deployed by kpush".to_string(),
    };
    let mut text = printer.paint(
        Style::Header,
        &format!("== {} → {}: {revision}\n", status.app, status.namespace),
    );
    for (id, h) in &status.objects {
        let style = match h.state {
            State::Current => Style::Added,
            State::InProgress | State::Unknown => Style::Changed,
            State::Failed | State::Terminating => Style::Error,
        };
        let state = printer.paint(style, &format!("{:<12}", h.state.to_string()));
        let _ = writeln!(text, "  {state} {id} {}", h.message);
    }
    printer.out(&text);
}

/// Ends a `status` run: the JSON document in the machine formats, and the status (unhealthy
/// when any object is not).
pub fn status_finish(format: Format, printer: &Printer, apps: &[AppStatus]) -> ExitStatus {
    let status = if apps.iter().all(AppStatus::healthy) {
        ExitStatus::Success
    } else {
        ExitStatus::Unhealthy
    };
    if format != Format::Text {
        let apps: Vec<_> = apps
            .iter()
            .map(|s| {
                let objects: Vec<_> = s
                    .objects
                    .iter()
                    .map(|(id, h)| json!({"id": id, "health": h}))
                    .collect();
                json!({"app": s.app, "namespace": s.namespace, "revision": s.current, "objects": objects})
            })
            .collect();
        printer.out(&document(
            &json!({"apps": apps, "exit_code": status.code()}),
        ));
    }
    status
}

/// Prints one app's history in the text format.
pub fn history_app(format: Format, printer: &Printer, history: &AppHistory) {
    if format == Format::Text {
        printer.out(&printer.paint(
            Style::Header,
            &format!("== {} → {}\n", history.app, history.namespace),
        ));
        printer.out(&history_table(&history.entries));
    }
}

/// Ends a `history` run: the JSON document in the machine formats.
pub fn history_finish(format: Format, printer: &Printer, apps: &[AppHistory]) {
    if format != Format::Text {
        let apps: Vec<_> = apps
            .iter()
            .map(|h| json!({"app": h.app, "namespace": h.namespace, "history": h.entries}))
            .collect();
        printer.out(&document(&json!({"apps": apps})));
    }
}

fn document(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("serialises");
    text.push('\n');
    text
}

fn history_table(entries: &[HistoryEntry]) -> String {
    if entries.is_empty() {
        return "no recorded deploys\n".into();
    }
    let mut out = String::from(
        "REV  TIME                  COMMIT   REF          KIND             OUTCOME    CHANGES     RUN\n",
    );
    for e in entries {
        let _ = writeln!(
            out,
            "{:<4} {:<21} {:<8} {:<12} {:<16} {:<10} +{} ~{} -{}  {}",
            e.revision,
            e.time,
            e.sha.get(..7).unwrap_or(&e.sha),
            e.reference,
            e.kind,
            e.outcome.as_str(),
            e.created,
            e.updated,
            e.pruned,
            e.run
        );
        if let Some(reason) = &e.reason {
            let _ = writeln!(out, "     {reason}");
        }
    }
    out
}

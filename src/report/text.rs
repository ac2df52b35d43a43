//! Terminal output: a header per changed object, its diff, and a summary line.

use std::fmt::Write;

use crate::deploy::delete::Pruned;
use crate::deploy::hooks::HookRun;
use crate::deploy::staged::Applied;
use crate::deploy::wait::{HealthReport, Outcome};
use crate::object::ObjectRef;
use crate::plan::{Action, Plan};
use crate::printer::{Printer, Style};

/// `apps/v1 Deployment web -n shop`
fn subject(id: &ObjectRef) -> String {
    match &id.namespace {
        Some(ns) => format!("{} {} {} -n {}", id.api_version(), id.kind, id.name, ns),
        None => format!("{} {} {}", id.api_version(), id.kind, id.name),
    }
}

/// Changed objects with their diffs, errors with the server's reason, then the counts; the
/// destination namespaces `--create-namespace` adds count among the creations, as the write
/// counts them.
pub fn plan_text(plan: &Plan, namespaces: &[String], printer: &Printer) -> String {
    let mut out = String::new();
    for entry in &plan.entries {
        let (sign, style) = match entry.action {
            Action::Create => ("+", Style::Added),
            Action::Update => ("~", Style::Changed),
            Action::Prune => ("-", Style::Removed),
            Action::Keep => ("=", Style::Dim),
            Action::Hook => ("h", Style::Dim),
            Action::Error => ("!", Style::Error),
            Action::Unchanged => continue,
        };
        let header = format!("{sign} {}", subject(&entry.id));
        let _ = write!(out, "{}", printer.paint(style, &header));
        let _ = writeln!(
            out,
            " {}",
            printer.paint(Style::Dim, &format!("({})", entry.source()))
        );
        if let Some(failure) = &entry.error {
            let _ = writeln!(out, "  {failure}");
        }
        if let Some(hook) = &entry.hook {
            let note = format!("hook: {}", hook.describe());
            let _ = writeln!(out, "  {}", printer.paint(Style::Dim, &note));
        }
        if let Some(kept) = &entry.kept {
            let _ = writeln!(
                out,
                "  {}",
                printer.paint(Style::Dim, &format!("kept: {kept}"))
            );
            continue;
        }
        if let Some(with_it) = &entry.with_it {
            let note = format!("with it: {with_it}");
            let _ = writeln!(out, "  {}", printer.paint(Style::Removed, &note));
        }
        if entry.replace {
            let note = "note: an immutable field changes: deleted and created again (Replace=true)";
            let _ = writeln!(out, "  {}", printer.paint(Style::Changed, note));
        }
        if let Some(pending) = &entry.pending {
            let _ = writeln!(
                out,
                "  {}",
                printer.paint(Style::Dim, &format!("note: {pending}"))
            );
        }
        for line in entry.diff.lines() {
            let style = match line.chars().next() {
                Some('+') => Some(Style::Added),
                Some('-') => Some(Style::Removed),
                Some('@') => Some(Style::Dim),
                _ => None,
            };
            let line = match style {
                Some(style) => printer.paint(style, line),
                None => line.to_string(),
            };
            let _ = writeln!(out, "  {line}");
        }
    }
    let c = plan.counts();
    let mut summary = format!(
        "Plan: {} to create{}, {} to update, {} to prune, {} unchanged",
        c.create + namespaces.len(),
        with_namespaces(namespaces),
        c.update,
        c.prune,
        c.unchanged
    );
    if c.keep > 0 {
        let _ = write!(summary, ", {} kept", c.keep);
    }
    if c.hook > 0 {
        let _ = write!(summary, ", {} hook(s)", c.hook);
    }
    if c.error > 0 {
        let _ = write!(summary, ", {} invalid", c.error);
    }
    let _ = writeln!(out, "{}", printer.paint(Style::Header, &summary));
    out
}

/// ` (namespace shop among them)`, or nothing.
pub(super) fn with_namespaces(namespaces: &[String]) -> String {
    match namespaces {
        [] => String::new(),
        [one] => format!(" (namespace {one} among them)"),
        many => format!(" (namespaces {} among them)", many.join(", ")),
    }
}

/// The hooks that ran: one line each, a failed one with what its pods said.
pub fn hooks_text(hooks: &[HookRun], printer: &Printer) -> String {
    let mut out = String::new();
    for run in hooks {
        let wave = if run.wave == 0 {
            String::new()
        } else {
            format!(" wave {}", run.wave)
        };
        if run.succeeded {
            let line = format!(
                "hook {}{wave} {}: succeeded in {:.1}s",
                run.phase, run.id, run.seconds
            );
            let _ = writeln!(out, "{line}");
        } else {
            let line = format!(
                "! hook {}{wave} {} failed after {:.1}s: {}",
                run.phase,
                run.id,
                run.seconds,
                run.reason.as_deref().unwrap_or("")
            );
            let _ = writeln!(out, "{}", printer.paint(Style::Error, &line));
            for log in &run.logs {
                let _ = writeln!(out, "    {log}");
            }
        }
    }
    out
}

/// Write results: failures named one per line, then the counts.
pub fn applied_text(applied: &Applied, printer: &Printer) -> String {
    let mut out = String::new();
    let (mut created, mut updated, mut failed) = (0, 0, 0);
    for outcome in &applied.outcomes {
        match (&outcome.error, outcome.action) {
            (Some(failure), _) => {
                failed += 1;
                let line = format!("! {} failed: {failure}", outcome.id);
                let _ = writeln!(out, "{}", printer.paint(Style::Error, &line));
            }
            (None, Action::Create) => created += 1,
            (None, _) => updated += 1,
        }
    }
    let mut summary = format!("Applied: {created} created, {updated} updated");
    if failed > 0 {
        let _ = write!(summary, ", {failed} failed");
    }
    if applied.not_attempted > 0 {
        let _ = write!(summary, ", {} not attempted", applied.not_attempted);
    }
    let _ = writeln!(out, "{}", printer.paint(Style::Header, &summary));
    out
}

/// Prune results: failures named, then the count.
pub fn pruned_text(pruned: &Pruned, printer: &Printer) -> String {
    let mut out = String::new();
    let mut deleted = 0;
    for d in &pruned.deleted {
        match &d.error {
            Some(failure) => {
                let line = format!("! {} not pruned: {failure}", d.id);
                let _ = writeln!(out, "{}", printer.paint(Style::Error, &line));
            }
            None => deleted += 1,
        }
    }
    for s in &pruned.skipped {
        let line = format!("= {} not pruned: {}", s.id, s.reason);
        let _ = writeln!(out, "{}", printer.paint(Style::Dim, &line));
    }
    let failed = pruned.deleted.len() - deleted;
    if pruned.deleted.is_empty() && pruned.skipped.is_empty() {
        return out;
    }
    let mut summary = format!("Pruned: {deleted} deleted");
    if failed > 0 {
        let _ = write!(summary, ", {failed} failed");
    }
    if !pruned.skipped.is_empty() {
        let _ = write!(summary, ", {} skipped", pruned.skipped.len());
    }
    let _ = writeln!(out, "{}", printer.paint(Style::Header, &summary));
    out
}

/// The health verdict: healthy with the time it took, or what failed and why.
pub fn health_text(report: &HealthReport, printer: &Printer) -> String {
    let mut out = String::new();
    match &report.outcome {
        Outcome::Healthy => {
            let line = format!(
                "Healthy: {} object(s) in {:.1}s",
                report.objects.len(),
                report.seconds
            );
            let _ = writeln!(out, "{}", printer.paint(Style::Header, &line));
        }
        Outcome::Failed {
            id, reason, events, ..
        } => {
            let line = format!("! {id} failed its health check: {reason}");
            let _ = writeln!(out, "{}", printer.paint(Style::Error, &line));
            if !events.is_empty() {
                let _ = writeln!(out, "  recent events:");
                for event in events {
                    let _ = writeln!(out, "    {event}");
                }
            }
        }
        Outcome::Unreachable { message } => {
            let line = format!(
                "! the API server stopped answering during the health wait after {:.0}s: {message}",
                report.seconds
            );
            let _ = writeln!(out, "{}", printer.paint(Style::Error, &line));
        }
        Outcome::Cancelled => {
            let line = format!("! health wait cancelled after {:.0}s", report.seconds);
            let _ = writeln!(out, "{}", printer.paint(Style::Error, &line));
        }
        Outcome::TimedOut { waiting, warnings } => {
            let line = format!(
                "! not healthy after {:.0}s; still waiting for:",
                report.seconds
            );
            let _ = writeln!(out, "{}", printer.paint(Style::Error, &line));
            for id in waiting {
                let health = report
                    .objects
                    .iter()
                    .find(|(o, _)| o == id)
                    .map(|(_, h)| format!("{}, {}", h.state, h.message))
                    .unwrap_or_default();
                let _ = writeln!(out, "  {id}: {health}");
                for event in warnings
                    .iter()
                    .filter(|w| w.id == *id)
                    .flat_map(|w| &w.events)
                {
                    let _ = writeln!(out, "    warning: {event}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ApiFailure;
    use crate::object::Origin;
    use crate::plan::Entry;

    fn entry(name: &str, action: Action, diff: &str) -> Entry {
        Entry {
            id: ObjectRef {
                group: "apps".into(),
                version: "v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: name.into(),
            },
            origin: Some(Origin {
                file: "web.yaml".into(),
                line: 3,
            }),
            action,
            diff: diff.into(),
            error: (action == Action::Error).then(|| ApiFailure {
                code: 422,
                reason: "Invalid".into(),
                message: "spec.replicas: Invalid value".into(),
            }),
            pending: None,
            kept: None,
            replace: false,
            with_it: None,
            untrack: Vec::new(),
            hook: None,
            subject: Default::default(),
            live: None,
        }
    }

    #[test]
    fn plan_text_lists_changes_and_counts() {
        let plan = Plan {
            entries: vec![
                entry("a", Action::Create, "@@ -0,0 +1 @@\n+kind: Deployment\n"),
                entry("b", Action::Unchanged, ""),
                entry("c", Action::Update, "@@ -1 +1 @@\n-x: 1\n+x: 2\n"),
                entry("d", Action::Error, ""),
            ],
        };
        let text = plan_text(&plan, &[], &Printer::plain());
        let with_namespace = plan_text(&plan, &["shop".to_string()], &Printer::plain());
        assert!(
            with_namespace.contains("Plan: 2 to create (namespace shop among them), 1 to update"),
            "{with_namespace}"
        );
        assert_eq!(
            text,
            "+ apps/v1 Deployment a -n shop (web.yaml:3)\n  @@ -0,0 +1 @@\n  +kind: Deployment\n\
             ~ apps/v1 Deployment c -n shop (web.yaml:3)\n  @@ -1 +1 @@\n  -x: 1\n  +x: 2\n\
             ! apps/v1 Deployment d -n shop (web.yaml:3)\n  (Invalid) spec.replicas: Invalid value\n\
             Plan: 1 to create, 1 to update, 0 to prune, 1 unchanged, 1 invalid\n"
        );
    }
}

//! What a `diff`, `apply` or `rollback` prints while it runs: with `--output text`, each app's
//! plan and results on stdout as they are known (in a collapsible CI section); in every format,
//! failures on stderr. Commands call it the same way whatever the format.

use crate::ci::{self, CiSystem};
use crate::deploy::Written;
use crate::deploy::delete::Pruned;
use crate::plan::Plan;
use crate::printer::{Printer, Style};

use super::Format;
use super::app::AppId;

/// The run's live output.
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    printer: Printer,
    text: bool,
    /// Several apps: each gets a heading.
    many: bool,
}

impl Stream {
    pub fn new(printer: Printer, format: Format, many: bool) -> Stream {
        Stream {
            printer,
            text: format == Format::Text,
            many,
        }
    }

    pub fn printer(&self) -> &Printer {
        &self.printer
    }

    /// One app's plan: the namespaces `--create-namespace` adds, every entry, the promoted
    /// images.
    pub fn plan(
        &self,
        id: &AppId,
        namespaces_to_create: &[String],
        plan: &Plan,
        images: &[String],
    ) {
        if !self.text {
            return;
        }
        let p = &self.printer;
        let title = format!("kpush {}", app_title(id));
        let section = ci::section_start(CiSystem::detect(), &id.app, &title);
        if !section.is_empty() {
            p.out(&section);
        } else if self.many {
            self.heading(id);
        }
        for ns in namespaces_to_create {
            p.out(&format!("+ v1 Namespace {ns} (--create-namespace)\n"));
        }
        p.out(&super::plan_text(plan, namespaces_to_create, p));
        if !images.is_empty() {
            p.out(&format!("Images: {}\n", images.join(", ")));
        }
        p.out(&ci::section_end(CiSystem::detect(), &id.app));
    }

    /// An app not rendered because its inputs are the same at both commits.
    pub fn same_inputs(&self, id: &AppId) {
        if !self.text {
            return;
        }
        let line = if self.many {
            format!("== {}: unchanged (same inputs)\n", app_title(id))
        } else {
            "No changes (same inputs).\n".to_string()
        };
        self.printer.out(&self.printer.paint(Style::Dim, &line));
    }

    /// The chart version and digest a repository or registry served for the app.
    pub fn chart(&self, chart: Option<&crate::source::charts::ResolvedChart>) {
        if let (true, Some(chart)) = (self.text, chart) {
            self.printer.out(&format!("Chart: {chart}\n"));
        }
    }

    /// The other git repositories a multi-source app read, at which commit.
    pub fn sources(&self, fetched: &[String]) {
        if self.text {
            for source in fetched {
                self.printer.out(&format!("Source: {source}\n"));
            }
        }
    }

    /// The apps an app renders (app-of-apps), deployed after it as apps of their own.
    pub fn children(&self, children: &[String]) {
        if self.text && !children.is_empty() {
            self.printer.out(&format!(
                "Apps: {} (each deployed as an app of its own after this one, in this order)\n",
                children.join(", ")
            ));
        }
    }

    /// An app that renders only apps, whose namespace does not exist: it deploys its apps, but
    /// keeps no record of them.
    pub fn unrecorded(&self, run: &crate::deploy::AppRun, namespace: &str) {
        self.printer.note(&format!(
            "warning: app {} renders only apps and its namespace `{namespace}` does not exist: kpush writes nothing of it, not even its record of the apps it renders, so an app that later leaves it is not removed; create the namespace (or set CreateNamespace=true on {}) to keep that record",
            run.name, run.name
        ));
    }

    /// Introduces an app's write when several apps are deployed.
    pub fn write_heading(&self, id: &AppId) {
        if self.many && self.text {
            self.heading(id);
        }
    }

    fn heading(&self, id: &AppId) {
        let title = app_title(id);
        self.printer
            .out(&self.printer.paint(Style::Header, &format!("== {title}\n")));
    }

    /// A line of the text report (`No changes.`).
    pub fn line(&self, line: &str) {
        if self.text {
            self.printer.out(&format!("{line}\n"));
        }
    }

    /// An app that could not be planned while the others were: under its heading, the error
    /// on stderr.
    pub fn failed(&self, id: &AppId, message: &str) {
        if self.many && self.text {
            self.heading(id);
        }
        self.error(message);
    }

    /// Why nothing was written, on stderr.
    pub fn error(&self, message: &str) {
        self.printer.note(
            &self
                .printer
                .paint(Style::Error, &format!("error: {message}")),
        );
    }

    /// The errors that stopped a deploy after its namespaces and CRDs were created.
    pub fn errors(&self, errors: &Plan) {
        if self.text {
            self.printer
                .out(&super::plan_text(errors, &[], &self.printer));
        }
    }

    /// The health of an app that had nothing to write.
    pub fn health(&self, health: &crate::deploy::wait::HealthReport) {
        if self.text {
            self.printer.out(&super::health_text(health, &self.printer));
        }
    }

    /// `--dry-run`'s prune check.
    pub fn dry_run(&self, pruned: &Pruned) {
        if self.text {
            self.printer.out(&super::pruned_text(pruned, &self.printer));
            self.printer.out("Dry run: nothing was written.\n");
        }
    }

    /// What a write did: a failed write on stderr in every format; the writes, the health and
    /// the prune in the text report.
    pub fn written(&self, written: &Written, to_write: usize, planned_prunes: usize) {
        let p = &self.printer;
        let failed_writes = written.applied.failed().count();
        if failed_writes > 0 {
            let done = written
                .applied
                .outcomes
                .iter()
                .filter(|o| o.error.is_none())
                .count();
            self.error(&format!(
                "{done} of {to_write} object(s) written, {failed_writes} failed, {} not attempted; nothing was pruned. Rerun the same command once the cause is fixed: it converges.",
                written.applied.not_attempted
            ));
        }
        if !self.text {
            return;
        }
        p.out(&super::applied_text(&written.applied, p));
        p.out(&super::hooks_text(&written.hooks, p));
        if let Some(health) = &written.health {
            p.out(&super::health_text(health, p));
        }
        match &written.pruned {
            Some(pruned) => p.out(&super::pruned_text(pruned, p)),
            None if planned_prunes > 0 => p.out(&p.paint(
                Style::Error,
                "Nothing was pruned: the deploy did not complete.\n",
            )),
            None => {}
        }
    }
}

impl Stream {
    /// What `kpush delete` did.
    pub fn torn_down(&self, done: &crate::deploy::teardown::TornDown, app: &str) {
        if !self.text {
            return;
        }
        let p = &self.printer;
        p.out(&super::hooks_text(&done.hooks, p));
        match &done.deleted {
            Some(deleted) => p.out(&super::pruned_text(deleted, p)),
            None => p.out(&p.paint(
                Style::Error,
                "Nothing was deleted: a PreDelete hook failed.\n",
            )),
        }
        if done.hook_leftovers > 0 {
            p.out(&format!(
                "Deleted {} object(s) left by earlier hook runs.\n",
                done.hook_leftovers
            ));
        }
        if done.inventory_removed {
            p.out(&p.paint(
                Style::Header,
                &format!("Deleted app {app}: its inventory, history and lock are gone.\n"),
            ));
        }
    }
}

fn app_title(id: &AppId) -> String {
    let env = id
        .env
        .as_ref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    let parent = id
        .parent
        .as_ref()
        .map(|p| format!(" (rendered by {p})"))
        .unwrap_or_default();
    format!("{}{env} → {}{parent}", id.app, id.namespace)
}

//! What follows a deploy of promoted images or a failed rollout: `--write-back` commits the
//! tags, `--atomic` puts the previous revision back.

use crate::cli::{ApplyArgs, GlobalArgs};
use crate::error::Error;
use crate::inventory::history::HistoryEntry;
use crate::printer::{Printer, Style};
use crate::settings::{self, AppRun};

use super::apply::apply_resolved;
use crate::report::AppReport;

/// `--write-back`: the promoted tags, committed to the app's `.argocd-source-<app>.yaml`.
pub(super) fn write_back(
    args: &ApplyArgs,
    printer: &Printer,
    resolved: &settings::Resolved,
    run: &AppRun,
) -> Result<(), Error> {
    let snapshot = &resolved.snapshot;
    let kind = crate::render::detect(snapshot, &run.render.path)?;
    let file = crate::render::override_file(&run.render.path, &run.name);
    let existing = snapshot.read(&file)?;
    let content = crate::render::record_promotions(existing.as_deref(), kind, &run.images)
        .map_err(|e| Error::Invalid(format!("cannot update `{}`: {e}", file.display())))?;
    let images: Vec<String> = run.images.iter().map(ToString::to_string).collect();
    let message = format!(
        "Deploy {} to {}{}\n\nRecorded by kpush --write-back after a successful deploy.",
        images.join(", "),
        run.name,
        run.env
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    let root = snapshot.root();
    let author = crate::source::author(root, args.git_user.as_deref(), args.git_email.as_deref());
    let sha = crate::source::commit_file(root, &file, content.as_bytes(), &message, &author)?;
    printer.note(&format!(
        "recorded {} in `{}` (commit {}); push it with `git push`",
        images.join(", "),
        file.display(),
        &sha[..7]
    ));
    Ok(())
}
/// `--atomic`: the previous recorded revision goes back at once, without pruning what the
/// failed deploy added. The run still exits 4.
pub(super) async fn roll_back(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
    resolved: &settings::Resolved,
    run: &AppRun,
    previous: Option<HistoryEntry>,
) -> Result<Vec<AppReport>, Error> {
    let Some(entry) = previous.filter(|e| !e.sha.is_empty()) else {
        printer.note(&printer.paint(
            Style::Error,
            &format!(
                "--atomic: {} has no earlier recorded revision to roll back to",
                run.name
            ),
        ));
        return Ok(Vec::new());
    };
    printer.note(&format!(
        "--atomic: rolling {} back to revision {} ({})",
        run.name,
        entry.revision,
        entry.sha.get(..7).unwrap_or(&entry.sha)
    ));
    let mut target = args.target.clone();
    target.prune = false;
    let mut back = super::rollback::resolve_entry(
        global,
        &args.target.source,
        resolved,
        &run.name,
        &entry,
        target.clone(),
    )?;
    for app in &mut back.apps {
        app.prune = false;
    }
    let args = ApplyArgs {
        target,
        atomic: false,
        ..args.clone()
    };
    Box::pin(apply_resolved(
        global,
        &args,
        printer,
        &back,
        "atomic-rollback",
    ))
    .await
}

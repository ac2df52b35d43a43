//! `--write-back`: after a successful deploy of promoted images, the tags are committed to the
//! app's `.argocd-source-<app>.yaml`.

use crate::cli::ApplyArgs;
use crate::error::Error;
use crate::printer::Printer;
use crate::settings::{self, AppRun};

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

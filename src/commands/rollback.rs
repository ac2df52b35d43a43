//! `kpush rollback`: deploy a recorded revision again, rendered from the local repository, with
//! every check `apply` makes; recorded in the history as a rollback.

use crate::cli::{GlobalArgs, RollbackArgs, SourceArgs};
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::inventory::history::HistoryEntry;
use crate::printer::Printer;
use crate::settings::{self, Resolved};

use super::apply::apply_resolved;

pub async fn rollback(
    global: &GlobalArgs,
    args: &RollbackArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let source = &args.apply.target.source;
    let current = settings::resolve(global, source, None, None)?;
    if current.apps.len() != 1 {
        return Err(Error::Invalid(
            "rollback works on one app at a time: pass PATH or `--app NAME`".into(),
        ));
    }
    let run = &current.apps[0];
    let cluster = deploy::connect(&settings::connection(global), run).await?;
    let (_, history) = deploy::recorded(&cluster, run).await?;
    let entry = choose(&history, args.to.as_deref(), args.steps)?;
    printer.note(&format!(
        "rolling {} back to revision {} ({} {}, deployed {})",
        run.name,
        entry.revision,
        entry.sha.get(..7).unwrap_or(&entry.sha),
        entry.reference,
        entry.time
    ));
    let resolved = resolve_entry(
        global,
        source,
        &current,
        &run.name,
        entry,
        args.apply.target.clone(),
    )?;
    let reports = apply_resolved(global, &args.apply, printer, &resolved, "rollback").await?;
    let sinks = &args.apply.target.report_to;
    Ok(crate::report::finish(
        "rollback",
        global.output,
        printer,
        &reports,
        sinks,
    ))
}

/// The entry `--to SHA` names, or the one `steps` deploys before the latest.
pub fn choose<'a>(
    history: &'a [HistoryEntry],
    to: Option<&str>,
    steps: usize,
) -> Result<&'a HistoryEntry, Error> {
    if history.is_empty() {
        return Err(Error::Invalid(
            "this app has no recorded deploys to roll back to".into(),
        ));
    }
    let found = match to {
        Some(sha) => history
            .iter()
            .rev()
            .find(|e| !sha.is_empty() && e.sha.starts_with(sha)),
        None => history.len().checked_sub(1 + steps).map(|i| &history[i]),
    };
    found.filter(|e| !e.sha.is_empty()).ok_or_else(|| {
        let known: Vec<String> = history
            .iter()
            .map(|e| format!("{} ({})", e.revision, e.sha.get(..7).unwrap_or("worktree")))
            .collect();
        Error::Invalid(format!(
            "no recorded deploy matches{}; recorded: {}",
            to.map(|t| format!(" `{t}`"))
                .unwrap_or_else(|| format!(" {steps} step(s) back")),
            known.join(", ")
        ))
    })
}

/// The app as the entry deployed it: same path or definition and environment, at its commit.
pub fn resolve_entry(
    global: &GlobalArgs,
    source: &SourceArgs,
    current: &Resolved,
    app: &str,
    entry: &HistoryEntry,
    target: crate::cli::TargetArgs,
) -> Result<Resolved, Error> {
    let root = current.snapshot.root().to_path_buf();
    let at = GlobalArgs {
        rev: Some(entry.sha.clone()),
        ..global.clone()
    };
    let source = SourceArgs {
        path: match &entry.config {
            Some(_) => None,
            None => Some(root.join(&entry.path)),
        },
        config: entry.config.as_ref().map(|c| root.join(c)),
        app: Some(app.to_string()),
        env: entry.env.clone(),
        ..source.clone()
    };
    settings::resolve(&at, &source, Some(&target), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(revision: u64, sha: &str) -> HistoryEntry {
        HistoryEntry {
            revision,
            sha: sha.into(),
            reference: "main".into(),
            time: String::new(),
            run: String::new(),
            kind: "deploy".into(),
            path: "app".into(),
            config: None,
            env: None,
            images: vec![],
            created: 0,
            updated: 0,
            pruned: 0,
        }
    }

    #[test]
    fn chooses_by_steps_or_sha() {
        let history = [entry(1, "aaa111"), entry(2, "bbb222"), entry(3, "ccc333")];
        assert_eq!(choose(&history, None, 1).unwrap().revision, 2);
        assert_eq!(choose(&history, None, 2).unwrap().revision, 1);
        assert!(choose(&history, None, 3).is_err());
        assert_eq!(choose(&history, Some("aaa"), 1).unwrap().revision, 1);
        assert!(choose(&history, Some("zzz"), 1).is_err());
        assert!(choose(&[], None, 1).is_err());
    }
}

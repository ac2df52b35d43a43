//! Which recorded deploy a rollback (or `--atomic`) goes back to, resolved as it was deployed.

use crate::cli::{GlobalArgs, SourceArgs, TargetArgs};
use crate::error::Error;
use crate::inventory::history::HistoryEntry;

use super::Resolved;
use super::error::SettingsError;

/// The deploy to go back to: the newest successful one whose commit starts with `--to SHA`,
/// or the `steps`-th successful deploy before the newest entry (what is live now, whatever
/// its outcome: a failed deploy's objects are in the cluster too).
pub fn choose<'a>(
    history: &'a [HistoryEntry],
    to: Option<&str>,
    steps: usize,
) -> Result<&'a HistoryEntry, SettingsError> {
    let Some((_live, earlier)) = history.split_last() else {
        return Err(SettingsError::NoHistory);
    };
    // Something to render again, or a snapshot of what was applied.
    let usable = |e: &&HistoryEntry| e.succeeded() && (!e.sha.is_empty() || e.snapshot.is_some());
    let found = match to {
        Some(sha) => history
            .iter()
            .rev()
            .filter(|e| !sha.is_empty() && e.sha.starts_with(sha))
            .find(usable),
        None => earlier
            .iter()
            .rev()
            .filter(usable)
            .nth(steps.saturating_sub(1)),
    };
    found.ok_or_else(|| {
        let known: Vec<String> = history
            .iter()
            .map(|e| {
                format!(
                    "{} ({}, {})",
                    e.revision,
                    match e.sha.as_str() {
                        "" => "worktree",
                        sha => sha.get(..7).unwrap_or(sha),
                    },
                    e.outcome.as_str()
                )
            })
            .collect();
        SettingsError::NoRecordedDeploy {
            wanted: to
                .map(|t| format!("`{t}`"))
                .unwrap_or_else(|| format!("{steps} successful deploy(s) back")),
            recorded: known,
        }
    })
}

/// The app `run` of `current` putting back what `entry` applied (`rendered`, from its
/// snapshot) instead of rendering.
pub fn restoring(
    current: &Resolved,
    run: &crate::deploy::AppRun,
    entry: &HistoryEntry,
    rendered: crate::render::Rendered,
) -> Result<Resolved, Error> {
    let snapshot = current.snapshot.at(&current.snapshot.revision_name())?;
    let mut run = run.clone();
    run.revision = entry.sha.clone();
    run.restore = Some(std::sync::Arc::new(crate::deploy::Restore {
        entry: entry.clone(),
        rendered,
    }));
    Ok(Resolved {
        snapshot,
        apps: vec![run],
        defined: current.defined.clone(),
        warnings: Vec::new(),
    })
}

/// The app as the entry deployed it: same path or definition and environment, at its commit.
pub fn resolve_entry(
    global: &GlobalArgs,
    source: &SourceArgs,
    current: &Resolved,
    app: &str,
    entry: &HistoryEntry,
    target: TargetArgs,
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
        app: vec![app.to_string()],
        env: entry.env.clone(),
        ..source.clone()
    };
    let mut resolved = super::resolve(&at, &source, Some(&target), None)?;
    // The chart version the entry deployed, with the content it had, not the range.
    if let Some(recorded) = &entry.chart {
        let pin = |chart: &mut Option<crate::source::charts::ChartSource>| {
            if let Some(chart) = chart.as_mut().filter(|c| c.name == recorded.name) {
                chart.version = recorded.version.clone();
                chart.digest = Some(recorded.digest.clone());
            }
        };
        for run in &mut resolved.apps {
            pin(&mut run.render.chart);
            for more in &mut run.render.more {
                pin(&mut more.chart);
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::history::Outcome;

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
            outcome: Outcome::Succeeded,
            reason: None,
            snapshot: None,
            hooks: Vec::new(),
            chart: None,
            promoted: Vec::new(),
            input_digest: None,
            children: Vec::new(),
        }
    }

    fn failed(revision: u64, sha: &str) -> HistoryEntry {
        HistoryEntry {
            outcome: Outcome::Unhealthy,
            ..entry(revision, sha)
        }
    }

    #[test]
    fn goes_back_to_the_last_success_before_what_is_live() {
        // A failed deploy is live: the success before it is the one to go back to.
        let history = [entry(1, "aaa111"), entry(2, "bbb222"), failed(3, "ccc333")];
        assert_eq!(choose(&history, None, 1).unwrap().revision, 2);
        assert_eq!(choose(&history, None, 2).unwrap().revision, 1);
        // A success after a failure: the failure is skipped.
        let history = [entry(1, "aaa111"), failed(2, "bbb222"), entry(3, "ccc333")];
        assert_eq!(choose(&history, None, 1).unwrap().revision, 1);
        assert!(choose(&history, None, 2).is_err());
        // A failed deploy is never a target, even by name.
        let err = choose(&history, Some("bbb"), 1).unwrap_err().to_string();
        assert!(err.contains("2 (bbb222, unhealthy)"), "{err}");
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

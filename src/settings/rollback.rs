//! Which recorded deploy a rollback (or `--atomic`) goes back to, resolved as it was deployed.

use crate::cli::{GlobalArgs, SourceArgs, TargetArgs};
use crate::error::Error;
use crate::inventory::history::HistoryEntry;

use super::Resolved;
use super::error::SettingsError;

/// The entry `--to SHA` names, or the one `steps` deploys before the latest.
pub fn choose<'a>(
    history: &'a [HistoryEntry],
    to: Option<&str>,
    steps: usize,
) -> Result<&'a HistoryEntry, SettingsError> {
    if history.is_empty() {
        return Err(SettingsError::NoHistory);
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
        SettingsError::NoRecordedDeploy {
            wanted: to
                .map(|t| format!("`{t}`"))
                .unwrap_or_else(|| format!("{steps} step(s) back")),
            recorded: known,
        }
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
        app: Some(app.to_string()),
        env: entry.env.clone(),
        ..source.clone()
    };
    super::resolve(&at, &source, Some(&target), None)
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

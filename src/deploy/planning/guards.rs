//! Checks that stop a deploy before anything is written, when what it would do is more often a
//! mistake than intent.

use crate::error::Error;
use crate::inventory::AppIdentity;
use crate::inventory::history::HistoryEntry;
use crate::plan::Plan;
use crate::source::{CommitInfo, Lineage};

use crate::deploy::Inventory;

/// Below this many members, any share of them may be pruned without confirmation.
const TRIVIAL_INVENTORY: usize = 5;

/// A prune that removes more than `threshold` percent of a real inventory is more often a
/// wrong PATH or revision than intent: it needs confirmation. A threshold of 0 turns the
/// guard off.
pub fn check_prune_share(plan: &Plan, threshold: u8, confirmed: bool) -> Result<(), Error> {
    let c = plan.counts();
    let existing = c.update + c.unchanged + c.prune + c.keep;
    let threshold = usize::from(threshold);
    if threshold == 0 || confirmed || existing < TRIVIAL_INVENTORY {
        return Ok(());
    }
    if c.prune * 100 > threshold * existing {
        return Err(Error::Invalid(format!(
            "this deploy would prune {} of the app's {existing} objects ({}%), more than --prune-threshold {threshold}%\nhint: check PATH and --rev; pass `--confirm-prune` if this is intended",
            c.prune,
            c.prune * 100 / existing
        )));
    }
    Ok(())
}

/// An inventory another app records as its own is not this app's to write or prune: two
/// apps that got the same name (`svc-a/deploy/prod` and `svc-b/deploy/prod` are both `prod`)
/// would prune each other. A parent from before kpush recorded its app is taken as this app's.
pub fn check_owner(inventory: &Inventory, app: &AppIdentity, take_over: bool) -> Result<(), Error> {
    let recorded = inventory.previous.as_ref().and_then(|p| p.owner.as_ref());
    match recorded {
        Some(owner) if !owner.same_app(app) && !take_over => Err(Error::Invalid(format!(
            "the inventory {} belongs to app {owner}, not to {app}: two apps of one name would prune each other's objects\nhint: give this app a name of its own (`--app NAME`, or `metadata.name` in its definition); if it moved on purpose, pass `--take-over-inventory`",
            inventory.parent
        ))),
        _ => Ok(()),
    }
}

/// A commit older than the one deployed last (an ancestor of it) would undo newer changes: a
/// CI job of an older pipeline that ran late, or a retry after a newer deploy. Refused unless
/// `allowed`; `kpush rollback` is how to go back on purpose. When a shallow clone cannot tell
/// (it lacks the deployed commit or the history between), refused as well; when a full clone
/// lacks the deployed commit (another branch, rewritten history), a warning.
pub fn check_not_outdated(
    history: &[HistoryEntry],
    commit: Option<&CommitInfo>,
    lineage: impl Fn(&str, &str) -> Lineage,
    allowed: bool,
) -> Result<Option<String>, Error> {
    let (Some(commit), Some(last)) = (commit, history.iter().rev().find(|e| !e.sha.is_empty()))
    else {
        return Ok(None);
    };
    let short = |sha: &str| sha.get(..7).unwrap_or(sha).to_string();
    match lineage(&commit.sha, &last.sha) {
        Lineage::Older if !allowed => Err(Error::Invalid(format!(
            "commit {} is older than commit {}, which revision {} deployed ({}, {}): deploying it would undo newer changes\nhint: a CI job of an older pipeline ran late; to go back on purpose use `kpush rollback`, or pass `--allow-outdated`",
            short(&commit.sha),
            short(&last.sha),
            last.revision,
            last.time,
            last.run
        ))),
        // Unknown is refused: a late job of an older pipeline in a shallow checkout would
        // otherwise undo newer changes unnoticed.
        Lineage::Unknown if !allowed => Err(Error::Invalid(format!(
            "cannot tell whether commit {} is older than commit {}, which revision {} deployed ({}, {}): this repository lacks that commit or the history between them (a shallow clone)\nhint: {}; or pass `--allow-outdated` to deploy without the check",
            short(&commit.sha),
            short(&last.sha),
            last.revision,
            last.time,
            last.run,
            crate::source::FETCH_HINT
        ))),
        Lineage::Absent => Ok(Some(format!(
            "cannot tell whether commit {} is older than commit {} deployed last: that commit is not in this repository (another branch, or history rewritten since); fetch it to have kpush check",
            short(&commit.sha),
            short(&last.sha)
        ))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::plan::testing::{member, rendered, resource};
    use serde_json::json;

    fn plan(unchanged: usize, prune: usize) -> Plan {
        let cm = resource("", "ConfigMap", true);
        Plan {
            entries: (0..unchanged)
                .map(|i| rendered(&cm, &format!("c{i}"), json!({}), Action::Unchanged))
                .chain((0..prune).map(|i| member(&cm, &format!("p{i}"), json!({}), Action::Prune)))
                .collect(),
        }
    }

    #[test]
    fn a_large_share_of_a_real_inventory_needs_confirmation() {
        // (unchanged, prune, threshold, confirmed, allowed)
        let cases = [
            (5, 5, 50, false, true),
            (4, 6, 50, false, false),
            (4, 6, 50, true, true),
            (4, 6, 0, false, true),
            (0, 4, 50, false, true),
            (0, 5, 50, false, false),
            (99, 1, 1, false, true),
            (98, 2, 1, false, false),
        ];
        for (unchanged, prune, threshold, confirmed, allowed) in cases {
            let result = check_prune_share(&plan(unchanged, prune), threshold, confirmed);
            assert_eq!(
                result.is_ok(),
                allowed,
                "{unchanged} unchanged, {prune} pruned, threshold {threshold}, confirmed {confirmed}"
            );
        }
    }

    #[test]
    fn an_older_commit_than_the_last_deployed_is_refused() {
        let history: Vec<HistoryEntry> = serde_json::from_value(json!([
            {"revision": 1, "sha": "old", "ref": "main", "time": "t1", "run": "ci/1", "kind": "deploy",
             "path": "app", "images": [], "created": 1, "updated": 0, "pruned": 0},
            {"revision": 2, "sha": "new", "ref": "main", "time": "t2", "run": "ci/2", "kind": "deploy",
             "path": "app", "images": [], "created": 0, "updated": 1, "pruned": 0, "outcome": "unhealthy"},
            {"revision": 3, "sha": "", "ref": "WORKTREE", "time": "t3", "run": "me", "kind": "deploy",
             "path": "app", "images": [], "created": 0, "updated": 1, "pruned": 0},
        ]))
        .unwrap();
        let commit = |sha: &str| CommitInfo {
            sha: sha.into(),
            ..CommitInfo::default()
        };
        // Compared with the newest entry that names a commit, whatever its outcome.
        let is = |lineage: Lineage| {
            move |candidate: &str, deployed: &str| {
                assert_eq!((candidate, deployed), ("mine", "new"));
                lineage
            }
        };
        let mine = Some(commit("mine"));
        let err = check_not_outdated(&history, mine.as_ref(), is(Lineage::Older), false);
        assert!(err.unwrap_err().to_string().contains("--allow-outdated"));
        assert!(check_not_outdated(&history, mine.as_ref(), is(Lineage::Older), true).is_ok());
        for fine in [Lineage::Same, Lineage::Newer, Lineage::Unrelated] {
            assert_eq!(
                check_not_outdated(&history, mine.as_ref(), is(fine), false).unwrap(),
                None
            );
        }
        // Unknown (a shallow clone): refused unless allowed, never silently passed.
        let unknown = check_not_outdated(&history, mine.as_ref(), is(Lineage::Unknown), false);
        let message = unknown.unwrap_err().to_string();
        assert!(
            message.contains("shallow") && message.contains("fetch-depth: 0"),
            "{message}"
        );
        assert!(check_not_outdated(&history, mine.as_ref(), is(Lineage::Unknown), true).is_ok());
        // Absent from a full clone (another branch, rewritten history): a warning, not a stop.
        let absent = check_not_outdated(&history, mine.as_ref(), is(Lineage::Absent), false);
        assert!(absent.unwrap().unwrap().contains("not in this repository"));
        // The working tree, or a first deploy: nothing to compare.
        assert!(check_not_outdated(&history, None, is(Lineage::Older), false).is_ok());
        assert!(check_not_outdated(&[], mine.as_ref(), is(Lineage::Older), false).is_ok());
    }
}

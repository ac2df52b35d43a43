//! Deploy history, kept on the inventory parent so any later run (a rollback from a fresh CI
//! job) can read it: one JSON annotation with the last deploys, newest last.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The annotation on the parent Secret that holds the history.
pub const HISTORY_ANNOTATION: &str = "kpush.dev/history";
/// How many deploys are kept.
pub const KEEP: usize = 10;

/// One deploy that took the app's lock, whatever its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Increases by one with every deploy of the app.
    pub revision: u64,
    /// The commit deployed; empty for `--rev WORKTREE`.
    pub sha: String,
    /// The revision as named (`HEAD`, a branch, a tag).
    #[serde(rename = "ref")]
    pub reference: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// The CI run or user and host that deployed.
    pub run: String,
    /// `deploy`, `rollback` or `atomic-rollback`.
    pub kind: String,
    /// What was rendered: the app's path, and its config file and environment if any.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Container images of the deployed workloads.
    #[serde(default)]
    pub images: Vec<String>,
    pub created: usize,
    pub updated: usize,
    pub pruned: usize,
    /// How the deploy ended; entries written before outcomes were recorded were successes.
    #[serde(default)]
    pub outcome: Outcome,
    /// Why it did not succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The Secrets that hold what this deploy applied, for `--atomic` and `rollback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotRef>,
    /// The sync hooks that ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRecord>,
    /// The chart a repository or registry served, as resolved (its version and digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<crate::source::charts::ResolvedChart>,
    /// The images the deploy promoted (named with `--image`, or kept from an earlier deploy):
    /// later runs that name no tag for them keep them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promoted: Vec<Promoted>,
    /// The digest of everything the deploy's render read: a later deploy whose inputs have
    /// the same digest applies this deploy's snapshot instead of rendering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_digest: Option<String>,
    /// The apps this app rendered (app-of-apps), as deployed after it: one that leaves a later
    /// render is torn down (or forgotten) by that deploy. Kept from the newest success on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildRecord>,
}

/// An app an app-of-apps rendered, and where it deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Argo CD's resources finalizer: when the app leaves the render, what it deployed goes.
    #[serde(default)]
    pub cascade: bool,
}

/// One promoted image of a recorded deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promoted {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub repository: String,
    pub tag: String,
}

/// One hook that ran during a recorded deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRecord {
    /// `Job/ns/name`, with the name the server generated.
    pub object: String,
    pub phase: String,
    #[serde(default)]
    pub wave: i64,
    pub succeeded: bool,
    /// Whole seconds it took.
    pub seconds: u64,
}

/// How a recorded deploy ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Everything written, healthy and pruned.
    #[default]
    Succeeded,
    /// A write or deletion failed, or validation failed once CRDs existed.
    Failed,
    /// Written, but not healthy in time.
    Unhealthy,
    /// Stopped by SIGTERM or SIGINT.
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Unhealthy => "unhealthy",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// Where a deploy's applied manifests are kept: `parts` Secrets named
/// `<parent>.rev<revision>.<i>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    pub parts: u32,
    /// SHA-256 of the parts' data, in order: a snapshot that does not match it is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl HistoryEntry {
    pub fn succeeded(&self) -> bool {
        self.outcome == Outcome::Succeeded
    }
}

/// Reads the history from a parent object; a missing or unreadable annotation is no history.
pub fn read(parent: &Value) -> Vec<HistoryEntry> {
    parent["metadata"]["annotations"][HISTORY_ANNOTATION]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// The revision the next entry gets.
pub fn next_revision(history: &[HistoryEntry]) -> u64 {
    history.last().map_or(1, |e| e.revision + 1)
}

/// Appends `entry` (numbered after the last one), keeping the newest [`KEEP`] and, beyond
/// them, the newest success, so that a run of failures never leaves nothing to roll back to.
/// Returns the history and the entries dropped.
pub fn append(
    mut history: Vec<HistoryEntry>,
    mut entry: HistoryEntry,
) -> (Vec<HistoryEntry>, Vec<HistoryEntry>) {
    entry.revision = next_revision(&history);
    history.push(entry);
    let excess = history.len().saturating_sub(KEEP);
    let keep_success = history[..excess]
        .iter()
        .rposition(HistoryEntry::succeeded)
        .filter(|_| !history[excess..].iter().any(HistoryEntry::succeeded));
    let mut dropped = Vec::new();
    let mut kept = Vec::new();
    for (i, e) in history.into_iter().enumerate() {
        if i >= excess || Some(i) == keep_success {
            kept.push(e);
        } else {
            dropped.push(e);
        }
    }
    (kept, dropped)
}

/// The history as its annotation. Only the entries from the newest success on keep their
/// children: that is the list the next deploy compares with, and hundreds of children in
/// every entry would not fit in an annotation.
pub fn to_annotation(history: &[HistoryEntry]) -> String {
    let from = history
        .iter()
        .rposition(HistoryEntry::succeeded)
        .unwrap_or(0);
    let trimmed: Vec<HistoryEntry> = history
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut e = e.clone();
            if i < from {
                e.children.clear();
            }
            e
        })
        .collect();
    serde_json::to_string(&trimmed).expect("history serialises")
}

/// The apps the newest successful deploy rendered (app-of-apps), if it recorded any.
pub fn last_children(history: &[HistoryEntry]) -> Option<(&HistoryEntry, &[ChildRecord])> {
    let entry = history.iter().rev().find(|e| e.succeeded())?;
    Some((entry, entry.children.as_slice()))
}

/// The images of every container (init and ephemeral too) in workload objects, sorted.
pub fn images(objects: &[&Value]) -> Vec<String> {
    let mut images = std::collections::BTreeSet::new();
    for object in objects {
        let Some(spec) = object["kind"]
            .as_str()
            .and_then(crate::object::pod_spec_pointer)
            .and_then(|p| object.pointer(p))
        else {
            continue;
        };
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for container in spec[list].as_array().into_iter().flatten() {
                if let Some(image) = container["image"].as_str() {
                    images.insert(image.to_string());
                }
            }
        }
    }
    images.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(sha: &str) -> HistoryEntry {
        HistoryEntry {
            revision: 0,
            sha: sha.into(),
            reference: "main".into(),
            time: "2026-11-26T00:00:00Z".into(),
            run: "ci".into(),
            kind: "deploy".into(),
            path: "apps/web".into(),
            config: None,
            env: None,
            images: vec![],
            created: 1,
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

    #[test]
    fn appends_numbers_and_keeps_the_newest() {
        let mut history = Vec::new();
        let mut dropped = Vec::new();
        for i in 0..12 {
            let (kept, gone) = append(history, entry(&format!("sha{i}")));
            history = kept;
            dropped.extend(gone);
        }
        assert_eq!(history.len(), KEEP);
        assert_eq!(
            dropped.iter().map(|e| e.revision).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(history[0].revision, 3);
        assert_eq!(history.last().unwrap().revision, 12);
        assert_eq!(history.last().unwrap().sha, "sha11");
        let parent =
            json!({"metadata": {"annotations": {HISTORY_ANNOTATION: to_annotation(&history)}}});
        assert_eq!(read(&parent), history);
        assert!(read(&json!({"metadata": {}})).is_empty());
    }

    #[test]
    fn the_newest_success_outlives_a_run_of_failures() {
        let mut history = Vec::new();
        for i in 0..3 {
            history = append(history, entry(&format!("good{i}"))).0;
        }
        for i in 0..KEEP + 2 {
            let mut failed = entry(&format!("bad{i}"));
            failed.outcome = Outcome::Failed;
            history = append(history, failed).0;
        }
        assert_eq!(history.len(), KEEP + 1);
        assert_eq!(history[0].sha, "good2");
        assert!(history[1..].iter().all(|e| !e.succeeded()));
        // Once a newer success is kept, the older one goes.
        history = append(history, entry("good3")).0;
        assert_eq!(history.len(), KEEP);
        assert!(history.iter().all(|e| e.sha != "good2"));
    }

    #[test]
    fn entries_without_an_outcome_were_successes() {
        let old = r#"[{"revision":1,"sha":"a","ref":"main","time":"t","run":"ci","kind":"deploy","path":"app","images":[],"created":1,"updated":0,"pruned":0}]"#;
        let parent = json!({"metadata": {"annotations": {HISTORY_ANNOTATION: old}}});
        assert_eq!(read(&parent)[0].outcome, Outcome::Succeeded);
    }

    #[test]
    fn images_of_workloads() {
        let deploy = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"image": "busybox:1"}], "containers": [{"image": "web:2"}, {"image": "busybox:1"}]}}}});
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "job:3"}]}}}}}});
        let cm = json!({"kind": "ConfigMap", "data": {}});
        assert_eq!(
            images(&[&deploy, &cron, &cm]),
            ["busybox:1", "job:3", "web:2"]
        );
    }
}

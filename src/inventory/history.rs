//! Deploy history, kept on the inventory parent so any later run (a rollback from a fresh CI
//! job) can read it: one JSON annotation with the last deploys, newest last.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The annotation on the parent Secret that holds the history.
pub const HISTORY_ANNOTATION: &str = "kpush.dev/history";
/// How many deploys are kept.
pub const KEEP: usize = 10;

/// One successful deploy.
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
}

/// Reads the history from a parent object; a missing or unreadable annotation is no history.
pub fn read(parent: &Value) -> Vec<HistoryEntry> {
    parent["metadata"]["annotations"][HISTORY_ANNOTATION]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// Appends `entry` (numbered after the last one), keeping the newest [`KEEP`].
pub fn append(mut history: Vec<HistoryEntry>, mut entry: HistoryEntry) -> Vec<HistoryEntry> {
    entry.revision = history.last().map_or(1, |e| e.revision + 1);
    history.push(entry);
    let excess = history.len().saturating_sub(KEEP);
    history.drain(..excess);
    history
}

pub fn to_annotation(history: &[HistoryEntry]) -> String {
    serde_json::to_string(history).expect("history serialises")
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
        }
    }

    #[test]
    fn appends_numbers_and_keeps_the_newest() {
        let mut history = Vec::new();
        for i in 0..12 {
            history = append(history, entry(&format!("sha{i}")));
        }
        assert_eq!(history.len(), KEEP);
        assert_eq!(history[0].revision, 3);
        assert_eq!(history.last().unwrap().revision, 12);
        assert_eq!(history.last().unwrap().sha, "sha11");
        let parent =
            json!({"metadata": {"annotations": {HISTORY_ANNOTATION: to_annotation(&history)}}});
        assert_eq!(read(&parent), history);
        assert!(read(&json!({"metadata": {}})).is_empty());
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

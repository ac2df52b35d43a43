//! Inventory members that are no longer rendered: what pruning would delete, and what it must
//! leave alone.

use serde_json::Value;

use super::{Action, Entry, SensitivePath, diff, normalize};
use crate::object::{ObjectRef, Resource};

/// A member of the inventory that the current render no longer declares.
#[derive(Debug, Clone)]
pub struct PruneCandidate {
    pub id: ObjectRef,
    pub resource: Resource,
    pub live: Value,
}

/// Annotations that protect an object from pruning.
const PRUNE_ANNOTATION: &str = "kpush.dev/prune";
const ARGO_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";

/// Why an object must not be pruned, if it must not.
pub fn protection(live: &Value) -> Option<String> {
    let annotations = &live["metadata"]["annotations"];
    if annotations[PRUNE_ANNOTATION].as_str() == Some("false") {
        return Some(format!("annotated `{PRUNE_ANNOTATION}: \"false\"`"));
    }
    let argo = annotations[ARGO_SYNC_OPTIONS].as_str().unwrap_or("");
    if argo.split(',').any(|o| o.trim() == "Prune=false") {
        return Some(format!("annotated `{ARGO_SYNC_OPTIONS}: Prune=false`"));
    }
    None
}

/// One entry per candidate: `prune` (with the removal as a diff) or `keep` with the reason.
pub fn prune_entries(
    candidates: &[PruneCandidate],
    prune: bool,
    sensitive: &[SensitivePath],
) -> Vec<Entry> {
    candidates
        .iter()
        .map(|c| {
            let kept = protection(&c.live).or_else(|| {
                (!prune).then(|| "pruning is off (pass `--prune` to delete it)".to_string())
            });
            let removed =
                diff::object_diff(Some(&normalize(c.live.clone())), &Value::Null, sensitive);
            Entry {
                id: c.id.clone(),
                origin: None,
                action: if kept.is_some() {
                    Action::Keep
                } else {
                    Action::Prune
                },
                diff: removed,
                error: None,
                pending: None,
                kept,
                replace: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn candidate(annotations: Value) -> PruneCandidate {
        PruneCandidate {
            id: ObjectRef {
                group: String::new(),
                version: "v1".into(),
                kind: "Secret".into(),
                namespace: Some("shop".into()),
                name: "old".into(),
            },
            resource: Resource {
                group: String::new(),
                version: "v1".into(),
                kind: "Secret".into(),
                plural: "secrets".into(),
                namespaced: true,
            },
            live: json!({"apiVersion": "v1", "kind": "Secret",
                         "metadata": {"name": "old", "namespace": "shop", "annotations": annotations},
                         "data": {"token": "c2VjcmV0"}}),
        }
    }

    #[test]
    fn protected_objects_and_disabled_pruning_keep() {
        let cases = [
            (json!({}), true, Action::Prune),
            (json!({}), false, Action::Keep),
            (json!({"kpush.dev/prune": "false"}), true, Action::Keep),
            (
                json!({"argocd.argoproj.io/sync-options": "Replace=true, Prune=false"}),
                true,
                Action::Keep,
            ),
            (json!({"kpush.dev/prune": "true"}), true, Action::Prune),
        ];
        for (annotations, prune, expected) in cases {
            let entries = prune_entries(&[candidate(annotations.clone())], prune, &[]);
            assert_eq!(entries[0].action, expected, "{annotations} prune={prune}");
        }
    }

    #[test]
    fn the_removal_diff_masks_secrets() {
        let entries = prune_entries(&[candidate(json!({}))], true, &[]);
        let diff = &entries[0].diff;
        assert!(diff.contains("-  token: <removed, 6 bytes>"), "{diff}");
        assert!(!diff.contains("c2VjcmV0"));
    }
}

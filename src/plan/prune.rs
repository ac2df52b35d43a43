//! Inventory members that are no longer rendered: what pruning would delete, and what it must
//! leave alone.

use serde_json::Value;

use super::{Action, Entry, SensitivePath, Subject, diff, normalize};
use crate::object::{ObjectRef, Policy, Resource};

/// A member of the inventory that the current render no longer declares.
#[derive(Debug, Clone)]
pub struct PruneCandidate {
    pub id: ObjectRef,
    pub resource: Resource,
    pub live: Value,
    /// Read from the live object's kind and annotations.
    pub policy: Policy,
}

impl PruneCandidate {
    pub fn new(id: ObjectRef, resource: Resource, live: Value) -> PruneCandidate {
        PruneCandidate {
            policy: Policy::of(&resource, &live),
            id,
            resource,
            live,
        }
    }
}

/// One entry per candidate: `prune` (with the removal as a diff) or `keep` with the reason;
/// each entry keeps its candidate.
pub fn prune_entries(
    candidates: Vec<PruneCandidate>,
    prune: bool,
    sensitive: &[SensitivePath],
) -> Vec<Entry> {
    candidates
        .into_iter()
        .map(|c| {
            let kept = c.policy.prune_protection.clone().or_else(|| {
                (!prune).then(|| "pruning is off (pass `--prune` to delete it)".to_string())
            });
            let action = if kept.is_some() {
                Action::Keep
            } else {
                Action::Prune
            };
            let mut entry = Entry::new(c.id.clone(), None, action);
            entry.diff =
                diff::object_diff(Some(&normalize(c.live.clone())), &Value::Null, sensitive);
            entry.kept = kept;
            entry.subject = Subject::Member(Box::new(c));
            entry
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn candidate(annotations: Value) -> PruneCandidate {
        PruneCandidate::new(
            ObjectRef {
                group: String::new(),
                version: "v1".into(),
                kind: "Secret".into(),
                namespace: Some("shop".into()),
                name: "old".into(),
            },
            Resource {
                group: String::new(),
                version: "v1".into(),
                kind: "Secret".into(),
                plural: "secrets".into(),
                namespaced: true,
            },
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "old", "namespace": "shop", "annotations": annotations},
                   "data": {"token": "c2VjcmV0"}}),
        )
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
            let entries = prune_entries(vec![candidate(annotations.clone())], prune, &[]);
            assert_eq!(entries[0].action, expected, "{annotations} prune={prune}");
        }
    }

    #[test]
    fn the_removal_diff_masks_secrets() {
        let entries = prune_entries(vec![candidate(json!({}))], true, &[]);
        let diff = &entries[0].diff;
        assert!(diff.contains("-  token: <removed, 6 bytes>"), "{diff}");
        assert!(!diff.contains("c2VjcmV0"));
    }
}

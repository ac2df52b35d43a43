//! The parent Secret: its id, and the group-kinds and namespaces it records.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{
    AppIdentity, GROUP_KINDS_ANNOTATION, GroupKind, ID_LABEL, NAMESPACES_ANNOTATION,
    OWNER_ANNOTATION, TOOLING_ANNOTATION, tooling,
};

/// The KEP-3659 id of an ApplySet whose parent is the Secret `name` in `namespace`:
/// `applyset-<base64url(sha256("<name>.<namespace>.Secret."))>-v1`, as kubectl computes it.
pub fn applyset_id(name: &str, namespace: &str) -> String {
    let key = format!("{name}.{namespace}.Secret.");
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    format!("applyset-{}-v1", URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// What a parent records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParentState {
    pub id: String,
    /// `name/version` of the tool that manages the set.
    pub tooling: Option<String>,
    pub group_kinds: BTreeSet<GroupKind>,
    pub additional_namespaces: BTreeSet<String>,
    /// The app the set belongs to; `None` for sets recorded before kpush recorded it.
    pub owner: Option<AppIdentity>,
}

impl ParentState {
    /// Reads a live parent. Unparsable entries are skipped: they cannot name anything to prune.
    pub fn from_object(object: &Value) -> ParentState {
        let labels = &object["metadata"]["labels"];
        let annotations = &object["metadata"]["annotations"];
        let list = |key: &str| -> Vec<String> {
            annotations[key]
                .as_str()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        ParentState {
            id: labels[ID_LABEL].as_str().unwrap_or("").to_string(),
            tooling: annotations[TOOLING_ANNOTATION].as_str().map(str::to_string),
            group_kinds: list(GROUP_KINDS_ANNOTATION)
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            additional_namespaces: list(NAMESPACES_ANNOTATION).into_iter().collect(),
            owner: AppIdentity::recorded(object),
        }
    }

    /// Whether this tool may change the set: kpush leaves other tools' sets alone.
    pub fn managed_by_other_tool(&self) -> Option<&str> {
        let tooling = self.tooling.as_deref()?;
        let name = tooling.split('/').next().unwrap_or(tooling);
        (name != "kpush").then_some(tooling)
    }
}

/// The parent Secret as kpush applies it. `extra_annotations` carry kpush's own records.
pub fn parent_manifest(
    name: &str,
    namespace: &str,
    group_kinds: &BTreeSet<GroupKind>,
    additional_namespaces: &BTreeSet<String>,
    owner: &AppIdentity,
    history: Option<&str>,
) -> Value {
    let join = |items: Vec<String>| items.join(",");
    let mut parent = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {ID_LABEL: applyset_id(name, namespace)},
            "annotations": {
                TOOLING_ANNOTATION: tooling(),
                GROUP_KINDS_ANNOTATION: join(group_kinds.iter().map(ToString::to_string).collect()),
                NAMESPACES_ANNOTATION: join(additional_namespaces.iter().cloned().collect()),
                OWNER_ANNOTATION: owner.to_annotation(),
            }
        }
    });
    if let Some(history) = history {
        parent["metadata"]["annotations"][super::history::HISTORY_ANNOTATION] = json!(history);
    }
    parent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_follows_the_kep() {
        // sha256("guestbook.shop.Secret.") in URL-safe base64 without padding.
        let id = applyset_id("guestbook", "shop");
        assert!(id.starts_with("applyset-") && id.ends_with("-v1"), "{id}");
        let encoded = &id["applyset-".len()..id.len() - 3];
        assert_eq!(encoded.len(), 43);
        assert!(!encoded.contains(['+', '/', '=']));
        assert_ne!(applyset_id("guestbook", "other"), id);
    }

    #[test]
    fn parent_round_trips() {
        let gks: BTreeSet<GroupKind> = ["Deployment.apps", "ConfigMap"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let namespaces: BTreeSet<String> = ["b".to_string(), "a".to_string()].into();
        let owner = AppIdentity {
            repo: None,
            source: "path:app".into(),
            env: None,
        };
        let parent = parent_manifest("app", "shop", &gks, &namespaces, &owner, None);
        assert_eq!(
            parent["metadata"]["annotations"][GROUP_KINDS_ANNOTATION],
            "ConfigMap,Deployment.apps"
        );
        assert_eq!(
            parent["metadata"]["annotations"][NAMESPACES_ANNOTATION],
            "a,b"
        );
        let state = ParentState::from_object(&parent);
        assert_eq!(state.id, applyset_id("app", "shop"));
        assert_eq!(state.group_kinds, gks);
        assert_eq!(state.additional_namespaces, namespaces);
        assert_eq!(state.owner, Some(owner));
        assert_eq!(state.managed_by_other_tool(), None);
        let kubectl = ParentState {
            tooling: Some("kubectl/v1.32.4".into()),
            ..state
        };
        assert_eq!(kubectl.managed_by_other_tool(), Some("kubectl/v1.32.4"));
    }
}

//! The inventory parent a deploy writes: old and new kinds together before the members, only
//! what remains after a successful prune, with the history.

use std::collections::BTreeSet;

use crate::cluster::{ApplyOptions, Cluster};
use crate::error::Error;
use crate::inventory::history::{self, HistoryEntry};
use crate::inventory::{AppIdentity, GroupKind, ParentState, parent_manifest};
use crate::plan::{Action, Plan};

use crate::deploy::inventory_read::Inventory;

/// What the parent should record before the members are written (old and new together, so a
/// crash never loses track of a member) and after a successful prune (only what remains).
pub struct ParentRecord {
    before: (BTreeSet<GroupKind>, BTreeSet<String>),
    after: (BTreeSet<GroupKind>, BTreeSet<String>),
    previous: Option<ParentState>,
    owner: AppIdentity,
}
impl ParentRecord {
    pub fn new(plan: &Plan, inventory: &Inventory, owner: &AppIdentity) -> ParentRecord {
        let destination = inventory.parent.namespace.clone().unwrap_or_default();
        let mut kinds = BTreeSet::new();
        let mut namespaces = BTreeSet::new();
        // What stays: every rendered object but the hooks (never members), and the members
        // kept from the prune.
        let remaining = plan
            .entries
            .iter()
            .filter(|e| e.hook.is_none())
            .filter(|e| e.target().is_some() || e.action == Action::Keep)
            .map(|e| &e.id);
        for id in remaining {
            kinds.insert(GroupKind {
                group: id.group.clone(),
                kind: id.kind.clone(),
            });
            if let Some(ns) = id.namespace.as_ref().filter(|ns| **ns != destination) {
                namespaces.insert(ns.clone());
            }
        }
        let mut before = (kinds.clone(), namespaces.clone());
        if let Some(previous) = &inventory.previous {
            before.0.extend(previous.group_kinds.iter().cloned());
            before
                .1
                .extend(previous.additional_namespaces.iter().cloned());
        }
        ParentRecord {
            before,
            after: (kinds, namespaces),
            previous: inventory.previous.clone(),
            owner: owner.clone(),
        }
    }

    pub fn needs_write(&self) -> bool {
        match &self.previous {
            None => true,
            Some(p) => {
                p.group_kinds != self.after.0
                    || p.additional_namespaces != self.after.1
                    || p.owner.as_ref() != Some(&self.owner)
                    || p.tooling.as_deref() != Some(crate::inventory::tooling().as_str())
            }
        }
    }

    /// Before the members (the kinds old and new), or once the deploy ended with `history`:
    /// only what remains when the prune went through (`pruned`), else the kinds old and new.
    pub async fn write(
        &self,
        cluster: &Cluster,
        inventory: &Inventory,
        history: Option<&[HistoryEntry]>,
        pruned: bool,
    ) -> Result<(), Error> {
        let (kinds, namespaces) = if pruned { &self.after } else { &self.before };
        let parent = &inventory.parent;
        let recorded = history.map(history::to_annotation).or_else(|| {
            (!inventory.history.is_empty()).then(|| history::to_annotation(&inventory.history))
        });
        let body = parent_manifest(
            &parent.name,
            parent.namespace.as_deref().unwrap_or_default(),
            kinds,
            namespaces,
            &self.owner,
            recorded.as_deref(),
        );
        // The parent is this app's own record (its owner was checked before any write): a
        // person's `kubectl annotate` or `edit` of it must not make every later deploy fail
        // after writing its objects, so its fields are taken back.
        cluster
            .apply(
                &inventory.secret_resource,
                parent,
                &body,
                ApplyOptions {
                    force: true,
                    ..ApplyOptions::default()
                },
            )
            .await
            .map(|_| ())
            .map_err(|f| Error::Runtime(format!("cannot write the inventory {parent}: {f}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectRef;
    use crate::plan::testing::{member, rendered, resource};
    use serde_json::json;

    fn inventory(previous: Option<ParentState>) -> Inventory {
        Inventory {
            parent: ObjectRef {
                group: String::new(),
                version: "v1".into(),
                kind: "Secret".into(),
                namespace: Some("shop".into()),
                name: "kpush-shop".into(),
            },
            secret_resource: resource("", "Secret", true),
            id: "applyset-x-v1".into(),
            previous,
            history: Vec::new(),
            namespace_exists: true,
            lock_seen: crate::deploy::inventory_read::LockSeen::Absent,
        }
    }

    fn kinds(names: &[(&str, &str)]) -> BTreeSet<GroupKind> {
        names
            .iter()
            .map(|(group, kind)| GroupKind {
                group: group.to_string(),
                kind: kind.to_string(),
            })
            .collect()
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_parent_keeps_old_kinds_until_the_prune_succeeds() {
        let cm = resource("", "ConfigMap", true);
        let mut elsewhere = rendered(&cm, "cache", json!({}), Action::Create);
        elsewhere.id.namespace = Some("cache-ns".into());
        let mut kept = member(
            &resource("", "Secret", true),
            "old",
            json!({}),
            Action::Keep,
        );
        kept.id.namespace = Some("legacy".into());
        // Hooks are never members: neither their kind nor their namespace is recorded.
        let mut hook = rendered(
            &resource("batch", "Job", true),
            "migrate",
            json!({"argocd.argoproj.io/hook": "PreSync"}),
            Action::Hook,
        );
        hook.id.namespace = Some("jobs-ns".into());
        let plan = Plan {
            entries: vec![
                rendered(&cm, "app", json!({}), Action::Unchanged),
                elsewhere,
                kept,
                hook,
                member(
                    &resource("apps", "Deployment", true),
                    "gone",
                    json!({}),
                    Action::Prune,
                ),
            ],
        };
        let owner = AppIdentity {
            repo: None,
            source: "path:app".into(),
            env: None,
        };
        let previous = ParentState {
            id: "applyset-x-v1".into(),
            tooling: Some(crate::inventory::tooling()),
            group_kinds: kinds(&[("", "ConfigMap"), ("apps", "Deployment")]),
            additional_namespaces: set(&["old-ns"]),
            owner: Some(owner.clone()),
        };
        let record = ParentRecord::new(&plan, &inventory(Some(previous.clone())), &owner);
        assert_eq!(
            record.before.0,
            kinds(&[("", "ConfigMap"), ("", "Secret"), ("apps", "Deployment")])
        );
        assert_eq!(record.before.1, set(&["cache-ns", "legacy", "old-ns"]));
        assert_eq!(record.after.0, kinds(&[("", "ConfigMap"), ("", "Secret")]));
        assert_eq!(record.after.1, set(&["cache-ns", "legacy"]));
        assert!(record.needs_write());

        // A parent that already records what remains, written by this version, is left alone.
        let settled = ParentState {
            group_kinds: record.after.0.clone(),
            additional_namespaces: record.after.1.clone(),
            ..previous
        };
        let record =
            |state: Option<ParentState>| ParentRecord::new(&plan, &inventory(state), &owner);
        assert!(!record(Some(settled.clone())).needs_write());
        let older_tool = ParentState {
            tooling: Some("kpush/v0.0.1".into()),
            ..settled.clone()
        };
        assert!(record(Some(older_tool)).needs_write());
        // A parent recorded before kpush recorded its app gets it.
        let unowned = ParentState {
            owner: None,
            ..settled
        };
        assert!(record(Some(unowned)).needs_write());
        assert!(record(None).needs_write());
    }
}

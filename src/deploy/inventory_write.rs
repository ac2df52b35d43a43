//! The inventory parent a deploy writes: old and new kinds together before the members, only
//! what remains after a successful prune, with the history.

use std::collections::BTreeSet;

use crate::cluster::{ApplyOptions, Cluster};
use crate::error::Error;
use crate::inventory::history::{self, HistoryEntry};
use crate::inventory::{GroupKind, ParentState, parent_manifest};
use crate::plan::Action;

use super::Prepared;
use super::inventory_read::Inventory;

/// What the parent should record before the members are written (old and new together, so a
/// crash never loses track of a member) and after a successful prune (only what remains).
pub struct ParentRecord {
    before: (BTreeSet<GroupKind>, BTreeSet<String>),
    after: (BTreeSet<GroupKind>, BTreeSet<String>),
    previous: Option<ParentState>,
}
impl ParentRecord {
    pub fn new(prepared: &Prepared) -> ParentRecord {
        let inventory = &prepared.inventory;
        let destination = inventory.parent.namespace.clone().unwrap_or_default();
        let mut kinds = BTreeSet::new();
        let mut namespaces = BTreeSet::new();
        // What stays: every rendered object, and the members kept from the prune.
        let remaining = prepared
            .plan
            .entries
            .iter()
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
        }
    }

    pub fn needs_write(&self) -> bool {
        match &self.previous {
            None => true,
            Some(p) => {
                p.group_kinds != self.after.0
                    || p.additional_namespaces != self.after.1
                    || p.tooling.as_deref() != Some(crate::inventory::tooling().as_str())
            }
        }
    }

    /// Before the members (`history` `None`, the kinds old and new) or after a successful
    /// deploy (only what remains, and the history with this deploy added).
    pub async fn write(
        &self,
        cluster: &Cluster,
        inventory: &Inventory,
        history: Option<&[HistoryEntry]>,
    ) -> Result<(), Error> {
        let (kinds, namespaces) = match history {
            Some(_) => &self.after,
            None => &self.before,
        };
        let parent = &inventory.parent;
        let recorded = history.map(history::to_annotation).or_else(|| {
            (!inventory.history.is_empty()).then(|| history::to_annotation(&inventory.history))
        });
        let body = parent_manifest(
            &parent.name,
            parent.namespace.as_deref().unwrap_or_default(),
            kinds,
            namespaces,
            recorded.as_deref(),
        );
        cluster
            .apply(
                &inventory.secret_resource,
                parent,
                &body,
                ApplyOptions::default(),
            )
            .await
            .map(|_| ())
            .map_err(|f| Error::Runtime(format!("cannot write the inventory {parent}: {f}")))
    }
}

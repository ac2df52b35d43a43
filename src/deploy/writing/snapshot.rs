//! Keeping and reading what a successful deploy applied (see [`crate::inventory::snapshot`]),
//! in Secrets beside the inventory parent.

use crate::cluster::{ApplyOptions, Cluster, Propagation};
use crate::error::Error;
use crate::inventory::history::HistoryEntry;
use crate::inventory::snapshot::{self, Kept};
use crate::object::{ObjectRef, Resource};
use crate::plan::Plan;
use crate::render::{Manifest, Rendered};

use crate::deploy::inventory_read::Inventory;

fn part(parent: &ObjectRef, revision: u64, index: u32) -> ObjectRef {
    ObjectRef {
        name: snapshot::part_name(&parent.name, revision, index),
        ..parent.clone()
    }
}

/// Writes the plan's objects as revision `revision`'s snapshot; returns how many parts, and
/// the SHA-256 of their data.
pub(in crate::deploy) async fn write(
    cluster: &Cluster,
    inventory: &Inventory,
    revision: u64,
    plan: &Plan,
) -> Result<(u32, String), String> {
    // Hooks too: a rollback runs the hooks of the deploy it goes back to.
    let kept: Vec<Kept> = plan
        .entries
        .iter()
        .filter_map(|e| e.target())
        .map(|t| Kept {
            file: t.origin.file.clone(),
            line: t.origin.line,
            object: t.object.clone(),
        })
        .collect();
    let parts = snapshot::encode(&kept);
    let namespace = inventory.parent.namespace.as_deref().unwrap_or_default();
    for (index, data) in (0u32..).zip(&parts) {
        let id = part(&inventory.parent, revision, index);
        let body = snapshot::part_manifest(&id.name, namespace, &inventory.parent.name, data);
        cluster
            .apply(
                &inventory.secret_resource,
                &id,
                &body,
                ApplyOptions::default(),
            )
            .await
            .map_err(|f| format!("cannot keep what revision {revision} applied in {id}: {f}"))?;
    }
    Ok((
        parts.len() as u32,
        crate::digest::sha256_hex(&parts.concat()),
    ))
}

/// Deletes the snapshot of an entry dropped from the history; a failure only leaves a Secret
/// behind.
pub(in crate::deploy) async fn delete(
    cluster: &Cluster,
    inventory: &Inventory,
    entry: &HistoryEntry,
) {
    let Some(kept) = &entry.snapshot else {
        return;
    };
    for index in 0..kept.parts {
        let id = part(&inventory.parent, entry.revision, index);
        let deleted = cluster
            .delete(
                &inventory.secret_resource,
                &id,
                Propagation::Background,
                false,
                None,
            )
            .await;
        if let Err(f) = deleted {
            tracing::warn!("cannot delete the old snapshot {id}: {f}");
        }
    }
}

/// The objects `entry` applied, as a render; `None` when the entry has no snapshot.
pub async fn read(
    cluster: &Cluster,
    secret_resource: &Resource,
    parent: &ObjectRef,
    entry: &HistoryEntry,
) -> Result<Option<Rendered>, Error> {
    let Some(kept) = &entry.snapshot else {
        return Ok(None);
    };
    let mut parts = Vec::new();
    for index in 0..kept.parts {
        let id = part(parent, entry.revision, index);
        let secret = cluster
            .get(secret_resource, &id)
            .await
            .map_err(|f| Error::Runtime(format!("cannot read the snapshot {id}: {f}")))?
            .ok_or_else(|| {
                Error::Runtime(format!(
                    "the snapshot of revision {} is missing ({id} does not exist)",
                    entry.revision
                ))
            })?;
        parts.push(snapshot::part_data(&secret).map_err(Error::Runtime)?);
    }
    if let Some(recorded) = &kept.sha256
        && crate::digest::sha256_hex(&parts.concat()) != *recorded
    {
        return Err(Error::Runtime(format!(
            "the snapshot of revision {} was changed after the deploy wrote it",
            entry.revision
        )));
    }
    let kept = snapshot::decode(&parts).map_err(Error::Runtime)?;
    let manifests = kept
        .into_iter()
        .map(|k| {
            let origin = k.origin();
            Manifest::from_value(k.object, origin.clone())
                .map_err(|e| Error::Runtime(format!("the snapshot is damaged at {origin}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(Rendered {
        manifests,
        chart: None,
        promoted: Vec::new(),
        fetched: Vec::new(),
        input_digest: None,
    }))
}

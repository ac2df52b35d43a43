//! The "prune" stage: deletes the plan's `prune` entries after everything else succeeded.
//! Namespaced objects go first, then cluster-scoped ones, then CRDs (after their custom
//! resources), then namespaces (after everything inside them); each step concurrent.

use std::time::Duration;

use futures::{StreamExt, stream};
use serde::Serialize;

use crate::cluster::{ApiFailure, Cluster, Propagation};
use crate::object::ObjectRef;
use crate::plan::{Action, Plan, PruneCandidate};

/// What happened to one pruned object.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    pub id: ObjectRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiFailure>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    pub deleted: Vec<Deleted>,
}

impl Pruned {
    pub fn failed(&self) -> impl Iterator<Item = &Deleted> {
        self.deleted.iter().filter(|d| d.error.is_some())
    }
}

/// How long a foreground deletion may take before kpush reports it.
const GONE_TIMEOUT: Duration = Duration::from_secs(120);

fn order(candidate: &PruneCandidate) -> u8 {
    let r = &candidate.resource;
    if r.group.is_empty() && r.kind == "Namespace" {
        3
    } else if r.group == "apiextensions.k8s.io" && r.kind == "CustomResourceDefinition" {
        2
    } else if r.namespaced {
        0
    } else {
        1
    }
}

/// Deletes the candidates the plan marks `prune`. With `dry_run` the server checks each
/// deletion and nothing is deleted.
pub async fn prune(
    cluster: &Cluster,
    candidates: &[PruneCandidate],
    plan: &Plan,
    propagation: Propagation,
    concurrency: usize,
    dry_run: bool,
) -> Pruned {
    let doomed: Vec<&PruneCandidate> = candidates
        .iter()
        .filter(|c| {
            plan.entries
                .iter()
                .any(|e| e.action == Action::Prune && e.id == c.id)
        })
        .collect();
    let mut pruned = Pruned::default();
    for step in 0..=3 {
        let batch: Vec<&PruneCandidate> = doomed
            .iter()
            .copied()
            .filter(|c| order(c) == step)
            .collect();
        let deleted: Vec<Deleted> = stream::iter(batch)
            .map(|c| async move {
                // A cancelled run deletes nothing more.
                if crate::cancel::requested() && !dry_run {
                    return None;
                }
                let mut result = cluster
                    .delete(&c.resource, &c.id, propagation, dry_run)
                    .await;
                if result.is_ok() && propagation == Propagation::Foreground && !dry_run {
                    result = cluster.wait_gone(&c.resource, &c.id, GONE_TIMEOUT).await;
                }
                Some(Deleted {
                    id: c.id.clone(),
                    error: result.err(),
                })
            })
            .buffered(concurrency)
            .filter_map(|d| async move { d })
            .collect()
            .await;
        pruned.deleted.extend(deleted);
        if pruned.failed().next().is_some() || (crate::cancel::requested() && !dry_run) {
            break;
        }
    }
    pruned
}

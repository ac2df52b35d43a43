//! Deleting: the plan's `prune` entries, after everything else succeeded. Stages go in reverse:
//! namespaced objects first, then cluster-scoped ones, then CRDs (after their custom
//! resources), then namespaces (after everything inside them); each step concurrent.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde::Serialize;

use crate::cluster::{ApiFailure, Cluster, LIST_FROM, Propagation};
use crate::inventory::PART_OF_LABEL;
use crate::object::{ObjectRef, Resource, Stage};
use crate::plan::{Action, Plan, PruneCandidate};

/// What happened to one pruned object.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    pub id: ObjectRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiFailure>,
}

/// A planned deletion left undone because the object changed since it was listed.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub id: ObjectRef,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    pub deleted: Vec<Deleted>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl Pruned {
    pub fn failed(&self) -> impl Iterator<Item = &Deleted> {
        self.deleted.iter().filter(|d| d.error.is_some())
    }
}

/// How long a foreground deletion may take before kpush reports it.
const GONE_TIMEOUT: Duration = Duration::from_secs(120);

/// The steps of a prune, in order: what lives inside something goes before it.
const STEPS: [Stage; 4] = [
    Stage::Namespaced,
    Stage::ClusterScoped,
    Stage::Crds,
    Stage::Namespaces,
];

/// The candidates the plan marks `prune`, by step.
fn steps(plan: &Plan) -> Vec<Vec<&PruneCandidate>> {
    let doomed: Vec<&PruneCandidate> = plan
        .entries
        .iter()
        .filter(|e| e.action == Action::Prune)
        .filter_map(|e| e.member())
        .collect();
    STEPS
        .iter()
        .map(|step| {
            doomed
                .iter()
                .copied()
                .filter(|c| c.policy.stage == *step)
                .collect::<Vec<_>>()
        })
        .filter(|batch| !batch.is_empty())
        .collect()
}

/// How the prune runs.
#[derive(Debug, Clone, Copy)]
pub struct PruneOptions {
    pub propagation: Propagation,
    pub concurrency: usize,
    /// The server checks each deletion and nothing is deleted.
    pub dry_run: bool,
    /// Return once the last deletions are accepted (`--no-wait`), without waiting for the
    /// garbage collector to finish foreground deletions. Earlier steps are still waited for,
    /// so custom resources are gone before their CRD and objects before their namespace.
    pub no_wait: bool,
}

/// Deletes the inventory members the plan marks `prune`.
pub async fn prune(cluster: &Cluster, plan: &Plan, options: PruneOptions) -> Pruned {
    let PruneOptions {
        propagation,
        concurrency,
        dry_run,
        no_wait,
    } = options;
    let mut pruned = Pruned::default();
    let steps = steps(plan);
    let last_step = steps.len().saturating_sub(1);
    for (step, batch) in steps.into_iter().enumerate() {
        // Decided on fresh facts: what changed since the plan is not deleted.
        let batch = match dry_run {
            true => batch,
            false => still_members(cluster, batch, concurrency, &mut pruned.skipped).await,
        };
        let results: Vec<(&PruneCandidate, Option<ApiFailure>)> = stream::iter(batch)
            .map(|c| async move {
                // A cancelled run deletes nothing more.
                if crate::cancel::requested() && !dry_run {
                    return None;
                }
                let result = cluster
                    .delete_at(
                        &c.resource,
                        &c.id,
                        propagation,
                        dry_run,
                        uid(c),
                        c.precondition.as_deref(),
                    )
                    .await;
                Some((c, result.err()))
            })
            .buffered(concurrency)
            .filter_map(|d| async move { d })
            .collect()
            .await;
        let mut deleted = Vec::with_capacity(results.len());
        for (c, error) in results {
            match error {
                Some(f) if f.code == 409 && f.message.to_lowercase().contains("precondition") => {
                    pruned.skipped.push(Skipped {
                        id: c.id.clone(),
                        reason: "it was deleted and created again since it was listed".into(),
                    });
                }
                error => deleted.push((c, error)),
            }
        }
        if propagation == Propagation::Foreground && !dry_run && !(no_wait && step == last_step) {
            let accepted = deleted
                .iter()
                .filter(|(_, error)| error.is_none())
                .map(|(c, _)| *c)
                .collect();
            let mut late = wait_all_gone(cluster, accepted, concurrency).await;
            for (c, error) in &mut deleted {
                if let Some(failure) = late.remove(&c.id) {
                    *error = Some(failure);
                }
            }
        }
        let deleted = deleted.into_iter().map(|(c, error)| Deleted {
            id: c.id.clone(),
            error,
        });
        pruned.deleted.extend(deleted);
        if pruned.failed().next().is_some() || (crate::cancel::requested() && !dry_run) {
            break;
        }
    }
    pruned
}

/// Kind, namespace and ApplySet: what one metadata list covers.
type ListKey<'a> = (&'a Resource, Option<&'a str>, Option<&'a str>);

/// The candidates by what one metadata list of their ApplySet's members covers.
fn by_list<'a>(
    candidates: Vec<&'a PruneCandidate>,
) -> BTreeMap<ListKey<'a>, Vec<&'a PruneCandidate>> {
    let mut groups: BTreeMap<ListKey, Vec<&PruneCandidate>> = BTreeMap::new();
    for c in candidates {
        let part_of = c.live["metadata"]["labels"][PART_OF_LABEL].as_str();
        groups
            .entry((&c.resource, c.id.namespace.as_deref(), part_of))
            .or_default()
            .push(c);
    }
    groups
}

/// Waits until every object in `deleted` is gone (a foreground deletion ends when the garbage
/// collector has removed the object's dependents). Each kind and namespace is polled on its
/// own, with one metadata list of the ApplySet's members per round; returns the objects still
/// there at the deadline, or that could not be read.
async fn wait_all_gone(
    cluster: &Cluster,
    deleted: Vec<&PruneCandidate>,
    concurrency: usize,
) -> HashMap<ObjectRef, ApiFailure> {
    let groups = by_list(deleted);
    let deadline = Instant::now() + GONE_TIMEOUT;
    stream::iter(groups)
        .map(|((resource, namespace, part_of), mut waiting)| async move {
            let mut delay = Duration::from_millis(100);
            loop {
                let present = match part_of {
                    Some(id) if waiting.len() >= LIST_FROM => cluster
                        .uids_labelled(resource, namespace, &format!("{PART_OF_LABEL}={id}"))
                        .await
                        .map(|uids| {
                            waiting.retain(|c| uid(c).is_none_or(|u| uids.contains(u)));
                        }),
                    _ => still_there(cluster, &mut waiting).await,
                };
                if let Err(failure) = present {
                    return failed(&waiting, |_| failure.clone());
                }
                if waiting.is_empty() {
                    return Vec::new();
                }
                if Instant::now() >= deadline || crate::cancel::requested() {
                    return failed(&waiting, |c| ApiFailure::not_gone(&c.id, GONE_TIMEOUT));
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        })
        .buffer_unordered(concurrency)
        .flat_map(stream::iter)
        .collect()
        .await
}

/// Of `batch`, the candidates that still carry the app's label with the uid they were listed
/// with (one metadata list per kind and namespace); the others moved to another app or were
/// created again since the plan, and go to `skipped`.
async fn still_members<'a>(
    cluster: &Cluster,
    batch: Vec<&'a PruneCandidate>,
    concurrency: usize,
    skipped: &mut Vec<Skipped>,
) -> Vec<&'a PruneCandidate> {
    let groups = by_list(batch);
    let checked: Vec<(Vec<&PruneCandidate>, Vec<&PruneCandidate>)> = stream::iter(groups)
        .map(|((resource, namespace, part_of), members)| async move {
            let Some(id) = part_of else {
                return (members, Vec::new());
            };
            let selector = format!("{PART_OF_LABEL}={id}");
            match cluster.uids_labelled(resource, namespace, &selector).await {
                Ok(uids) => members
                    .into_iter()
                    .partition(|c| uid(c).is_none_or(|u| uids.contains(u))),
                // Not knowing is no reason to skip: the uid precondition still holds.
                Err(_) => (members, Vec::new()),
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut fresh = Vec::new();
    for (members, changed) in checked {
        fresh.extend(members);
        skipped.extend(changed.into_iter().map(|c| {
            Skipped {
                id: c.id.clone(),
                reason:
                    "it no longer carries the app's label (another app took it over), or it is gone"
                        .into(),
            }
        }));
    }
    fresh.sort_by(|a, b| a.id.cmp(&b.id));
    fresh
}

fn uid(c: &PruneCandidate) -> Option<&str> {
    c.live["metadata"]["uid"].as_str()
}

/// Keeps in `waiting` the objects that still exist (a new object of the same name is not the
/// one deleted).
async fn still_there(
    cluster: &Cluster,
    waiting: &mut Vec<&PruneCandidate>,
) -> Result<(), ApiFailure> {
    let mut present = Vec::with_capacity(waiting.len());
    for c in waiting.iter() {
        if let Some(live) = cluster.get(&c.resource, &c.id).await?
            && uid(c).is_none_or(|u| live["metadata"]["uid"].as_str() == Some(u))
        {
            present.push(*c);
        }
    }
    *waiting = present;
    Ok(())
}

fn failed(
    waiting: &[&PruneCandidate],
    failure: impl Fn(&PruneCandidate) -> ApiFailure,
) -> Vec<(ObjectRef, ApiFailure)> {
    waiting.iter().map(|c| (c.id.clone(), failure(c))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{member, rendered, resource};
    use serde_json::json;

    #[test]
    fn prune_steps_go_from_contents_to_containers() {
        let ns = resource("", "Namespace", false);
        let crd = resource("apiextensions.k8s.io", "CustomResourceDefinition", false);
        let role = resource("rbac.authorization.k8s.io", "ClusterRole", false);
        let cm = resource("", "ConfigMap", true);
        let widget = resource("example.com", "Widget", true);
        let plan = Plan {
            entries: vec![
                member(&ns, "old-ns", json!({}), Action::Prune),
                member(&crd, "widgets.example.com", json!({}), Action::Prune),
                member(&role, "old-role", json!({}), Action::Prune),
                member(&widget, "w", json!({}), Action::Prune),
                member(
                    &cm,
                    "kept",
                    json!({"kpush.dev/prune": "false"}),
                    Action::Keep,
                ),
                member(&cm, "old-cm", json!({}), Action::Prune),
                rendered(&cm, "app", json!({}), Action::Unchanged),
            ],
        };
        let names: Vec<Vec<&str>> = steps(&plan)
            .iter()
            .map(|batch| batch.iter().map(|c| c.id.name.as_str()).collect())
            .collect();
        assert_eq!(
            names,
            [
                vec!["w", "old-cm"],
                vec!["old-role"],
                vec!["widgets.example.com"],
                vec!["old-ns"],
            ]
        );
        assert!(steps(&Plan::default()).is_empty());
    }
}

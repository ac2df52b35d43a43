//! The "apply" stage: writes the plan's creates and updates with server-side apply, in stages
//! (namespaces and CRDs, then cluster-scoped objects, then namespaced ones), each stage
//! concurrent.
//! A failed stage stops the run before the next one starts.

use futures::{StreamExt, stream};
use serde::Serialize;

use crate::cluster::{ApiFailure, ApplyOptions, Cluster, Propagation};
use crate::object::ObjectRef;
use crate::plan::{Action, Plan, Target};

/// What happened to one object.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: ObjectRef,
    /// The plan's action: `create` or `update`.
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiFailure>,
    /// When the server recorded the write (RFC 3339, the server's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_at: Option<String>,
}

/// Every write attempted, and how many planned writes were not attempted after a failure.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    pub outcomes: Vec<Outcome>,
    pub not_attempted: usize,
}

impl Applied {
    pub fn failed(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.error.is_some())
    }

    /// The server's time of the first write: pods created before it belong to an earlier
    /// rollout.
    pub fn started(&self) -> Option<jiff::Timestamp> {
        self.outcomes
            .iter()
            .filter_map(|o| o.written_at.as_deref()?.parse().ok())
            .min()
    }
}

/// How long a replaced object may take to go before it is created again.
const REPLACE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// `Replace=true`: an immutable field changed, so the object is deleted (with its dependents,
/// in the foreground) and created again.
async fn replace_object(
    cluster: &Cluster,
    target: &Target,
    options: ApplyOptions,
) -> Result<serde_json::Value, ApiFailure> {
    cluster
        .delete(&target.resource, &target.id, Propagation::Foreground, false)
        .await?;
    cluster
        .wait_gone(&target.resource, &target.id, REPLACE_TIMEOUT)
        .await?;
    cluster
        .apply(&target.resource, &target.id, &target.object, options)
        .await
}

/// The time of kpush's own apply entry in the object's managed fields.
fn write_time(object: &serde_json::Value) -> Option<String> {
    object["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .filter(|f| f["manager"] == crate::cluster::FIELD_MANAGER && f["operation"] == "Apply")
        .filter_map(|f| f["time"].as_str())
        .max()
        .map(str::to_string)
}

/// The order writes go in; later stages may depend on earlier ones existing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// What every other object lives in.
    Namespaces,
    /// What custom resources are kinds of.
    Crds,
    ClusterScoped,
    Namespaced,
}

pub fn stage_of(target: &Target) -> Stage {
    if is_namespace(target) {
        Stage::Namespaces
    } else if is_crd(target) {
        Stage::Crds
    } else if target.resource.namespaced {
        Stage::Namespaced
    } else {
        Stage::ClusterScoped
    }
}

pub fn is_namespace(target: &Target) -> bool {
    target.resource.group.is_empty() && target.resource.kind == "Namespace"
}

pub fn is_crd(target: &Target) -> bool {
    target.resource.group == "apiextensions.k8s.io"
        && target.resource.kind == "CustomResourceDefinition"
}

/// Applies the plan's changes among `stages`, in stage order.
pub async fn apply(
    cluster: &Cluster,
    targets: &[Target],
    plan: &Plan,
    stages: &[Stage],
    wave: Option<i64>,
    concurrency: usize,
    options: ApplyOptions,
) -> Applied {
    let mut applied = Applied::default();
    for (i, stage) in stages.iter().enumerate() {
        let work: Vec<(&Target, Action, bool)> = targets
            .iter()
            .zip(&plan.entries)
            .filter(|(t, e)| {
                stage_of(t) == *stage
                    && wave.is_none_or(|w| wave_of(t) == w)
                    && matches!(e.action, Action::Create | Action::Update)
            })
            .map(|(t, e)| (t, e.action, e.replace))
            .collect();
        let total = work.len();
        // After the first failure no new write starts: the server may be gone, and the rest
        // would only fail slowly or leave more of a half-applied state.
        let failed = std::sync::atomic::AtomicBool::new(false);
        let failed = &failed;
        let mut outcomes: Vec<(usize, Outcome)> = stream::iter(work.into_iter().enumerate())
            .map(|(i, (target, action, replace))| async move {
                if crate::cancel::requested() || failed.load(std::sync::atomic::Ordering::SeqCst) {
                    return None;
                }
                let options = ApplyOptions {
                    force: options.force || target.force,
                    ..options
                };
                let result = match replace {
                    true => replace_object(cluster, target, options).await,
                    false => {
                        cluster
                            .apply(&target.resource, &target.id, &target.object, options)
                            .await
                    }
                };
                let written_at = result.as_ref().ok().and_then(write_time);
                if result.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                Some((
                    i,
                    Outcome {
                        id: target.id.clone(),
                        action,
                        error: result.err(),
                        written_at,
                    },
                ))
            })
            // Unordered: one slow answer must not hold the other slots idle.
            .buffer_unordered(concurrency)
            .filter_map(|o| async move { o })
            .collect()
            .await;
        outcomes.sort_by_key(|(i, _)| *i);
        let outcomes: Vec<Outcome> = outcomes.into_iter().map(|(_, o)| o).collect();
        applied.not_attempted += total - outcomes.len();
        applied.outcomes.extend(outcomes);
        if crate::cancel::requested() {
            applied.not_attempted += remaining(targets, plan, &stages[i + 1..], wave);
            break;
        }
        if applied.failed().next().is_some() {
            applied.not_attempted += remaining(targets, plan, &stages[i + 1..], wave);
            break;
        }
    }
    applied
}

fn remaining(targets: &[Target], plan: &Plan, stages: &[Stage], wave: Option<i64>) -> usize {
    targets
        .iter()
        .zip(&plan.entries)
        .filter(|(t, e)| {
            stages.contains(&stage_of(t))
                && wave.is_none_or(|w| wave_of(t) == w)
                && matches!(e.action, Action::Create | Action::Update)
        })
        .count()
}

const WAVE_ANNOTATIONS: [&str; 2] = ["kpush.dev/wave", "argocd.argoproj.io/sync-wave"];

/// The object's wave (`kpush.dev/wave`, or Argo CD's `argocd.argoproj.io/sync-wave`); 0 when
/// unset. Waves apply in ascending order.
pub fn wave_of(target: &Target) -> i64 {
    WAVE_ANNOTATIONS
        .iter()
        .find_map(|a| {
            target.object["metadata"]["annotations"][*a]
                .as_str()?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

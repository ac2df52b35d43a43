//! Staged apply: writes the plan's creates and updates with server-side apply, in stages
//! (namespaces and CRDs, then cluster-scoped objects, then namespaced ones), each stage
//! concurrent. A failed stage stops the run before the next one starts.

use futures::{StreamExt, stream};
use serde::Serialize;

use crate::cluster::{ApiFailure, ApplyOptions, Cluster};
use crate::object::{ObjectRef, Stage};
use crate::plan::{Action, Entry, Plan, Target};

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
        .delete_and_wait(&target.resource, &target.id, None, REPLACE_TIMEOUT)
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

/// Applies the plan's changes among `stages`, in stage order.
pub async fn apply(
    cluster: &Cluster,
    plan: &Plan,
    stages: &[Stage],
    wave: Option<i64>,
    concurrency: usize,
    options: ApplyOptions,
) -> Applied {
    let mut applied = Applied::default();
    let options = &options;
    for (i, stage) in stages.iter().enumerate() {
        let work: Vec<(&Target, &Entry)> = plan
            .targets()
            .filter(|(e, t)| selected(e, t, std::slice::from_ref(stage), wave))
            .map(|(e, t)| (t, e))
            .collect();
        let total = work.len();
        // After the first failure no new write starts: the server may be gone, and the rest
        // would only fail slowly or leave more of a half-applied state.
        let failed = std::sync::atomic::AtomicBool::new(false);
        let failed = &failed;
        let mut outcomes: Vec<(usize, Outcome)> = stream::iter(work.into_iter().enumerate())
            .map(|(i, (target, entry))| async move {
                if crate::cancel::requested() || failed.load(std::sync::atomic::Ordering::SeqCst) {
                    return None;
                }
                let action = entry.action;
                let options = target.apply_options(options);
                let dry_run = options.dry_run;
                let mut result = match entry.replace {
                    true => replace_object(cluster, target, options).await,
                    false => {
                        cluster
                            .apply(&target.resource, &target.id, &target.object, options)
                            .await
                    }
                };
                // Taken over from Argo CD: its tracking goes, or the next run would find a
                // foreign owner again.
                if result.is_ok() && !entry.untrack.is_empty() && !dry_run {
                    let removed = cluster
                        .remove_metadata(&target.resource, &target.id, &entry.untrack)
                        .await;
                    if let Err(failure) = removed {
                        result = Err(failure);
                    }
                }
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
        if crate::cancel::requested() || applied.failed().next().is_some() {
            applied.not_attempted += remaining(plan, &stages[i + 1..], wave);
            break;
        }
    }
    applied
}

/// The entry writes its object in one of `stages` (and in `wave`, when given).
fn selected(entry: &Entry, target: &Target, stages: &[Stage], wave: Option<i64>) -> bool {
    stages.contains(&target.policy.stage)
        && wave.is_none_or(|w| target.policy.wave == w)
        && entry.writes()
}

fn remaining(plan: &Plan, stages: &[Stage], wave: Option<i64>) -> usize {
    plan.targets()
        .filter(|(e, t)| selected(e, t, stages, wave))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{member, rendered, resource};
    use serde_json::json;

    #[test]
    fn each_stage_and_wave_writes_only_its_changes() {
        let ns = resource("", "Namespace", false);
        let crd = resource("apiextensions.k8s.io", "CustomResourceDefinition", false);
        let role = resource("rbac.authorization.k8s.io", "ClusterRole", false);
        let cm = resource("", "ConfigMap", true);
        let late = json!({"kpush.dev/wave": "1"});
        let plan = Plan {
            entries: vec![
                rendered(&cm, "app", json!({}), Action::Create),
                rendered(&ns, "shop", json!({}), Action::Create),
                rendered(&crd, "widgets.example.com", json!({}), Action::Update),
                rendered(&role, "reader", json!({}), Action::Unchanged),
                rendered(&cm, "late", late, Action::Update),
                member(&cm, "old", json!({}), Action::Prune),
            ],
        };
        let written = |stages: &[Stage], wave: Option<i64>| -> Vec<String> {
            plan.targets()
                .filter(|(e, t)| selected(e, t, stages, wave))
                .map(|(_, t)| t.id.name.clone())
                .collect()
        };
        assert_eq!(written(&[Stage::Namespaces], None), ["shop"]);
        assert_eq!(written(&[Stage::Crds], None), ["widgets.example.com"]);
        // An unchanged object is not written; a prune is not a write.
        let rest = [Stage::ClusterScoped, Stage::Namespaced];
        assert_eq!(written(&rest, Some(0)), ["app"]);
        assert_eq!(written(&rest, Some(1)), ["late"]);
        assert_eq!(remaining(&plan, &rest, None), 2);
    }
}

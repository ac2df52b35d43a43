//! Argo CD's selfHeal: fields people changed by hand are taken back; conflicts with
//! controllers are still reported.

use std::collections::BTreeSet;

use crate::cluster::Cluster;
use crate::plan::{DryRun, Observation, Target};

use crate::deploy::RunOptions;
use crate::deploy::observe::observe;

/// Field managers that are people's tools: what selfHeal takes back. Controllers (an HPA
/// owning `replicas`) are not on the list, so conflicts with them are still reported.
const HUMAN_MANAGERS: &[&str] = &["kubectl", "k9s", "Lens", "kubernetes-dashboard", "OpenLens"];

fn is_human(manager: &str) -> bool {
    manager.starts_with("kubectl-") || HUMAN_MANAGERS.contains(&manager)
}

/// The managers a conflict message names: `conflict with "kubectl-edit" using apps/v1: ...`.
fn conflicting_managers(message: &str) -> Vec<&str> {
    message
        .split("with \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// selfHeal: objects in conflict only with people's edits are dry-run again taking the fields
/// back, and will be applied that way.
pub(in crate::deploy) async fn heal(
    cluster: &Cluster,
    targets: &mut [Target],
    observations: &mut [Observation],
    options: &RunOptions,
) {
    let healable: Vec<usize> = observations
        .iter()
        .enumerate()
        .filter(|(_, o)| match &o.dry_run {
            DryRun::Failed(f) if f.code == 409 => {
                let managers = conflicting_managers(&f.message);
                !managers.is_empty() && managers.iter().all(|m| is_human(m))
            }
            _ => false,
        })
        .map(|(i, _)| i)
        .collect();
    if healable.is_empty() {
        return;
    }
    for &i in &healable {
        targets[i].force = true;
        tracing::info!(
            "selfHeal: taking back fields people changed on {}",
            targets[i].id
        );
    }
    let subset: Vec<Target> = healable.iter().map(|&i| targets[i].clone()).collect();
    let again = observe(cluster, &subset, &BTreeSet::new(), options).await;
    for (&i, observation) in healable.iter().zip(again) {
        observations[i] = observation;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_name_their_managers() {
        let message = "Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using apps/v1:\n- .spec.replicas\nconflicts with \"hpa-controller\" using apps/v1:\n- .spec.replicas";
        assert_eq!(
            conflicting_managers(message),
            ["kubectl-edit", "hpa-controller"]
        );
        assert!(is_human("kubectl-edit") && is_human("kubectl") && !is_human("hpa-controller"));
    }
}

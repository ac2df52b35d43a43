//! Objects whose namespace or CustomResourceDefinition did not exist when the plan was built
//! could not be dry-run then; once those exist, they are observed and planned again.

use std::collections::BTreeSet;

use crate::cluster::Cluster;
use crate::error::Error;
use crate::plan::{Plan, Subject, Target};

use crate::deploy::RunOptions;
use crate::deploy::fields::dropped_check;
use crate::deploy::observe::observe;

/// The plan with every pending entry planned again from a fresh observation. Any error among
/// them stops the deploy: nothing else is written. Objects waiting for their kind wait on.
pub(in crate::deploy) async fn revalidate(
    cluster: &Cluster,
    plan: Plan,
    options: &RunOptions,
) -> Result<Plan, Error> {
    let positions = pending(&plan, |t| !t.awaits_kind);
    plan_again(cluster, plan, options, positions).await
}

/// How often the server is asked whether it serves an awaited kind yet.
const KIND_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// The objects of `wave` waiting for their kind (`SkipDryRunOnMissingResource`): once the
/// server serves it (waiting up to `timeout`, as a controller of an earlier wave installs it),
/// resolved, observed and planned like any other.
pub(in crate::deploy) async fn resolve_awaited(
    cluster: &Cluster,
    mut plan: Plan,
    options: &RunOptions,
    wave: i64,
    timeout: std::time::Duration,
    progress: &dyn crate::deploy::Progress,
) -> Result<Plan, Error> {
    let positions = pending(&plan, |t| t.awaits_kind && t.policy.wave == wave);
    if positions.is_empty() {
        return Ok(plan);
    }
    let wanted: BTreeSet<String> = positions
        .iter()
        .filter_map(|&i| plan.entries[i].target().map(|t| t.id.api_version()))
        .collect();
    let started = std::time::Instant::now();
    let mut told = false;
    loop {
        let discovery = cluster.discover(wanted.clone()).await?;
        let found: Vec<Option<crate::object::Resource>> = positions
            .iter()
            .map(|&i| {
                let t = plan.entries[i].target()?;
                match discovery.resolve(&t.id.api_version(), &t.id.kind) {
                    crate::cluster::Resolution::Found(r) => Some(r.clone()),
                    _ => None,
                }
            })
            .collect();
        if found.iter().all(Option::is_some) {
            for (&i, resource) in positions.iter().zip(found) {
                if let Subject::Target(target) = &mut plan.entries[i].subject {
                    settle_kind(target, resource.expect("checked above"));
                }
            }
            break;
        }
        let missing: Vec<String> = positions
            .iter()
            .zip(&found)
            .filter(|(_, r)| r.is_none())
            .filter_map(|(&i, _)| plan.entries[i].target().map(|t| t.id.to_string()))
            .collect();
        if started.elapsed() >= timeout {
            return Err(Error::Runtime(format!(
                "the server still does not serve the kind of {} after {}s (SkipDryRunOnMissingResource); earlier waves were written, nothing was pruned\nhint: check the controller that installs its CustomResourceDefinition",
                missing.join(", "),
                timeout.as_secs()
            )));
        }
        if !told {
            progress.note(&format!(
                "waiting up to {}s for the server to serve the kind of {} (SkipDryRunOnMissingResource)",
                timeout.as_secs(),
                missing.join(", ")
            ));
            told = true;
        }
        tokio::time::sleep(KIND_POLL).await;
    }
    plan_again(cluster, plan, options, positions)
        .await
        .map_err(|e| match e {
            Error::Revalidation(errors) => {
                let first = errors
                    .entries
                    .first()
                    .map(|e| {
                        let why = e.error.as_ref().map(ToString::to_string).unwrap_or_default();
                        format!("{}: {why}", e.id)
                    })
                    .unwrap_or_default();
                Error::Runtime(format!(
                    "{} object(s) failed validation once their kind was served ({first}); earlier waves were written, nothing was pruned",
                    errors.entries.len()
                ))
            }
            other => other,
        })
}

/// The served kind replaces the guess: a cluster-scoped one loses the namespace it was given.
fn settle_kind(target: &mut Target, resource: crate::object::Resource) {
    if !resource.namespaced {
        target.id.namespace = None;
        if let Some(metadata) = target.object["metadata"].as_object_mut() {
            metadata.remove("namespace");
        }
    }
    target.policy.stage =
        crate::object::Stage::of(&resource.group, &resource.kind, resource.namespaced);
    target.resource = resource;
    target.awaits_kind = false;
}

/// The entries at `positions` planned again from a fresh observation; an error among them
/// stops the deploy.
async fn plan_again(
    cluster: &Cluster,
    mut plan: Plan,
    options: &RunOptions,
    positions: Vec<usize>,
) -> Result<Plan, Error> {
    if positions.is_empty() {
        return Ok(plan);
    }
    let subset: Vec<Target> = positions
        .iter()
        .filter_map(|&i| match std::mem::take(&mut plan.entries[i].subject) {
            Subject::Target(target) => Some(Target {
                awaits_crd: None,
                ..*target
            }),
            _ => None,
        })
        .collect();
    let observations = observe(cluster, &subset, &BTreeSet::new(), options).await;
    let mut plan_options = options.plan.clone();
    if plan_options.validate {
        plan_options.dropped = dropped_check(cluster, &subset, &observations).await;
    }
    let again = Plan::build(subset, observations, &plan_options);
    for (i, entry) in positions.into_iter().zip(again.entries) {
        plan.entries[i] = entry;
    }
    if plan.error_class().is_some() {
        return Err(Error::Revalidation(Plan {
            entries: plan.errors().cloned().collect(),
        }));
    }
    Ok(plan)
}

/// The entries that could not be validated yet (rendered objects waiting for their
/// namespace, CRD or kind) whose target `which` selects.
fn pending(plan: &Plan, which: impl Fn(&Target) -> bool) -> Vec<usize> {
    plan.entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.pending.is_some() && e.target().is_some_and(&which))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::plan::testing::{member, rendered, resource};
    use serde_json::json;

    #[test]
    fn only_rendered_entries_that_waited_are_validated_again() {
        let widget = resource("example.com", "Widget", true);
        let waited = |name: &str| {
            let mut entry = rendered(&widget, name, json!({}), Action::Create);
            entry.pending = Some("validated after namespace `shop` is created".into());
            entry
        };
        let mut kept = member(&widget, "kept", json!({}), Action::Keep);
        kept.pending = Some("not a rendered object".into());
        let plan = Plan {
            entries: vec![
                rendered(&widget, "ready", json!({}), Action::Create),
                waited("waited"),
                kept,
                waited("also-waited"),
            ],
        };
        assert_eq!(pending(&plan, |_| true), [1, 3]);
        assert_eq!(pending(&plan, |t| t.id.name == "waited"), [1]);
        assert!(pending(&Plan::default(), |_| true).is_empty());
    }

    #[test]
    fn a_kind_served_cluster_scoped_loses_the_namespace_it_was_guessed_with() {
        let guess = resource("example.com", "Gadget", true);
        let entry = rendered(&guess, "g", json!({}), Action::Create);
        let mut target = entry.target().unwrap().clone();
        target.object["metadata"]["namespace"] = json!("shop");
        target.awaits_kind = true;
        settle_kind(&mut target, resource("example.com", "Gadget", false));
        assert!(!target.awaits_kind && !target.resource.namespaced);
        assert_eq!(target.id.namespace, None);
        assert!(target.object["metadata"].get("namespace").is_none());
        assert_eq!(target.policy.stage, crate::object::Stage::ClusterScoped);
    }
}

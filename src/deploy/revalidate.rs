//! Objects whose namespace or CustomResourceDefinition did not exist when the plan was built
//! could not be dry-run then; once those exist, they are observed and planned again.

use std::collections::BTreeSet;

use crate::cluster::Cluster;
use crate::error::Error;
use crate::plan::{Plan, Subject, Target};

use super::RunOptions;
use super::fields::dropped_check;
use super::observe::observe;

/// The plan with every pending entry planned again from a fresh observation. Any error among
/// them stops the deploy: nothing else is written.
pub(super) async fn revalidate(
    cluster: &Cluster,
    mut plan: Plan,
    options: &RunOptions,
) -> Result<Plan, Error> {
    let positions = pending(&plan);
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

/// The entries that could not be validated yet: rendered objects waiting for their namespace
/// or CRD.
fn pending(plan: &Plan) -> Vec<usize> {
    plan.entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.pending.is_some() && e.target().is_some())
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
        assert_eq!(pending(&plan), [1, 3]);
        assert!(pending(&Plan::default()).is_empty());
    }
}

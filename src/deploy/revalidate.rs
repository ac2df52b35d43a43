//! Objects whose namespace or CustomResourceDefinition did not exist when the plan was built
//! could not be dry-run then; once those exist, they are observed and planned again.

use std::collections::BTreeSet;

use crate::cluster::Cluster;
use crate::error::Error;
use crate::plan::{Plan, Subject, Target};

use super::RunOptions;
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
    let again = Plan::build(subset, observations, &options.plan);
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
    use crate::object::{ObjectRef, Policy, Resource};
    use crate::plan::{Action, Entry};

    fn entry(name: &str, pending: bool, rendered: bool) -> Entry {
        let id = ObjectRef {
            group: "example.com".into(),
            version: "v1".into(),
            kind: "Widget".into(),
            namespace: Some("shop".into()),
            name: name.into(),
        };
        let mut entry = Entry::new(id.clone(), None, Action::Create);
        entry.pending = pending.then(|| "validated after namespace `shop` is created".into());
        if rendered {
            let resource = Resource {
                group: id.group.clone(),
                version: id.version.clone(),
                kind: id.kind.clone(),
                plural: "widgets".into(),
                namespaced: true,
            };
            let object = serde_json::json!({"metadata": {"name": name}});
            entry.subject = Subject::Target(Box::new(Target {
                policy: Policy::of(&resource, &object),
                id,
                origin: crate::object::Origin {
                    file: "w.yaml".into(),
                    line: 1,
                },
                resource,
                object,
                awaits_crd: Some("widgets.example.com".into()),
                force: false,
            }));
        }
        entry
    }

    #[test]
    fn only_rendered_entries_that_waited_are_validated_again() {
        let plan = Plan {
            entries: vec![
                entry("ready", false, true),
                entry("waited", true, true),
                entry("pruned", false, false),
                entry("also-waited", true, true),
            ],
        };
        assert_eq!(pending(&plan), [1, 3]);
        assert!(pending(&Plan::default()).is_empty());
    }
}

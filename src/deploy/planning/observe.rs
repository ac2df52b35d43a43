//! What the server says about each target before anything is written: the live object, read
//! in lists where many share a kind, and the dry-run result unless the live object is
//! settled.

use std::collections::{BTreeSet, HashMap};

use futures::{StreamExt, stream};

use crate::cluster::{self, ApplyOptions, Cluster};
use crate::plan::{self, DryRun, Observation, Target};

use crate::deploy::RunOptions;

/// Plural, group and namespace: what one list request covers.
type ListKey = (String, String, Option<String>);
type Listed = HashMap<ListKey, HashMap<String, serde_json::Value>>;

/// The live objects of every kind and namespace with at least [`cluster::LIST_FROM`] targets, by name.
/// A list that fails (no `list` permission) leaves those targets to be read one by one.
async fn prefetch(
    cluster: &Cluster,
    targets: &[Target],
    concurrency: usize,
    keep: &dyn Fn(&str) -> bool,
) -> Listed {
    let mut groups: HashMap<ListKey, (&Target, BTreeSet<&str>)> = HashMap::new();
    for t in targets
        .iter()
        .filter(|t| t.awaits_crd.is_none() && !t.awaits_kind)
    {
        let key = (
            t.resource.plural.clone(),
            t.resource.group.clone(),
            t.id.namespace.clone(),
        );
        groups
            .entry(key)
            .or_insert((t, BTreeSet::new()))
            .1
            .insert(&t.id.name);
    }
    let lists = groups
        .into_iter()
        .filter(|(_, (_, names))| names.len() >= cluster::LIST_FROM)
        .map(|(key, (t, names))| async move {
            let items = cluster
                .list_labelled(&t.resource, t.id.namespace.as_deref(), "")
                .await
                .ok()?;
            let api_version = t.id.api_version();
            // List items come without `apiVersion` and `kind`; a read has them.
            let by_name = items
                .into_iter()
                // Only what the plan compares: not other objects, not managed fields.
                .filter(|o| {
                    o["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| names.contains(n))
                })
                .map(|o| keeping_managers(o, keep))
                .filter_map(|mut o| {
                    let map = o.as_object_mut()?;
                    map.entry("apiVersion")
                        .or_insert_with(|| api_version.clone().into());
                    map.entry("kind")
                        .or_insert_with(|| t.resource.kind.clone().into());
                    Some((o["metadata"]["name"].as_str()?.to_string(), o))
                })
                .collect();
            Some((key, by_name))
        });
    stream::iter(lists)
        .buffer_unordered(concurrency)
        .filter_map(|x| async move { x })
        .collect()
        .await
}

/// The plan ignores managed fields (conflicts come from the server's answers); dropping them
/// early keeps a large plan's memory down.
pub(in crate::deploy) fn without_managed_fields(object: serde_json::Value) -> serde_json::Value {
    keeping_managers(object, &|_| false)
}

/// Only the managed fields of the managers the plan asks about: Argo CD's (whose tracking
/// label it recognises) and those `ignoreDifferences` names.
fn keeping_managers(
    mut object: serde_json::Value,
    keep: &dyn Fn(&str) -> bool,
) -> serde_json::Value {
    if let Some(metadata) = object
        .get_mut("metadata")
        .and_then(serde_json::Value::as_object_mut)
    {
        let entries: Vec<serde_json::Value> = metadata
            .remove("managedFields")
            .and_then(|m| match m {
                serde_json::Value::Array(entries) => Some(entries),
                _ => None,
            })
            .unwrap_or_default();
        // Who wrote the object last, without the fields: a saved plan that went stale names
        // it.
        let last = entries
            .iter()
            .max_by(|a, b| a["time"].as_str().cmp(&b["time"].as_str()))
            .filter(|e| !e["manager"].as_str().is_some_and(keep))
            .map(|e| serde_json::json!({"manager": e["manager"], "time": e["time"]}));
        let mut kept: Vec<serde_json::Value> = entries
            .into_iter()
            .filter(|e| e["manager"].as_str().is_some_and(keep))
            .collect();
        kept.extend(last);
        if !kept.is_empty() {
            metadata.insert("managedFields".into(), kept.into());
        }
    }
    object
}

/// The managers whose managed fields the plan reads.
fn asked_about(options: &RunOptions) -> impl Fn(&str) -> bool + '_ {
    move |manager: &str| {
        manager.starts_with("argocd")
            || options
                .plan
                .ignore
                .iter()
                .any(|r| r.managers.iter().any(|m| m == manager))
    }
}

/// For each target, in target order: the live object, and the dry-run result unless the live
/// object is settled. Targets are observed concurrently.
pub async fn observe(
    cluster: &Cluster,
    targets: &[Target],
    pending_namespaces: &BTreeSet<String>,
    options: &RunOptions,
) -> Vec<Observation> {
    let dry_run = ApplyOptions {
        dry_run: true,
        strict: options.plan.validate,
        force: options.force_conflicts,
        resource_version: None,
    };
    let keep = asked_about(options);
    let listed = &prefetch(cluster, targets, options.concurrency, &keep).await;
    let keep = &keep;
    let dry_run = &dry_run;
    let mut observed: Vec<(usize, Observation)> = stream::iter(targets.iter().enumerate())
        .map(|(i, target)| async move {
            let observation = async {
                if target.awaits_kind {
                    return Observation {
                        live: None,
                        dry_run: DryRun::Pending(format!(
                            "applied once the server serves `{}` kind `{}` (SkipDryRunOnMissingResource)",
                            target.id.api_version(),
                            target.id.kind
                        )),
                    };
                }
                if let Some(crd) = &target.awaits_crd {
                    return Observation {
                        live: None,
                        dry_run: DryRun::Pending(format!(
                            "validated after CustomResourceDefinition `{crd}` is established"
                        )),
                    };
                }
                if let Some(ns) = target
                    .id
                    .namespace
                    .as_ref()
                    .filter(|ns| pending_namespaces.contains(*ns))
                {
                    return Observation {
                        live: None,
                        dry_run: DryRun::Pending(format!(
                            "validated after namespace `{ns}` is created"
                        )),
                    };
                }
                let dry_run = target.apply_options(dry_run);
                let key = (
                    target.resource.plural.clone(),
                    target.resource.group.clone(),
                    target.id.namespace.clone(),
                );
                let known = listed
                    .get(&key)
                    .map(|objects| objects.get(&target.id.name).cloned());
                let live = match known {
                    Some(found) => found,
                    None => match cluster.get(&target.resource, &target.id).await {
                        Ok(live) => live.map(|o| keeping_managers(o, keep)),
                        Err(failure) => {
                            return Observation {
                                live: None,
                                dry_run: DryRun::Failed(failure),
                            };
                        }
                    },
                };
                if let Some(found) = &live
                    && !options.verify_unchanged
                    && plan::settled(&target.object, found)
                {
                    return Observation {
                        live,
                        dry_run: DryRun::Settled,
                    };
                }
                let dry_run = match cluster
                    .apply(&target.resource, &target.id, &target.object, dry_run)
                    .await
                {
                    Ok(applied) => DryRun::Done(without_managed_fields(applied)),
                    Err(failure) => DryRun::Failed(failure),
                };
                Observation { live, dry_run }
            }
            .await;
            (i, observation)
        })
        // Unordered: one slow answer must not hold the other slots idle.
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    observed.sort_by_key(|(i, _)| *i);
    observed.into_iter().map(|(_, o)| o).collect()
}

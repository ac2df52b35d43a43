//! The steps `diff` and `apply` share: read and render the source, connect, resolve kinds,
//! check namespaces, and build the plan from dry runs.

use std::collections::{BTreeSet, HashMap};

use futures::{StreamExt, stream};

use crate::cli::{GlobalArgs, TargetArgs};
use crate::cluster::{self, ApiFailure, ApplyOptions, Cluster, ConnectOptions, Discovery};
use crate::error::Error;
use crate::inventory::PART_OF_LABEL;
use crate::object::{ObjectRef, Origin, Resource};
use crate::plan::{self, DryRun, Observation, Plan, PlanOptions, Target};
use crate::render::{self, Problem, RenderError, Rendered};
use crate::settings::AppRun;
use crate::source::{CommitInfo, Snapshot};

use super::inventory::{self, Inventory};

/// Renders one app at its revision; no cluster involved. Also returns the commit rendered.
pub fn render_at(
    snapshot: &Snapshot,
    app: &AppRun,
) -> Result<(Rendered, Option<CommitInfo>), Error> {
    let opened;
    let at = if snapshot.revision_name() == app.revision {
        snapshot
    } else {
        opened = snapshot.at(&app.revision)?;
        &opened
    };
    let rendered = render::render_app(at, &app.render)?;
    tracing::info!(app = %app.name, objects = rendered.manifests.len(), "rendered");
    Ok((rendered, at.commit.clone()))
}

/// Renders one app at its revision; no cluster involved.
pub fn render(snapshot: &Snapshot, app: &AppRun) -> Result<Rendered, Error> {
    render_at(snapshot, app).map(|(rendered, _)| rendered)
}

/// Renders every app before any cluster call, so broken input in a later app stops the run
/// (exit 3) before the first app's dry runs.
pub fn render_all(
    snapshot: &Snapshot,
    apps: &[AppRun],
) -> Result<Vec<(Rendered, Option<CommitInfo>)>, Error> {
    apps.iter().map(|app| render_at(snapshot, app)).collect()
}

/// Everything known before the first write.
pub struct Prepared {
    pub cluster: Cluster,
    pub targets: Vec<Target>,
    /// One entry per target, in target order, then the prune and keep entries.
    pub plan: Plan,
    /// Destination namespaces that `--create-namespace` will create.
    pub namespaces_to_create: Vec<String>,
    pub namespace_resource: Resource,
    pub inventory: Inventory,
    pub options: RunOptions,
    /// The commit rendered; `None` for the working tree.
    pub commit: Option<CommitInfo>,
}

/// Settings the later steps of a run need again.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub concurrency: usize,
    pub plan: PlanOptions,
    pub force_conflicts: bool,
    /// Dry-run objects the live state shows settled too.
    pub verify_unchanged: bool,
}

/// The cluster an app deploys to: `--context`, the definition's context, or the context of
/// its destination server.
pub async fn connect(global: &GlobalArgs, run: &AppRun) -> Result<Cluster, Error> {
    let context = match (&run.context, &run.server) {
        (Some(context), _) => Some(context.clone()),
        (None, Some(server)) => cluster::context_for_server(global.kubeconfig.as_deref(), server)?,
        (None, None) => None,
    };
    Ok(cluster::connect(&ConnectOptions {
        kubeconfig: global.kubeconfig.as_deref(),
        context: context.as_deref(),
        insecure_skip_tls_verify: global.insecure_skip_tls_verify,
    })
    .await?)
}

/// Reads the app's inventory and builds its plan from its render (`render_all`); writes
/// nothing.
pub async fn prepare(
    global: &GlobalArgs,
    args: &TargetArgs,
    run: &AppRun,
    (rendered, commit): (Rendered, Option<CommitInfo>),
) -> Result<Prepared, Error> {
    let app = run.name.clone();
    let cluster = connect(global, run).await?;
    let mut api_versions: BTreeSet<String> = rendered
        .manifests
        .iter()
        .map(|m| m.id.api_version())
        .collect();
    api_versions.insert("v1".into());
    let mut discovery = cluster.discover(api_versions).await?;
    let namespace_resource = namespace_resource(&discovery)?;
    let destination = run
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let mut targets = plan::targets(&rendered, &discovery, &destination)
        .map_err(|problems| RenderError { problems })?;
    let refused = scope_guards(run, &targets, &destination);
    if !refused.is_empty() {
        return Err(RenderError { problems: refused }.into());
    }

    let concurrency = usize::from(args.concurrency);
    let mut used: BTreeSet<&str> = targets
        .iter()
        .filter_map(|t| t.id.namespace.as_deref())
        .collect();
    used.insert(&destination);
    let missing = missing_namespaces(&cluster, used, &namespace_resource, concurrency).await?;
    let declared: BTreeSet<&str> = targets
        .iter()
        .filter(|t| t.resource == namespace_resource)
        .map(|t| t.id.name.as_str())
        .collect();
    let mut problems = Vec::new();
    let mut namespaces_to_create = Vec::new();
    for ns in &missing {
        if declared.contains(ns.as_str()) {
            continue;
        }
        if run.create_namespace {
            namespaces_to_create.push(ns.clone());
            continue;
        }
        let needed_by = targets
            .iter()
            .find(|t| t.id.namespace.as_ref() == Some(ns))
            .map(|t| (t.origin.clone(), t.id.to_string()));
        let (origin, needed_by) = needed_by.unwrap_or_else(|| {
            (
                Origin {
                    file: run.render.path.clone(),
                    line: 0,
                },
                "the inventory".to_string(),
            )
        });
        problems.push(Problem {
            origin,
            column: None,
            message: format!(
                "namespace `{ns}` does not exist (needed by {needed_by})\nhint: pass `--create-namespace`, or add a Namespace manifest"
            ),
        });
    }
    if !problems.is_empty() {
        return Err(RenderError { problems }.into());
    }

    let destination_exists = !missing.contains(&destination);
    let inventory = inventory::read(
        &cluster,
        &mut discovery,
        &app,
        &destination,
        destination_exists,
        &targets,
        concurrency,
    )
    .await?;
    if rendered.manifests.is_empty()
        && run.prune
        && !run.allow_empty
        && !inventory.candidates.is_empty()
    {
        return Err(Error::Invalid(format!(
            "the render produced no objects: pruning would delete all {} objects of app `{app}`\nhint: check PATH and --rev, or pass `--allow-empty` if removing everything is intended",
            inventory.candidates.len()
        )));
    }
    for target in &mut targets {
        join_applyset(&mut target.object, &inventory.id);
        plan::stamp(&mut target.object);
        target.replace |= run.replace;
    }

    let options = RunOptions {
        concurrency,
        plan: PlanOptions {
            validate: run.validate,
            applyset_id: Some(inventory.id.clone()),
            adopt: args.adopt,
            sensitive: run.sensitive_paths.clone(),
        },
        force_conflicts: args.force_conflicts,
        verify_unchanged: args.verify_unchanged,
    };
    let missing: BTreeSet<String> = missing.into_iter().collect();
    let mut observations = observe(&cluster, &targets, &missing, &options).await;
    if run.self_heal && !options.force_conflicts {
        heal(&cluster, &mut targets, &mut observations, &options).await;
    }
    let mut plan = Plan::build(&targets, observations, &options.plan);
    plan.entries.extend(plan::prune_entries(
        &inventory.candidates,
        run.prune,
        &run.sensitive_paths,
    ));
    Ok(Prepared {
        cluster,
        targets,
        plan,
        namespaces_to_create,
        namespace_resource,
        inventory,
        options,
        commit,
    })
}

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
async fn heal(
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

/// The app's limits on where its objects may go (`allowClusterScoped`,
/// `allowOtherNamespaces`), checked before any request that could write.
fn scope_guards(run: &AppRun, targets: &[plan::Target], destination: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    for t in targets {
        let message = if !t.resource.namespaced && !run.allow_cluster_scoped {
            format!(
                "{} is cluster-scoped, and app `{}` does not allow cluster-scoped objects (allowClusterScoped: false)\nhint: move it to an app that allows them",
                t.id, run.name
            )
        } else if !run.allow_other_namespaces
            && t.id
                .namespace
                .as_deref()
                .is_some_and(|ns| ns != destination)
        {
            format!(
                "{} is outside the destination namespace `{destination}`, and app `{}` does not allow other namespaces (allowOtherNamespaces: false)\nhint: drop `metadata.namespace` or set it to `{destination}`",
                t.id, run.name
            )
        } else {
            continue;
        };
        problems.push(Problem {
            origin: t.origin.clone(),
            column: None,
            message,
        });
    }
    problems
}

/// Labels an object as a member of the ApplySet.
fn join_applyset(object: &mut serde_json::Value, id: &str) {
    let metadata = &mut object["metadata"];
    if !metadata["labels"].is_object() {
        metadata["labels"] = serde_json::json!({});
    }
    metadata["labels"][PART_OF_LABEL] = serde_json::Value::String(id.to_string());
}

fn namespace_resource(discovery: &Discovery) -> Result<Resource, Error> {
    match discovery.resolve("v1", "Namespace") {
        cluster::Resolution::Found(r) => Ok(r.clone()),
        _ => Err(RenderError {
            problems: vec![Problem {
                origin: crate::object::Origin {
                    file: "<cluster>".into(),
                    line: 0,
                },
                column: None,
                message:
                    "the server does not serve `v1` Namespaces; is this a Kubernetes API server?"
                        .into(),
            }],
        }
        .into()),
    }
}

fn namespace_ref(name: &str) -> ObjectRef {
    ObjectRef {
        group: String::new(),
        version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: name.to_string(),
    }
}

/// Of the namespaces in `used`, those that do not exist yet.
async fn missing_namespaces(
    cluster: &Cluster,
    used: BTreeSet<&str>,
    namespace_resource: &Resource,
    concurrency: usize,
) -> Result<Vec<String>, Error> {
    let found: Vec<(String, Result<bool, ApiFailure>)> = stream::iter(used)
        .map(|ns| async move {
            let live = cluster.get(namespace_resource, &namespace_ref(ns)).await;
            (ns.to_string(), live.map(|o| o.is_some()))
        })
        .buffered(concurrency)
        .collect()
        .await;
    let mut missing = Vec::new();
    for (ns, exists) in found {
        match exists {
            Ok(true) => {}
            Ok(false) => missing.push(ns),
            // Not allowed to read namespaces is normal for namespace-scoped credentials:
            // the dry run will tell whether the namespace is usable.
            Err(f) if f.code == 403 => {}
            Err(f) => {
                return Err(cluster::ClusterError::Unreachable {
                    server: cluster.server.clone(),
                    message: f.to_string(),
                }
                .into());
            }
        }
    }
    Ok(missing)
}

/// Plural, group and namespace: what one list request covers.
type ListKey = (String, String, Option<String>);
type Listed = HashMap<ListKey, HashMap<String, serde_json::Value>>;

/// The live objects of every kind and namespace with at least [`cluster::LIST_FROM`] targets, by name.
/// A list that fails (no `list` permission) leaves those targets to be read one by one.
async fn prefetch(cluster: &Cluster, targets: &[Target], concurrency: usize) -> Listed {
    let mut groups: HashMap<ListKey, (&Target, BTreeSet<&str>)> = HashMap::new();
    for t in targets.iter().filter(|t| t.awaits_crd.is_none()) {
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
                .map(without_managed_fields)
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
fn without_managed_fields(mut object: serde_json::Value) -> serde_json::Value {
    if let Some(metadata) = object
        .get_mut("metadata")
        .and_then(serde_json::Value::as_object_mut)
    {
        metadata.remove("managedFields");
    }
    object
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
    };
    let listed = &prefetch(cluster, targets, options.concurrency).await;
    let mut observed: Vec<(usize, Observation)> = stream::iter(targets.iter().enumerate())
        .map(|(i, target)| async move {
            let observation = async {
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
                let dry_run = ApplyOptions {
                    force: dry_run.force || target.force,
                    ..dry_run
                };
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
                        Ok(live) => live.map(without_managed_fields),
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

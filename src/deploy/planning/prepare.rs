//! Everything known before the first write: kinds resolved, namespaces checked, the inventory
//! read, every object observed, and the plan built from it. Writes nothing.

use std::collections::BTreeSet;

use crate::cluster::{Cluster, Discovery};
use crate::error::Error;
use crate::input::{Problem, RenderError};
use crate::inventory::{HOOK_OF_LABEL, PART_OF_LABEL};
use crate::object::{Confirmation, Phase, Resource};
use crate::plan::{self, DroppedCheck, Plan, PlanOptions, PruneRules, Target};
use crate::render::Rendered;
use crate::source::CommitInfo;

use crate::deploy::AppRun;
use crate::deploy::definitions::{self, Namespaces};
use crate::deploy::fields::dropped_check;
use crate::deploy::heal::heal;
use crate::deploy::inventory_read::{self, Inventory};
use crate::deploy::observe::observe;
use crate::deploy::with_it::with_it;

/// How to plan, beyond the app's own settings.
#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    /// Take over objects that belong to another ApplySet, a Helm release or Argo CD.
    pub adopt: bool,
    /// Take fields over from other field managers instead of failing on the conflict.
    pub force_conflicts: bool,
    /// Dry-run objects the live state shows settled too.
    pub verify_unchanged: bool,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Record this app as the inventory's owner although another app is recorded (a path
    /// renamed on purpose).
    pub take_over_inventory: bool,
    /// The deletions the run confirms (`--confirm-prune`, `--confirm-prune-namespaces`,
    /// `--confirm-prune-crds`).
    pub confirmed: BTreeSet<Confirmation>,
}

/// Everything known before the first write. Plain data: the cluster handle stays with the
/// caller.
#[derive(Debug)]
pub struct Prepared {
    /// One entry per target (each holding its target), in render order, then one per
    /// inventory member the render no longer declares (each holding the member).
    pub plan: Plan,
    /// Destination namespaces that `--create-namespace` will create.
    pub namespaces_to_create: Vec<String>,
    pub namespace_resource: Resource,
    pub inventory: Inventory,
    pub options: RunOptions,
    /// The commit rendered; `None` for the working tree.
    pub commit: Option<CommitInfo>,
    /// The chart a repository or registry served, for an app that names one.
    pub chart: Option<crate::source::charts::ResolvedChart>,
    /// Other git repositories the render read, as `URL REVISION → COMMIT`.
    pub fetched: Vec<String>,
    /// The images the render put in place, kept ones marked.
    pub promoted: Vec<crate::images::Promotion>,
    /// The digest of the render's inputs, recorded with a successful deploy.
    pub input_digest: Option<String>,
    /// An app that renders only apps, and whose namespace does not exist: nothing of it is
    /// written, not even its record of the apps it renders.
    pub unrecorded: bool,
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

impl Prepared {
    /// The destination namespace (where the inventory parent lives).
    pub fn namespace(&self) -> &str {
        self.inventory
            .parent
            .namespace
            .as_deref()
            .unwrap_or_default()
    }

    /// Nothing to write: no change, no namespace, no hook to run, and the inventory parent
    /// records `run` as it should be. Hooks run on every deploy, as a sync runs them.
    pub fn nothing_to_write(&self, run: &AppRun, run_tests: bool) -> bool {
        if self.unrecorded {
            return true;
        }
        let mut phases = vec![Phase::PreSync, Phase::Sync, Phase::PostSync];
        if run_tests {
            phases.push(Phase::Test);
        }
        !self.plan.has_changes()
            && phases.iter().all(|p| self.plan.hooks(*p).next().is_none())
            && self.namespaces_to_create.is_empty()
            && !crate::deploy::ParentRecord::new(&self.plan, &self.inventory, &run.identity)
                .needs_write()
            && !self.children_changed(run)
    }

    /// The apps this app renders are not those its last successful deploy recorded: the
    /// deploy is recorded, so that the next one knows which apps left.
    pub fn children_changed(&self, run: &AppRun) -> bool {
        let recorded = crate::inventory::history::last_children(&self.inventory.history)
            .map(|(_, c)| c)
            .unwrap_or_default();
        recorded != run.child_records.as_slice()
    }
}

/// Reads the app's inventory and builds its plan from its render (`render_all`); writes
/// nothing.
pub async fn prepare(
    cluster: &Cluster,
    run: &AppRun,
    (rendered, commit): (Rendered, Option<CommitInfo>),
    options: PrepareOptions,
) -> Result<Prepared, Error> {
    let chart = rendered.chart.clone();
    let fetched = rendered.fetched.clone();
    let promoted = rendered.promoted.clone();
    let input_digest = rendered.input_digest.clone();
    let mut api_versions: BTreeSet<String> = rendered
        .manifests
        .iter()
        .map(|m| m.id.api_version())
        .collect();
    api_versions.insert("v1".into());
    let mut discovery = cluster.discover(api_versions).await?;
    let namespace_resource = definitions::namespace_resource(&discovery)?;
    let destination = run
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let targets = resolve_targets(run, &rendered, &discovery, &destination)?;
    let concurrency = options.concurrency;
    let confirmed = options.confirmed.clone();
    let Namespaces { missing, to_create } = definitions::check_namespaces(
        cluster,
        run,
        &targets,
        &destination,
        &namespace_resource,
        concurrency,
    )
    .await?;

    let destination_exists = !missing.contains(&destination);
    let unrecorded = !destination_exists && !to_create.contains(&destination) && targets.is_empty();
    let (inventory, candidates) = inventory_read::read(
        cluster,
        &mut discovery,
        &run.name,
        &destination,
        destination_exists,
        &targets,
        concurrency,
    )
    .await?;
    crate::deploy::guards::check_owner(&inventory, &run.identity, options.take_over_inventory)?;
    if rendered.manifests.is_empty() && run.prune && !run.allow_empty && !candidates.is_empty() {
        return Err(Error::Invalid(format!(
            "the render produced no objects: pruning would delete all {} objects of app `{}`\nhint: check PATH and --rev, or pass `--allow-empty` if removing everything is intended",
            candidates.len(),
            run.name
        )));
    }
    // Hooks are created when they run, never applied with the app nor members of it.
    let (hooks, mut targets): (Vec<Target>, Vec<Target>) =
        targets.into_iter().partition(|t| t.policy.hook.is_some());
    crate::deploy::fields::strip_unvalidated(cluster, &mut targets).await;
    if !run.ignore_differences.is_empty() {
        respect_ignored(cluster, run, &mut targets, concurrency).await?;
    }
    for target in &mut targets {
        join_applyset(&mut target.object, &inventory.id);
        plan::stamp(&mut target.object);
        target.policy.replace |= run.replace;
    }

    let mut options = RunOptions {
        concurrency,
        plan: PlanOptions {
            validate: run.validate,
            applyset_id: Some(inventory.id.clone()),
            adopt: options.adopt,
            sensitive: run.sensitive_paths.clone(),
            ignore: run.ignore_differences.clone(),
            // Decided once the server has answered the dry runs.
            dropped: DroppedCheck::default(),
        },
        force_conflicts: options.force_conflicts || run.force_conflicts,
        verify_unchanged: options.verify_unchanged,
    };
    let missing: BTreeSet<String> = missing.into_iter().collect();
    let mut observations = observe(cluster, &targets, &missing, &options).await;
    if run.self_heal && !options.force_conflicts {
        heal(cluster, &mut targets, &mut observations, &options).await;
    }
    if options.plan.validate {
        options.plan.dropped = dropped_check(cluster, &targets, &observations).await;
    }
    let mut plan = Plan::build(targets, observations, &options.plan);
    let hooks: Vec<Target> = hooks
        .into_iter()
        .map(|mut hook| {
            label(&mut hook.object, HOOK_OF_LABEL, &inventory.id);
            hook
        })
        .collect();
    let checks = crate::deploy::hooks::validate(
        cluster,
        &hooks,
        &missing,
        options.plan.validate,
        concurrency,
    )
    .await;
    plan.entries.extend(
        hooks
            .into_iter()
            .zip(checks)
            .map(|(hook, check)| plan::hook_entry(hook, check)),
    );
    let rules = PruneRules {
        enabled: run.prune,
        confirmed,
        app: run.prune_rule.clone(),
    };
    plan.entries.extend(plan::prune_entries(
        candidates,
        &rules,
        &run.sensitive_paths,
    ));
    with_it(cluster, &mut plan, &inventory.id).await;
    Ok(Prepared {
        plan,
        namespaces_to_create: to_create,
        namespace_resource,
        inventory,
        options,
        commit,
        chart,
        fetched,
        promoted,
        input_digest,
        unrecorded,
    })
}

/// The render matched with the kinds the server serves, within the app's limits.
fn resolve_targets(
    run: &AppRun,
    rendered: &Rendered,
    discovery: &Discovery,
    destination: &str,
) -> Result<Vec<Target>, Error> {
    let targets = plan::targets(
        rendered,
        discovery,
        destination,
        run.skip_dry_run_on_missing,
    )
    .map_err(|problems| RenderError { problems })?;
    let refused = scope_guards(run, &targets, destination);
    if !refused.is_empty() {
        return Err(RenderError { problems: refused }.into());
    }
    Ok(targets)
}

/// The app's limits on where its objects may go (`allowClusterScoped`,
/// `allowOtherNamespaces`), checked before any request that could write.
fn scope_guards(run: &AppRun, targets: &[Target], destination: &str) -> Vec<Problem> {
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

/// The fields `ignoreDifferences` names are applied as they are live (Argo CD's
/// `RespectIgnoreDifferences=true`, always on: with server-side apply, writing them back would
/// take them from their owner or fail on the conflict), so a deploy never changes them (an
/// HPA's `spec.replicas`).
async fn respect_ignored(
    cluster: &Cluster,
    run: &AppRun,
    targets: &mut [Target],
    concurrency: usize,
) -> Result<(), Error> {
    use futures::{StreamExt, stream};
    let rules = &run.ignore_differences;
    let matching: Vec<&mut Target> = targets
        .iter_mut()
        .filter(|t| rules.iter().any(|r| r.matches(&t.id)))
        .collect();
    let read: Vec<(
        &mut Target,
        Result<Option<serde_json::Value>, crate::cluster::ApiFailure>,
    )> = stream::iter(matching)
        .map(|target| async move {
            let live = cluster.get(&target.resource, &target.id).await;
            (target, live)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (target, live) in read {
        let live = live.map_err(|f| {
            Error::Runtime(format!(
                "cannot read {} to keep its ignored fields: {f}",
                target.id
            ))
        })?;
        if let Some(live) = live {
            crate::plan::ignore::respect(rules, &target.id, &mut target.object, &live);
        }
    }
    Ok(())
}

/// Labels an object as a member of the ApplySet.
fn join_applyset(object: &mut serde_json::Value, id: &str) {
    label(object, PART_OF_LABEL, id);
}

fn label(object: &mut serde_json::Value, key: &str, value: &str) {
    let metadata = &mut object["metadata"];
    if !metadata["labels"].is_object() {
        metadata["labels"] = serde_json::json!({});
    }
    metadata["labels"][key] = serde_json::Value::String(value.to_string());
}

//! `kpush delete`: an app torn down under its lock. `PreDelete` hooks run first (a failure
//! stops it before anything is deleted); then every member of the inventory is deleted in
//! reverse stage order with the prune's guards (Namespaces and CRDs only when confirmed,
//! prune opt-outs kept) and waited for; then what the app's hooks left behind; then
//! `PostDelete` hooks; and last, when no member waits for a confirmation, the inventory parent,
//! its snapshots and the lock itself.

use crate::cluster::{Cluster, Propagation};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::inventory::HOOK_OF_LABEL;
use crate::object::{Phase, Prune, Resource};
use crate::plan::{Action, Plan};
use crate::render::Rendered;
use crate::source::CommitInfo;

use super::delete::{self, PruneOptions, Pruned};
use super::hooks::HookRun;
use super::lock::Locked;
use super::write::{hook_context, run_hooks};
use super::writer::Writer;
use super::{AppRun, PrepareOptions, Prepared, Progress, WriteOptions, prepare, snapshot};

/// What a teardown did.
#[derive(Debug, Clone, Default)]
pub struct TornDown {
    /// `None` when a `PreDelete` hook failed and nothing was deleted.
    pub deleted: Option<Pruned>,
    pub hooks: Vec<HookRun>,
    /// Objects earlier hook runs left behind, deleted with the app.
    pub hook_leftovers: usize,
    /// The inventory parent, its snapshots and the lock are gone: nothing of the app remains
    /// but what its annotations keep.
    pub inventory_removed: bool,
}

impl TornDown {
    pub fn status(&self) -> ExitStatus {
        match &self.deleted {
            Some(d) if d.failed().next().is_some() => ExitStatus::Failure,
            _ if self.hooks.iter().any(|h| !h.succeeded) => ExitStatus::Unhealthy,
            None => ExitStatus::Unhealthy,
            Some(_) => ExitStatus::Success,
        }
    }
}

/// What a teardown will do.
#[derive(Debug)]
pub struct Teardown {
    /// Every member to delete (or keep, and why), and the `PreDelete` and `PostDelete` hooks.
    pub prepared: Prepared,
    /// Every hook the app declares: where earlier runs may have left its objects.
    pub hooks: Vec<DeclaredHook>,
}

/// A hook of the render, and the objects of earlier runs that are its own: its name, or for
/// `generateName` its prefix, in its kind and namespace.
#[derive(Debug, Clone)]
pub struct DeclaredHook {
    pub resource: Resource,
    pub namespace: Option<String>,
    pub name: String,
    pub generated: bool,
}

impl DeclaredHook {
    fn owns(&self, name: &str) -> bool {
        if self.generated {
            name.starts_with(&self.name)
        } else {
            name == self.name
        }
    }
}

/// Plans the teardown from the app's render (for its hooks) and its inventory. `None` when
/// the app has no inventory in its namespace: nothing to delete.
pub async fn plan(
    cluster: &Cluster,
    run: &AppRun,
    (mut rendered, commit): (Rendered, Option<CommitInfo>),
    options: PrepareOptions,
) -> Result<Option<Teardown>, Error> {
    let declared: Vec<crate::render::Manifest> = rendered
        .manifests
        .iter()
        .filter(|m| crate::object::Hook::of(&m.object).is_some())
        .cloned()
        .collect();
    rendered.manifests.retain(|m| {
        crate::object::Hook::of(&m.object)
            .is_some_and(|h| h.runs_in(Phase::PreDelete) || h.runs_in(Phase::PostDelete))
    });
    let mut run = run.clone();
    // Every member leaves: the render declares none of them.
    run.prune = true;
    run.allow_empty = true;
    // A missing destination means nothing to delete, not an error; nothing is created.
    run.create_namespace = true;
    let prepared = prepare(cluster, &run, (rendered, commit), options).await?;
    if prepared.inventory.previous.is_none() {
        return Ok(None);
    }
    let discovery = cluster
        .discover(declared.iter().map(|m| m.id.api_version()).collect())
        .await?;
    let destination = prepared.namespace().to_string();
    let hooks = declared
        .iter()
        .filter_map(|m| {
            let crate::cluster::Resolution::Found(resource) =
                discovery.resolve(&m.id.api_version(), &m.id.kind)
            else {
                return None;
            };
            let namespace = resource.namespaced.then(|| {
                m.id.namespace
                    .clone()
                    .unwrap_or_else(|| destination.clone())
            });
            Some(DeclaredHook {
                resource: resource.clone(),
                namespace,
                name: m.id.name.clone(),
                generated: crate::object::hook::fixed_name(&m.object).is_none(),
            })
        })
        .collect();
    Ok(Some(Teardown { prepared, hooks }))
}

/// `--dry-run`: the server checks every deletion; nothing is deleted.
pub async fn dry_run(cluster: &Cluster, prepared: &Prepared, propagation: Propagation) -> Pruned {
    let options = PruneOptions {
        propagation,
        concurrency: prepared.options.concurrency,
        dry_run: true,
        no_wait: true,
    };
    delete::prune(cluster, &prepared.plan, options).await
}

/// Tears the app down under `locked` (see the module's description) and gives up the lock,
/// deleting it when the inventory went.
pub async fn teardown(
    cluster: &Cluster,
    planned: &Teardown,
    locked: Locked,
    options: &WriteOptions,
    propagation: Propagation,
    progress: &dyn Progress,
) -> Result<TornDown, Error> {
    let prepared = &planned.prepared;
    let writer = Writer {
        cluster,
        run_options: &prepared.options,
        options,
        progress,
        to_write: 0,
        lease: &locked.lease,
    };
    let result = steps(&writer, planned, propagation).await;
    match &result {
        Ok(done) if done.inventory_removed => locked.lease.remove().await,
        _ => locked.release().await,
    }
    result
}

async fn steps(
    writer: &Writer<'_>,
    planned: &Teardown,
    propagation: Propagation,
) -> Result<TornDown, Error> {
    let prepared = &planned.prepared;
    let cluster = writer.cluster;
    let plan = &prepared.plan;
    let ctx = hook_context(writer);
    let mut done = TornDown::default();
    if !run_hooks(&ctx, plan, Phase::PreDelete, &mut done.hooks).await? {
        return Ok(done);
    }
    writer.check(&super::staged::Applied::default())?;
    let options = PruneOptions {
        propagation,
        concurrency: prepared.options.concurrency,
        dry_run: false,
        no_wait: false,
    };
    let deleted = delete::prune(cluster, plan, options).await;
    if crate::cancel::requested() {
        return Err(Error::Cancelled(format!(
            "after {} deletion(s); rerun `kpush delete` to finish",
            deleted.deleted.iter().filter(|d| d.error.is_none()).count()
        )));
    }
    let failed = deleted.failed().next().is_some();
    done.deleted = Some(deleted);
    if failed {
        return Ok(done);
    }
    done.hook_leftovers = remove_hook_leftovers(writer, planned).await;
    if !run_hooks(&ctx, plan, Phase::PostDelete, &mut done.hooks).await? {
        return Ok(done);
    }
    if awaiting_confirmation(plan) {
        writer.progress.note(
            "the inventory stays: members wait for a confirmation (see `kept` above); rerun with it to finish",
        );
        return Ok(done);
    }
    let inventory = &prepared.inventory;
    remove_record(cluster, prepared).await.map_err(|f| {
        Error::Runtime(format!(
            "every member was deleted, but not the inventory {}: {f}\nhint: rerun `kpush delete`",
            inventory.parent
        ))
    })?;
    done.inventory_removed = true;
    Ok(done)
}

/// Deletes kpush's record of the app: its snapshots and the inventory parent.
async fn remove_record(
    cluster: &Cluster,
    prepared: &Prepared,
) -> Result<(), crate::cluster::ApiFailure> {
    let inventory = &prepared.inventory;
    for entry in &inventory.history {
        snapshot::delete(cluster, inventory, entry).await;
    }
    cluster
        .delete(
            &inventory.secret_resource,
            &inventory.parent,
            Propagation::Background,
            false,
            None,
        )
        .await
}

/// Forgets an app under `locked`: its objects stay, and only kpush's record of it (the
/// inventory parent, its snapshots and the lock) goes. An app-of-apps child without Argo CD's
/// resources finalizer leaves its parent's render this way, as Argo CD's non-cascading
/// delete of its Application does.
pub async fn forget(cluster: &Cluster, prepared: &Prepared, locked: Locked) -> Result<(), Error> {
    let inventory = &prepared.inventory;
    match remove_record(cluster, prepared).await {
        Ok(()) => {
            locked.lease.remove().await;
            Ok(())
        }
        Err(f) => {
            locked.release().await;
            Err(Error::Runtime(format!(
                "cannot delete the inventory {}: {f}",
                inventory.parent
            )))
        }
    }
}

/// Members kept until the run confirms their deletion keep the inventory too, so that a rerun
/// with the confirmation finds them; what annotations keep for good does not.
fn awaiting_confirmation(plan: &Plan) -> bool {
    plan.entries
        .iter()
        .filter(|e| e.action == Action::Keep)
        .filter_map(|e| e.member())
        .any(|m| !matches!(m.policy.prune, Prune::Never(_)))
}

/// Deletes the objects earlier runs of the app's hooks left: labelled with its ApplySet, and
/// named as one of its hooks (a copy under another name is not the hook's); returns how many.
async fn remove_hook_leftovers(writer: &Writer<'_>, planned: &Teardown) -> usize {
    let cluster = writer.cluster;
    let selector = format!("{HOOK_OF_LABEL}={}", planned.prepared.inventory.id);
    let mut scopes: Vec<(&Resource, Option<&str>)> = planned
        .hooks
        .iter()
        .map(|h| (&h.resource, h.namespace.as_deref()))
        .collect();
    scopes.sort_by_key(|(r, ns)| (r.group.clone(), r.kind.clone(), ns.map(str::to_string)));
    scopes.dedup();
    let mut removed = 0;
    for (resource, ns) in scopes {
        let Ok(found) = cluster.metadata_labelled(resource, ns, &selector).await else {
            continue;
        };
        for meta in found {
            let Some(name) = meta["name"].as_str() else {
                continue;
            };
            let own = planned
                .hooks
                .iter()
                .any(|h| h.resource == *resource && h.namespace.as_deref() == ns && h.owns(name));
            if !own {
                continue;
            }
            let id = crate::object::ObjectRef {
                group: resource.group.clone(),
                version: resource.version.clone(),
                kind: resource.kind.clone(),
                namespace: ns.map(str::to_string),
                name: name.to_string(),
            };
            let uid = meta["uid"].as_str();
            match cluster
                .delete(resource, &id, Propagation::Background, false, uid)
                .await
            {
                Ok(()) => removed += 1,
                Err(e) => writer
                    .progress
                    .note(&format!("warning: cannot delete hook object {id}: {e}")),
            }
        }
    }
    removed
}

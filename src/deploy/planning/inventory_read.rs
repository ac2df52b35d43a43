//! Reading the app's ApplySet from the cluster: its parent with the history, and the members
//! the current render no longer declares.

use std::collections::{BTreeSet, HashSet};

use futures::{StreamExt, stream};

use crate::cluster::{Cluster, Discovery, Resolution};
use crate::error::Error;
use crate::inventory::history::{self, HistoryEntry};
use crate::inventory::{GroupKind, ID_LABEL, PART_OF_LABEL, ParentState, applyset_id};
use crate::object::{ObjectRef, Resource};
use crate::plan::{PruneCandidate, Target};

use crate::deploy::AppRun;

/// The app's ApplySet as the cluster has it.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The parent Secret.
    pub parent: ObjectRef,
    pub secret_resource: Resource,
    pub id: String,
    /// The parent as it is live, if it exists.
    pub previous: Option<ParentState>,
    /// Earlier deploys, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Whether the destination namespace (where the parent and the lock live) exists.
    pub namespace_exists: bool,
    /// The deploy lock as this run saw it before reading anything else: a lock taken from any
    /// other state means another deploy ran in between.
    pub lock_seen: LockSeen,
}

/// The deploy lock as the plan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockSeen {
    /// No lease (or no namespace yet).
    Absent,
    /// The lease at this resource version.
    Version(String),
    /// It could not be read (a diff-only role without access to leases): whoever writes
    /// plans again under the lock.
    Unknown,
}

impl LockSeen {
    /// Whether a lock taken over from `taken_from` (`None`: created) is the one seen.
    pub fn unchanged(&self, taken_from: Option<&str>) -> bool {
        match (self, taken_from) {
            (LockSeen::Absent, None) => true,
            (LockSeen::Version(seen), Some(taken)) => seen == taken,
            _ => false,
        }
    }
}

/// The app's parent Secret, `kpush-APP` in the destination namespace, and where to read it.
pub fn parent_of(
    discovery: &Discovery,
    app: &str,
    namespace: &str,
) -> Result<(Resource, ObjectRef), Error> {
    let secret = match discovery.resolve("v1", "Secret") {
        Resolution::Found(r) => r.clone(),
        _ => {
            return Err(Error::Invalid(
                "the server does not serve v1 Secrets".into(),
            ));
        }
    };
    Ok((secret, parent_ref(app, namespace)))
}

fn parent_ref(app: &str, namespace: &str) -> ObjectRef {
    ObjectRef {
        group: String::new(),
        version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some(namespace.to_string()),
        name: format!("kpush-{app}"),
    }
}

/// An app's history as its parent records it.
pub struct Recorded {
    pub namespace: String,
    pub secret_resource: Resource,
    pub parent: ObjectRef,
    /// Oldest first; empty when the app was never deployed.
    pub history: Vec<HistoryEntry>,
}

/// The app's recorded deploys.
pub async fn recorded(cluster: &Cluster, run: &AppRun) -> Result<Recorded, Error> {
    let namespace = run
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    // Core v1 Secrets are served by every API server: no discovery round trip for one read
    // (diff and apply make it before planning, for the promoted images to keep).
    let secret_resource = Resource::core("Secret", "secrets");
    let parent = parent_ref(&run.name, &namespace);
    let live = cluster
        .get(&secret_resource, &parent)
        .await
        .map_err(|f| Error::Runtime(format!("cannot read the inventory {parent}: {f}")))?;
    Ok(Recorded {
        namespace,
        secret_resource,
        parent,
        history: live.as_ref().map(history::read).unwrap_or_default(),
    })
}

/// Reads the parent and lists the members the render dropped (with no targets, every
/// member). A parent that another tool manages, or a Secret of that name that is not a
/// parent, stops the run.
pub async fn read(
    cluster: &Cluster,
    discovery: &mut Discovery,
    app: &str,
    namespace: &str,
    namespace_exists: bool,
    targets: &[Target],
    concurrency: usize,
) -> Result<(Inventory, Vec<PruneCandidate>), Error> {
    let (secret_resource, parent) = parent_of(discovery, app, namespace)?;
    let id = applyset_id(&parent.name, namespace);
    // Read before anything else, so that any deploy after this point shows on the lock.
    let lock_seen = if namespace_exists {
        match cluster.lease_version(namespace, &parent.name).await {
            Ok(Some(version)) => LockSeen::Version(version),
            Ok(None) => LockSeen::Absent,
            Err(failure) => {
                tracing::info!(
                    "cannot read the deploy lock of {parent} ({failure}); a write plans again under it"
                );
                LockSeen::Unknown
            }
        }
    } else {
        LockSeen::Absent
    };
    let live = if namespace_exists {
        cluster
            .get(&secret_resource, &parent)
            .await
            .map_err(|f| Error::Invalid(format!("cannot read the inventory {parent}: {f}")))?
    } else {
        None
    };
    let history = live.as_ref().map(history::read).unwrap_or_default();
    let previous = match live {
        None => None,
        Some(live) => {
            let state = ParentState::from_object(&live);
            if let Some(tool) = state.managed_by_other_tool() {
                return Err(Error::Invalid(format!(
                    "the ApplySet parent {parent} is managed by tooling \"{tool}\" instead of \"kpush\"; kpush will not change it\nhint: pass `--app` to use another inventory"
                )));
            }
            if state.id != id {
                return Err(Error::Invalid(format!(
                    "{parent} exists but is not the ApplySet parent kpush expects (label `{ID_LABEL}` is {:?})\nhint: pass `--app` to use another inventory name",
                    state.id
                )));
            }
            Some(state)
        }
    };
    let candidates = match &previous {
        Some(state) => {
            candidates(
                cluster,
                discovery,
                state,
                namespace,
                &id,
                targets,
                concurrency,
            )
            .await?
        }
        None => Vec::new(),
    };
    let inventory = Inventory {
        parent,
        secret_resource,
        id,
        previous,
        history,
        namespace_exists,
        lock_seen,
    };
    Ok((inventory, candidates))
}

/// The members of the ApplySet that `targets` do not declare, by id.
async fn candidates(
    cluster: &Cluster,
    discovery: &mut Discovery,
    state: &ParentState,
    namespace: &str,
    id: &str,
    targets: &[Target],
    concurrency: usize,
) -> Result<Vec<PruneCandidate>, Error> {
    discover_recorded_kinds(cluster, discovery, &state.group_kinds).await?;
    let mut namespaces: BTreeSet<&str> = state
        .additional_namespaces
        .iter()
        .map(String::as_str)
        .collect();
    namespaces.insert(namespace);
    let lists = member_lists(discovery, &state.group_kinds, &namespaces);
    let selector = format!("{PART_OF_LABEL}={id}");
    let selector = &selector;
    let listed: Vec<_> = stream::iter(lists)
        .map(|(resource, ns)| async move {
            let items = cluster
                .list_labelled(&resource, ns.as_deref(), selector)
                .await;
            (resource, items)
        })
        .buffered(concurrency)
        .collect()
        .await;

    let declared: HashSet<(&str, &str, Option<&str>, &str)> = targets
        .iter()
        .map(|t| {
            (
                t.id.group.as_str(),
                t.id.kind.as_str(),
                t.id.namespace.as_deref(),
                t.id.name.as_str(),
            )
        })
        .collect();
    let mut candidates = Vec::new();
    for (resource, items) in listed {
        let items = items.map_err(|f| {
            Error::Runtime(format!(
                "cannot list the inventory's {} objects: {f}",
                resource.kind
            ))
        })?;
        for live in items {
            let name = live["metadata"]["name"].as_str().unwrap_or("").to_string();
            let ns = live["metadata"]["namespace"].as_str().map(str::to_string);
            let key = (
                resource.group.as_str(),
                resource.kind.as_str(),
                ns.as_deref(),
                name.as_str(),
            );
            if declared.contains(&key) {
                continue;
            }
            let id = ObjectRef {
                group: resource.group.clone(),
                version: resource.version.clone(),
                kind: resource.kind.clone(),
                namespace: ns,
                name,
            };
            candidates.push(PruneCandidate::new(id, resource.clone(), live));
        }
    }
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(candidates)
}

/// Kinds the parent lists that this run did not discover yet, discovered at the group's
/// preferred version.
async fn discover_recorded_kinds(
    cluster: &Cluster,
    discovery: &mut Discovery,
    kinds: &BTreeSet<GroupKind>,
) -> Result<(), Error> {
    let unknown: Vec<&GroupKind> = kinds
        .iter()
        .filter(|gk| discovery.find_group_kind(&gk.group, &gk.kind).is_none())
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let preferred = cluster.preferred_versions().await?;
    let versions: BTreeSet<String> = unknown
        .iter()
        .filter_map(|gk| {
            let version = preferred.get(&gk.group)?;
            Some(if gk.group.is_empty() {
                version.clone()
            } else {
                format!("{}/{version}", gk.group)
            })
        })
        .filter(|v| !discovery.knows(v))
        .collect();
    discovery.extend(cluster.discover(versions).await?);
    Ok(())
}

/// One list per recorded kind, per namespace for namespaced kinds. A kind the server no
/// longer serves has no members left to prune.
fn member_lists(
    discovery: &Discovery,
    kinds: &BTreeSet<GroupKind>,
    namespaces: &BTreeSet<&str>,
) -> Vec<(Resource, Option<String>)> {
    let mut lists = Vec::new();
    for gk in kinds {
        let Some(resource) = discovery.find_group_kind(&gk.group, &gk.kind) else {
            tracing::info!("inventory kind {gk} is not served any more; skipping it");
            continue;
        };
        if resource.namespaced {
            for ns in namespaces {
                lists.push((resource.clone(), Some(ns.to_string())));
            }
        } else {
            lists.push((resource.clone(), None));
        }
    }
    lists
}

#[cfg(test)]
mod tests {
    use super::LockSeen;

    #[test]
    fn a_plan_is_current_only_if_the_lock_is_taken_as_it_was_seen() {
        assert!(LockSeen::Absent.unchanged(None));
        assert!(!LockSeen::Absent.unchanged(Some("7")));
        assert!(LockSeen::Version("7".into()).unchanged(Some("7")));
        assert!(!LockSeen::Version("7".into()).unchanged(Some("9")));
        assert!(!LockSeen::Version("7".into()).unchanged(None));
        // Unread: never assumed current.
        assert!(!LockSeen::Unknown.unchanged(None));
        assert!(!LockSeen::Unknown.unchanged(Some("7")));
    }
}

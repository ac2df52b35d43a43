//! The deploy lock: one writer per app at a time, a Lease beside the inventory parent. A run
//! takes it after planning and before writing anything but the destination namespace (where
//! the lease lives); when another deploy held it since the plan was made, the caller plans
//! again under the lock before writing.

use crate::cluster::{Cluster, HeldLease};
use crate::error::Error;

use crate::deploy::definitions::create_namespace;
use crate::deploy::staged::Outcome;
use crate::deploy::{AppRun, Prepared, Progress, WriteOptions};

/// The app's lock, held.
pub struct Locked {
    pub(in crate::deploy) lease: HeldLease,
    /// The destination namespace, when it had to be created for the lease.
    pub(in crate::deploy) created: Vec<Outcome>,
}

impl Locked {
    /// Whether `prepared`, planned before the lock was taken, is still current: no other
    /// deploy took the lock in between. (A plan made while holding the lock is current.)
    pub fn current(&self, prepared: &Prepared) -> bool {
        prepared
            .inventory
            .lock_seen
            .unchanged(self.lease.taken_from.as_deref())
    }

    pub async fn release(self) {
        self.lease.release().await;
    }
}

/// Creates the destination namespace if it is missing, then takes the app's lock, waiting up
/// to `options.lock_timeout` for another deploy to release it.
pub async fn lock(
    cluster: &Cluster,
    run: &AppRun,
    prepared: &mut Prepared,
    options: &WriteOptions,
    progress: &dyn Progress,
) -> Result<Locked, Error> {
    let destination = prepared.namespace().to_string();
    let mut created = Vec::new();
    if !prepared.inventory.namespace_exists {
        // `managedNamespaceMetadata` is for the namespace kpush creates, not a declared one.
        let created_for_app = prepared.namespaces_to_create.contains(&destination);
        let metadata = created_for_app.then_some(&run.namespace_metadata);
        let outcome = create_namespace(
            cluster,
            &prepared.namespace_resource,
            &destination,
            metadata,
        )
        .await;
        if let Some(failure) = &outcome.error {
            return Err(Error::Runtime(format!(
                "cannot create namespace `{destination}`, where the deploy lock lives: {failure}"
            )));
        }
        // Reported as created when `--create-namespace` asked for it; a declared Namespace
        // is reported when its manifest is applied.
        if let Some(i) = prepared
            .namespaces_to_create
            .iter()
            .position(|ns| *ns == destination)
        {
            prepared.namespaces_to_create.remove(i);
            created.push(outcome);
        }
    }
    let inventory = &prepared.inventory;
    let namespace = inventory.parent.namespace.as_deref().unwrap_or_default();
    let holder = crate::ci::lock_holder();
    let timeout = options.lock_timeout;
    let lease = cluster
        .acquire_lease(
            namespace,
            &inventory.parent.name,
            &holder,
            timeout,
            |other| {
                progress.note(&format!(
                    "waiting for the deploy lock {namespace}/{}, held by {other} (up to {}s)",
                    inventory.parent.name,
                    timeout.as_secs()
                ))
            },
        )
        .await?;
    Ok(Locked { lease, created })
}

//! The deploy lock: one writer per app at a time, a Lease beside the inventory parent.

use std::time::Duration;

use crate::cluster::{Cluster, HeldLease};
use crate::error::Error;

use super::Progress;
use super::inventory_read::Inventory;

/// Takes the app's lock, waiting up to `timeout` for another deploy to release it.
pub(super) async fn take_lock(
    cluster: &Cluster,
    inventory: &Inventory,
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<HeldLease, Error> {
    let namespace = inventory.parent.namespace.as_deref().unwrap_or_default();
    let holder = crate::ci::lock_holder();
    Ok(cluster
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
        .await?)
}

//! Listing the members of an ApplySet and deleting them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kube::api::{DeleteParams, ListParams};
use kube::core::ObjectMeta;
use serde_json::Value;

use super::Cluster;
use super::failure::ApiFailure;
use super::retry::with_retry;
use crate::object::{ObjectRef, Resource};

/// Where many objects of one kind share a namespace, one list replaces a read per object.
pub const LIST_FROM: usize = 8;

/// How dependents of a deleted object are handled (Argo CD's `PrunePropagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Dependents are deleted first; the object is gone only when they are.
    #[default]
    Foreground,
    /// The object goes at once; the garbage collector deletes dependents afterwards.
    Background,
    /// Dependents are left running without an owner.
    Orphan,
}

impl Cluster {
    /// Objects of one kind carrying `selector` (every object when empty), in `namespace` (or
    /// cluster-wide).
    pub async fn list_labelled(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ApiFailure> {
        let api = self.api(resource, namespace);
        let params = if selector.is_empty() {
            ListParams::default()
        } else {
            ListParams::default().labels(selector)
        };
        let list = with_retry(|| api.list(&params))
            .await
            .map_err(ApiFailure::from_kube)?;
        list.items
            .into_iter()
            .map(|o| serde_json::to_value(o).map_err(|e| ApiFailure::transport(e.to_string())))
            .collect()
    }

    /// The uids of the objects of one kind carrying `selector`, in `namespace` (or
    /// cluster-wide): metadata only, which is all a deletion wait needs.
    pub async fn uids_labelled(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<HashSet<String>, ApiFailure> {
        let items = self.list_metadata(resource, namespace, selector).await?;
        Ok(items.into_iter().filter_map(|m| m.uid).collect())
    }

    /// The metadata of the objects of one kind carrying `selector`, in `namespace` (or
    /// cluster-wide): names, namespaces, labels and annotations, without the bodies.
    pub async fn metadata_labelled(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ApiFailure> {
        let items = self.list_metadata(resource, namespace, selector).await?;
        Ok(items
            .into_iter()
            .filter_map(|m| serde_json::to_value(m).ok())
            .collect())
    }

    async fn list_metadata(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<ObjectMeta>, ApiFailure> {
        let api = self.api(resource, namespace);
        let params = ListParams::default().labels(selector);
        let list = with_retry(|| api.list_metadata(&params))
            .await
            .map_err(ApiFailure::from_kube)?;
        Ok(list.items.into_iter().map(|o| o.metadata).collect())
    }

    /// With `uid`, only that very object is deleted: one created again under the same name
    /// since it was read fails the precondition (409).
    pub async fn delete(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        propagation: Propagation,
        dry_run: bool,
        uid: Option<&str>,
    ) -> Result<(), ApiFailure> {
        self.delete_at(resource, id, propagation, dry_run, uid, None)
            .await
    }

    /// [`delete`](Self::delete), only while the object is at `resource_version` too.
    pub async fn delete_at(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        propagation: Propagation,
        dry_run: bool,
        uid: Option<&str>,
        resource_version: Option<&str>,
    ) -> Result<(), ApiFailure> {
        let api = self.api(resource, id.namespace.as_deref());
        let mut params = match propagation {
            Propagation::Foreground => DeleteParams::foreground(),
            Propagation::Background => DeleteParams::background(),
            Propagation::Orphan => DeleteParams::orphan(),
        };
        params.dry_run = dry_run;
        params.preconditions =
            (uid.is_some() || resource_version.is_some()).then(|| kube::api::Preconditions {
                uid: uid.map(str::to_string),
                resource_version: resource_version.map(str::to_string),
            });
        match with_retry(|| api.delete(&id.name, &params)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(ApiFailure::from_kube(e)),
        }
    }

    /// Deletes the object (only that very one, with `uid`) in the foreground and returns once
    /// it and its dependents are gone: room for an object of the same name.
    pub async fn delete_and_wait(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        uid: Option<&str>,
        timeout: Duration,
    ) -> Result<(), ApiFailure> {
        self.delete(resource, id, Propagation::Foreground, false, uid)
            .await?;
        self.wait_gone(resource, id, timeout).await
    }

    /// Returns once the object no longer exists (foreground deletion finishes when the garbage
    /// collector has removed its dependents).
    pub async fn wait_gone(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        timeout: Duration,
    ) -> Result<(), ApiFailure> {
        match self
            .poll(resource, id, timeout, |live| live.is_none())
            .await?
        {
            true => Ok(()),
            false => Err(ApiFailure::not_gone(id, timeout)),
        }
    }

    /// Reads the object until `done` says so (`true`) or `timeout` passes (`false`), backing
    /// off from 100 ms to a second.
    pub(super) async fn poll(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        timeout: Duration,
        done: impl Fn(Option<&serde_json::Value>) -> bool,
    ) -> Result<bool, ApiFailure> {
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(100);
        loop {
            if done(self.get(resource, id).await?.as_ref()) {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }
}

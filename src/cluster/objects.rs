//! Reading and server-side applying single objects of any kind.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::Value;

use super::failure::ApiFailure;
use super::retry::with_retry;
use super::{Cluster, FIELD_MANAGER};
use crate::object::{ObjectRef, Resource};

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Ask the server to run every check and admission step but persist nothing.
    pub dry_run: bool,
    /// Reject unknown and duplicate fields; when off, ask the server to drop them silently
    /// (servers older than 1.25 ignore the setting).
    pub strict: bool,
    /// Take ownership of fields another manager owns.
    pub force: bool,
    /// Write only if the live object is still at this resourceVersion (a saved plan's
    /// precondition); the server refuses the write otherwise.
    pub resource_version: Option<String>,
}

impl Cluster {
    pub(super) fn api(&self, resource: &Resource, namespace: Option<&str>) -> Api<DynamicObject> {
        let api_resource = ApiResource {
            group: resource.group.clone(),
            version: resource.version.clone(),
            api_version: if resource.group.is_empty() {
                resource.version.clone()
            } else {
                format!("{}/{}", resource.group, resource.version)
            },
            kind: resource.kind.clone(),
            plural: resource.plural.clone(),
        };
        match (resource.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &api_resource),
            _ => Api::all_with(self.client.clone(), &api_resource),
        }
    }

    /// The live object, or `None` when it does not exist.
    pub async fn get(
        &self,
        resource: &Resource,
        id: &ObjectRef,
    ) -> Result<Option<Value>, ApiFailure> {
        let api = self.api(resource, id.namespace.as_deref());
        let found = with_retry(|| api.get_opt(&id.name))
            .await
            .map_err(ApiFailure::from_kube)?;
        found
            .map(|o| serde_json::to_value(o).map_err(|e| ApiFailure::transport(e.to_string())))
            .transpose()
    }

    /// Removes labels or annotations, `(section, key)`, with a JSON merge patch (a field
    /// another manager owns cannot be removed by applying without it).
    pub async fn remove_metadata(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        keys: &[(&str, &str)],
    ) -> Result<(), ApiFailure> {
        let mut patch = serde_json::json!({"metadata": {}});
        for (section, key) in keys {
            patch["metadata"][*section][*key] = Value::Null;
        }
        let api = self.api(resource, id.namespace.as_deref());
        let params = PatchParams::default();
        let patch = Patch::Merge(&patch);
        with_retry(|| api.patch(&id.name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(ApiFailure::from_kube)
    }

    /// Server-side apply as field manager `kpush`; returns the object as the server has it
    /// (or would have it, with `dry_run`).
    pub async fn apply(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        object: &Value,
        options: ApplyOptions,
    ) -> Result<Value, ApiFailure> {
        let api = self.api(resource, id.namespace.as_deref());
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if options.dry_run {
            params = params.dry_run();
        }
        params = if options.strict {
            params.validation_strict()
        } else {
            params.validation_ignore()
        };
        if options.force {
            params = params.force();
        }
        let pinned;
        let object = match &options.resource_version {
            Some(version) => {
                let mut body = object.clone();
                body["metadata"]["resourceVersion"] = Value::String(version.clone());
                pinned = body;
                &pinned
            }
            None => object,
        };
        let patch = Patch::Apply(object);
        let applied = with_retry(|| api.patch(&id.name, &params, &patch))
            .await
            .map_err(ApiFailure::from_kube)?;
        serde_json::to_value(applied).map_err(|e| ApiFailure::transport(e.to_string()))
    }
}

//! API discovery, once per run and only for the API versions the manifests use.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;

use super::failure::{ApiFailure, FailureClass};
use super::retry::with_retry;
use super::{Cluster, ClusterError};
use crate::object::Resource;

/// What the server serves, for the API versions asked about.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Per `apiVersion`: the resources it serves, or `None` when the server does not serve it.
    versions: BTreeMap<String, Option<Vec<Resource>>>,
}

/// How a kind resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<'a> {
    Found(&'a Resource),
    /// The server does not serve this `apiVersion` at all.
    UnknownApiVersion,
    /// The `apiVersion` exists, but has no such kind.
    UnknownKind,
}

const CONCURRENCY: usize = 8;

impl Cluster {
    /// What the server serves for each `apiVersion`: two requests with aggregated discovery,
    /// otherwise one request per version, concurrently.
    pub async fn discover(
        &self,
        api_versions: BTreeSet<String>,
    ) -> Result<Discovery, ClusterError> {
        if let Some(all) = self.discover_aggregated().await {
            tracing::info!("API discovery: aggregated, 2 requests");
            let versions = api_versions
                .into_iter()
                .map(|v| {
                    let served = all.get(&v).cloned();
                    (v, served)
                })
                .collect();
            return Ok(Discovery { versions });
        }
        tracing::info!(
            "API discovery: per API version, {} requests",
            api_versions.len()
        );
        let versions = stream::iter(api_versions)
            .map(|api_version| async move {
                let list = self.resource_list(&api_version).await;
                match list {
                    Ok(list) => Ok((api_version, Some(resources_of(&list)))),
                    Err(failure) if failure.code == 404 => Ok((api_version, None)),
                    Err(failure) => Err(self.discovery_error(api_version, failure)),
                }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(Discovery { versions })
    }

    /// What a Helm chart sees of the server (`.Capabilities`), as Argo CD passes it to
    /// `helm template`: the server's version, and every API version it serves, alone and with
    /// each of its kinds (`apps/v1`, `apps/v1/Deployment`).
    pub async fn capabilities(&self) -> Result<(String, Vec<String>), ClusterError> {
        let info = with_retry(|| self.client.apiserver_version())
            .await
            .map_err(|e| self.discovery_error("/version".into(), ApiFailure::from_kube(e)))?;
        let groups = with_retry(|| self.client.list_api_groups())
            .await
            .map_err(|e| self.discovery_error("/apis".into(), ApiFailure::from_kube(e)))?;
        let mut all: BTreeSet<String> = groups
            .groups
            .iter()
            .flat_map(|g| g.versions.iter().map(|v| v.group_version.clone()))
            .collect();
        all.insert("v1".into());
        let discovery = self.discover(all).await?;
        let mut api_versions = Vec::new();
        for (api_version, resources) in &discovery.versions {
            let Some(resources) = resources else { continue };
            api_versions.push(api_version.clone());
            api_versions.extend(
                resources
                    .iter()
                    .map(|r| format!("{api_version}/{}", r.kind)),
            );
        }
        Ok((info.git_version, api_versions))
    }

    /// The preferred version of every API group the server serves (`""` → `v1`).
    pub async fn preferred_versions(&self) -> Result<BTreeMap<String, String>, ClusterError> {
        let groups = with_retry(|| self.client.list_api_groups())
            .await
            .map_err(|e| self.discovery_error("/apis".into(), ApiFailure::from_kube(e)))?;
        let mut versions: BTreeMap<String, String> = groups
            .groups
            .into_iter()
            .filter_map(|g| {
                let version = g
                    .preferred_version
                    .map(|v| v.version)
                    .or_else(|| g.versions.first().map(|v| v.version.clone()))?;
                Some((g.name, version))
            })
            .collect();
        versions.insert(String::new(), "v1".into());
        Ok(versions)
    }

    /// Everything the server serves, from `/api` and `/apis` with aggregated discovery;
    /// `None` when the server does not offer it (it then answers with the older lists).
    async fn discover_aggregated(&self) -> Option<BTreeMap<String, Vec<Resource>>> {
        let (core, groups) = futures::join!(
            with_retry(|| self.client.list_core_api_versions_aggregated()),
            with_retry(|| self.client.list_api_groups_aggregated()),
        );
        let (core, groups) = (core.ok()?, groups.ok()?);
        if core.items.is_empty() || groups.items.is_empty() {
            return None;
        }
        let mut all = BTreeMap::new();
        for group in core.items.iter().chain(&groups.items) {
            let name = group
                .metadata
                .as_ref()
                .and_then(|m| m.name.clone())
                .unwrap_or_default();
            for version in &group.versions {
                let Some(v) = &version.version else { continue };
                let api_version = if name.is_empty() {
                    v.clone()
                } else {
                    format!("{name}/{v}")
                };
                let resources = version
                    .resources
                    .iter()
                    .filter_map(|r| {
                        Some(Resource {
                            group: name.clone(),
                            version: v.clone(),
                            kind: r.response_kind.as_ref()?.kind.clone()?,
                            plural: r.resource.clone()?,
                            namespaced: r.scope.as_deref() == Some("Namespaced"),
                        })
                    })
                    .collect();
                all.insert(api_version, resources);
            }
        }
        Some(all)
    }

    async fn resource_list(&self, api_version: &str) -> Result<APIResourceList, ApiFailure> {
        with_retry(|| async {
            if api_version.contains('/') {
                self.client.list_api_group_resources(api_version).await
            } else {
                self.client.list_core_api_resources(api_version).await
            }
        })
        .await
        .map_err(ApiFailure::from_kube)
    }

    fn discovery_error(&self, api_version: String, failure: ApiFailure) -> ClusterError {
        match (failure.class(), failure.code) {
            (FailureClass::Transient, 0) if failure.is_tls() => ClusterError::Tls {
                server: self.server.clone(),
                message: failure.message,
            },
            (FailureClass::Transient, _) => ClusterError::Unreachable {
                server: self.server.clone(),
                message: failure.message,
            },
            (_, 401) => ClusterError::Unauthorized {
                server: self.server.clone(),
                message: failure.message,
            },
            _ => ClusterError::Discovery {
                api_version,
                failure,
            },
        }
    }
}

impl Discovery {
    /// The resource for a kind, in whichever discovered version serves it.
    pub fn find_group_kind(&self, group: &str, kind: &str) -> Option<&Resource> {
        self.versions
            .values()
            .flatten()
            .flatten()
            .find(|r| r.group == group && r.kind == kind)
    }

    /// Adds what another discovery found.
    pub fn extend(&mut self, other: Discovery) {
        self.versions.extend(other.versions);
    }

    pub fn knows(&self, api_version: &str) -> bool {
        self.versions.contains_key(api_version)
    }

    pub fn resolve(&self, api_version: &str, kind: &str) -> Resolution<'_> {
        match self.versions.get(api_version) {
            Some(Some(resources)) => match resources.iter().find(|r| r.kind == kind) {
                Some(resource) => Resolution::Found(resource),
                None => Resolution::UnknownKind,
            },
            _ => Resolution::UnknownApiVersion,
        }
    }
}

/// Top-level resources only: `deployments/status` and other subresources are not kinds.
fn resources_of(list: &APIResourceList) -> Vec<Resource> {
    let (group, version) = crate::object::ObjectRef::split_api_version(&list.group_version);
    list.resources
        .iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| Resource {
            group: group.to_string(),
            version: version.to_string(),
            kind: r.kind.clone(),
            plural: r.name.clone(),
            namespaced: r.namespaced,
        })
        .collect()
}

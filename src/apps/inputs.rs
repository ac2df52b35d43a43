//! What ApplicationSet generators read in a run: the commit's files and the kubeconfig's
//! contexts.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::appset::{Cluster, Inputs};
use crate::cluster::KubeContext;
use crate::inventory::repository_key;
use crate::source::Snapshot;

/// The kubeconfig context extension that gives a cluster its labels and annotations, as an
/// Argo CD cluster secret has them.
pub const CLUSTER_EXTENSION: &str = "kpush.dev/cluster";

pub struct SnapshotInputs<'a> {
    snapshot: &'a Snapshot,
    kubeconfig: Option<&'a Path>,
    paths: OnceCell<Vec<String>>,
}

impl<'a> SnapshotInputs<'a> {
    pub fn new(snapshot: &'a Snapshot, kubeconfig: Option<&'a Path>) -> Self {
        SnapshotInputs {
            snapshot,
            kubeconfig,
            paths: OnceCell::new(),
        }
    }
}

impl Inputs for SnapshotInputs<'_> {
    fn file_paths(&self) -> Result<Vec<String>, String> {
        if let Some(paths) = self.paths.get() {
            return Ok(paths.clone());
        }
        let paths: Vec<String> = self
            .snapshot
            .file_paths(Path::new(""))
            .map_err(|e| e.to_string())?
            .iter()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        Ok(self.paths.get_or_init(|| paths).clone())
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        self.snapshot
            .read(Path::new(path))
            .map_err(|e| e.to_string())
    }

    fn clusters(&self) -> Result<Vec<Cluster>, String> {
        let contexts = crate::cluster::contexts(self.kubeconfig).map_err(|e| {
            format!("the `clusters` generator lists the kubeconfig's contexts: {e}")
        })?;
        Ok(clusters_of(&contexts))
    }

    fn is_this_repository(&self, url: &str) -> bool {
        let remotes = self.snapshot.remote_urls();
        remotes.is_empty()
            || remotes
                .iter()
                .any(|r| repository_key(r) == repository_key(url))
    }
}

/// One cluster per context: the context's name, its cluster's server, and the labels and
/// annotations of its `kpush.dev/cluster` extension.
pub fn clusters_of(contexts: &[KubeContext]) -> Vec<Cluster> {
    contexts
        .iter()
        .map(|context| {
            let extension = context.extensions.get(CLUSTER_EXTENSION);
            let strings = |key: &str| -> BTreeMap<String, String> {
                extension
                    .and_then(|e| e.get(key))
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), super::appset::template::text(v)))
                    .collect()
            };
            Cluster {
                name: context.name.clone(),
                server: context.server.clone(),
                labels: strings("labels"),
                annotations: strings("annotations"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_is_a_cluster_with_the_labels_of_its_extension() {
        let contexts = crate::cluster::contexts_from_yaml(
            "apiVersion: v1
kind: Config
clusters:
- {name: eu, cluster: {server: 'https://eu.example:6443'}}
- {name: us, cluster: {server: 'https://us.example'}}
users: [{name: ci, user: {token: t}}]
contexts:
- name: prod-eu
  context:
    cluster: eu
    user: ci
    extensions:
    - name: kpush.dev/cluster
      extension: {labels: {env: prod}, annotations: {owner: platform}}
- {name: dev-us, context: {cluster: us, user: ci}}
- {name: dangling, context: {cluster: nowhere, user: ci}}
",
        )
        .unwrap();
        let clusters = clusters_of(&contexts);
        assert_eq!(
            clusters,
            [
                Cluster {
                    name: "prod-eu".into(),
                    server: "https://eu.example:6443".into(),
                    labels: BTreeMap::from([("env".into(), "prod".into())]),
                    annotations: BTreeMap::from([("owner".into(), "platform".into())]),
                },
                Cluster {
                    name: "dev-us".into(),
                    server: "https://us.example".into(),
                    ..Cluster::default()
                },
            ]
        );
    }
}

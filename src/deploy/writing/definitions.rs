//! What other objects need first: namespaces (checked before the plan, created before
//! anything else) and CustomResourceDefinitions (established before their custom resources
//! are validated).

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, stream};
use serde_json::json;

use crate::cluster::{self, ApiFailure, ApplyOptions, Cluster, Discovery};
use crate::error::Error;
use crate::input::{Problem, RenderError};
use crate::object::{ObjectRef, Resource, Stage};
use crate::plan::{Action, Plan, Target};

use crate::deploy::AppRun;
use crate::deploy::staged::Outcome;

/// Label on namespaces kpush created, so people can tell where they came from.
const CREATED_BY_LABEL: &str = "app.kubernetes.io/created-by";
/// How long a CRD may take to be served.
const CRD_TIMEOUT: Duration = Duration::from_secs(60);

/// The namespaces the app's objects use that do not exist yet.
pub(in crate::deploy) struct Namespaces {
    pub missing: Vec<String>,
    /// Those `--create-namespace` creates (the rest are declared in the render).
    pub to_create: Vec<String>,
}

/// Which namespaces the app uses are missing, and which of them kpush creates; a missing
/// namespace that nothing creates is an input problem naming the object that needs it.
pub(in crate::deploy) async fn check_namespaces(
    cluster: &Cluster,
    run: &AppRun,
    targets: &[Target],
    destination: &str,
    namespace_resource: &Resource,
    concurrency: usize,
) -> Result<Namespaces, Error> {
    let mut used: BTreeSet<&str> = targets
        .iter()
        .filter_map(|t| t.id.namespace.as_deref())
        .collect();
    used.insert(destination);
    let missing = missing_namespaces(cluster, used, namespace_resource, concurrency).await?;
    let declared: BTreeSet<&str> = targets
        .iter()
        .filter(|t| t.resource == *namespace_resource)
        .map(|t| t.id.name.as_str())
        .collect();
    let mut problems = Vec::new();
    let mut to_create = Vec::new();
    for ns in &missing {
        if declared.contains(ns.as_str()) {
            continue;
        }
        if run.create_namespace {
            to_create.push(ns.clone());
            continue;
        }
        // An app that renders only apps (the root of an app-of-apps, whose namespace is often
        // Argo CD's own) has nothing to write there: its record is left out instead.
        if *ns == destination && targets.is_empty() && !run.children.is_empty() {
            continue;
        }
        let (origin, needed_by) = targets
            .iter()
            .find(|t| t.id.namespace.as_ref() == Some(ns))
            .map(|t| (t.origin.clone(), t.id.to_string()))
            .unwrap_or_else(|| (run.origin(), "the inventory".to_string()));
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
    Ok(Namespaces { missing, to_create })
}

pub(in crate::deploy) fn namespace_resource(discovery: &Discovery) -> Result<Resource, Error> {
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

/// Of the namespaces in `used`, those that do not exist yet.
async fn missing_namespaces(
    cluster: &Cluster,
    used: BTreeSet<&str>,
    namespace_resource: &Resource,
    concurrency: usize,
) -> Result<Vec<String>, Error> {
    let found: Vec<(String, Result<bool, ApiFailure>)> = stream::iter(used)
        .map(|ns| async move {
            let live = cluster
                .get(namespace_resource, &ObjectRef::namespace(ns))
                .await;
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

pub(in crate::deploy) async fn create_namespace(
    cluster: &Cluster,
    resource: &crate::object::Resource,
    name: &str,
    metadata: Option<&crate::deploy::NamespaceMetadata>,
) -> Outcome {
    let id = ObjectRef::namespace(name);
    let mut object = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {CREATED_BY_LABEL: "kpush"}}
    });
    if let Some(extra) = metadata {
        for (key, value) in &extra.labels {
            object["metadata"]["labels"][key] = json!(value);
        }
        if !extra.annotations.is_empty() {
            object["metadata"]["annotations"] = json!(extra.annotations);
        }
    }
    let result = cluster
        .apply(resource, &id, &object, ApplyOptions::default())
        .await;
    Outcome {
        id,
        action: Action::Create,
        error: result.err(),
        written_at: None,
    }
}
/// Custom resources can only be sent once their CRDs are served: waits for each CRD this
/// deploy created or changed. A CRD that does not become established is a failed outcome.
pub(in crate::deploy) async fn wait_for_crds(cluster: &Cluster, plan: &Plan) -> Vec<Outcome> {
    let waits = plan
        .targets()
        .filter(|(e, t)| t.policy.stage == Stage::Crds && e.writes())
        .map(|(e, t)| async move {
            let result = cluster
                .wait_established(&t.resource, &t.id, CRD_TIMEOUT)
                .await;
            result.err().map(|error| Outcome {
                id: t.id.clone(),
                action: e.action,
                error: Some(error),
                written_at: None,
            })
        });
    futures::future::join_all(waits)
        .await
        .into_iter()
        .flatten()
        .collect()
}

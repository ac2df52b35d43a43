//! The steps `diff` and `apply` share: read and render the source, connect, resolve kinds,
//! check namespaces, and build the plan from dry runs.

use std::collections::BTreeSet;

use futures::{StreamExt, stream};

use crate::cli::{GlobalArgs, TargetArgs};
use crate::cluster::{self, ApiFailure, ApplyOptions, Cluster, ConnectOptions, Discovery};
use crate::error::Error;
use crate::object::{ObjectRef, Resource};
use crate::plan::{self, DryRun, Observation, Plan, Target};
use crate::render::{self, Problem, RenderError, Rendered};
use crate::source::{self, Source, SourceRequest};

/// Reads the source at the requested revision and renders it; no cluster involved.
pub fn render(global: &GlobalArgs, path: &std::path::Path) -> Result<(Source, Rendered), Error> {
    let source = source::load(&SourceRequest {
        path,
        revision: &global.rev,
        repo: global.repo.as_deref(),
        trust_repo_owner: global.trust_repo_owner,
    })?;
    tracing::info!(files = source.files.len(), "read source");
    let rendered = render::render_directory(&source)?;
    Ok((source, rendered))
}

/// Everything known before the first write.
pub struct Prepared {
    pub cluster: Cluster,
    pub targets: Vec<Target>,
    pub plan: Plan,
    /// Destination namespaces that `--create-namespace` will create.
    pub namespaces_to_create: Vec<String>,
    pub namespace_resource: Resource,
    pub concurrency: usize,
    pub validate: bool,
}

pub async fn prepare(global: &GlobalArgs, args: &TargetArgs) -> Result<Prepared, Error> {
    let (_source, rendered) = render(global, &args.path)?;
    let cluster = cluster::connect(&ConnectOptions {
        kubeconfig: global.kubeconfig.as_deref(),
        context: global.context.as_deref(),
    })
    .await?;
    let mut api_versions: BTreeSet<String> = rendered
        .manifests
        .iter()
        .map(|m| m.id.api_version())
        .collect();
    api_versions.insert("v1".into());
    let discovery = cluster.discover(api_versions).await?;
    let namespace_resource = namespace_resource(&discovery)?;
    let default_namespace = global
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let targets = plan::targets(&rendered, &discovery, &default_namespace)
        .map_err(|problems| RenderError { problems })?;

    let concurrency = usize::from(args.concurrency);
    let missing = missing_namespaces(&cluster, &targets, &namespace_resource, concurrency).await?;
    let declared: BTreeSet<&str> = targets
        .iter()
        .filter(|t| t.resource == namespace_resource)
        .map(|t| t.id.name.as_str())
        .collect();
    let mut problems = Vec::new();
    let mut namespaces_to_create = Vec::new();
    for ns in &missing {
        if declared.contains(ns.as_str()) {
            continue;
        }
        if args.create_namespace {
            namespaces_to_create.push(ns.clone());
        } else {
            let first = targets
                .iter()
                .find(|t| t.id.namespace.as_ref() == Some(ns))
                .expect("a missing namespace comes from a target");
            problems.push(Problem {
                origin: first.origin.clone(),
                column: None,
                message: format!(
                    "namespace `{ns}` does not exist (needed by {})\nhint: pass `--create-namespace`, or add a Namespace manifest",
                    first.id
                ),
            });
        }
    }
    if !problems.is_empty() {
        return Err(RenderError { problems }.into());
    }

    let missing: BTreeSet<String> = missing.into_iter().collect();
    let observations = observe(&cluster, &targets, &missing, concurrency, args.validate).await;
    let plan = Plan::build(&targets, observations, args.validate);
    Ok(Prepared {
        cluster,
        targets,
        plan,
        namespaces_to_create,
        namespace_resource,
        concurrency,
        validate: args.validate,
    })
}

fn namespace_resource(discovery: &Discovery) -> Result<Resource, Error> {
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

fn namespace_ref(name: &str) -> ObjectRef {
    ObjectRef {
        group: String::new(),
        version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: name.to_string(),
    }
}

/// Namespaces that namespaced targets live in and that do not exist yet.
async fn missing_namespaces(
    cluster: &Cluster,
    targets: &[Target],
    namespace_resource: &Resource,
    concurrency: usize,
) -> Result<Vec<String>, Error> {
    let used: BTreeSet<&str> = targets
        .iter()
        .filter_map(|t| t.id.namespace.as_deref())
        .collect();
    let found: Vec<(String, Result<bool, ApiFailure>)> = stream::iter(used)
        .map(|ns| async move {
            let live = cluster.get(namespace_resource, &namespace_ref(ns)).await;
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

/// For each target, the live object and the dry-run result, concurrently, in target order.
pub async fn observe(
    cluster: &Cluster,
    targets: &[Target],
    pending_namespaces: &BTreeSet<String>,
    concurrency: usize,
    validate: bool,
) -> Vec<Observation> {
    let dry_run = ApplyOptions {
        dry_run: true,
        strict: validate,
        force: false,
    };
    stream::iter(targets)
        .map(|target| async move {
            if let Some(crd) = &target.awaits_crd {
                return Observation {
                    live: None,
                    dry_run: DryRun::Pending(format!(
                        "validated after CustomResourceDefinition `{crd}` is established"
                    )),
                };
            }
            if let Some(ns) = target
                .id
                .namespace
                .as_ref()
                .filter(|ns| pending_namespaces.contains(*ns))
            {
                return Observation {
                    live: None,
                    dry_run: DryRun::Pending(format!(
                        "validated after namespace `{ns}` is created"
                    )),
                };
            }
            let (live, applied) = futures::join!(
                cluster.get(&target.resource, &target.id),
                cluster.apply(&target.resource, &target.id, &target.object, dry_run)
            );
            match (live, applied) {
                (Ok(live), Ok(applied)) => Observation {
                    live,
                    dry_run: DryRun::Done(applied),
                },
                (Err(failure), _) | (_, Err(failure)) => Observation {
                    live: None,
                    dry_run: DryRun::Failed(failure),
                },
            }
        })
        .buffered(concurrency)
        .collect()
        .await
}

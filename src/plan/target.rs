//! Rendered manifests matched with the kinds the server serves: scope and namespace settled.

use serde_json::Value;

use crate::cluster::{Discovery, Resolution};
use crate::object::{ObjectRef, Origin, Resource};
use crate::render::{Problem, Rendered};

/// An object ready to send: its final identity, the resource to send it to, and its body.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: ObjectRef,
    pub origin: Origin,
    pub resource: Resource,
    pub object: Value,
}

/// Resolves every manifest's kind. Namespaced objects without a namespace get `namespace`;
/// cluster-scoped objects lose any namespace they were given, as kubectl does.
pub fn targets(
    rendered: &Rendered,
    discovery: &Discovery,
    namespace: &str,
) -> Result<Vec<Target>, Vec<Problem>> {
    let mut targets = Vec::with_capacity(rendered.manifests.len());
    let mut problems = Vec::new();
    for manifest in &rendered.manifests {
        let api_version = manifest.id.api_version();
        let resource = match discovery.resolve(&api_version, &manifest.id.kind) {
            Resolution::Found(resource) => resource.clone(),
            unknown => {
                let why = match unknown {
                    Resolution::UnknownApiVersion => {
                        format!("the server does not serve `{api_version}`")
                    }
                    _ => format!("`{api_version}` has no kind `{}`", manifest.id.kind),
                };
                problems.push(Problem {
                    origin: manifest.origin.clone(),
                    column: None,
                    message: format!(
                        "unknown kind `{}` for {}: {why}\nhint: check `apiVersion` and `kind`, or install the CustomResourceDefinition first",
                        manifest.id.kind, manifest.id
                    ),
                });
                continue;
            }
        };
        let mut id = manifest.id.clone();
        let mut object = manifest.object.clone();
        if resource.namespaced {
            let ns = id.namespace.get_or_insert_with(|| namespace.to_string());
            object["metadata"]["namespace"] = Value::String(ns.clone());
        } else {
            id.namespace = None;
            if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                metadata.remove("namespace");
            }
        }
        targets.push(Target {
            id,
            origin: manifest.origin.clone(),
            resource,
            object,
        });
    }
    if problems.is_empty() {
        Ok(targets)
    } else {
        Err(problems)
    }
}

//! Rendered manifests matched with the kinds the server serves: scope and namespace settled.

use std::collections::HashMap;

use serde_json::Value;

use crate::cluster::{Discovery, Resolution};
use crate::input::Problem;
use crate::object::policy::is_crd;
use crate::object::{ObjectRef, Origin, Policy, Resource};
use crate::render::{Manifest, Rendered};

/// An object ready to send: its final identity, the resource to send it to, and its body.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: ObjectRef,
    pub origin: Origin,
    pub resource: Resource,
    pub object: Value,
    /// The CustomResourceDefinition, declared in the same deploy, that must be established
    /// before this object can be validated and applied.
    pub awaits_crd: Option<String>,
    /// What the object's kind and annotations ask of kpush.
    pub policy: Policy,
    /// Take fields over from other managers (`--force-conflicts`, or selfHeal against people's
    /// edits).
    pub force: bool,
    /// The server does not serve the kind yet, and the object asks to wait for it
    /// (`SkipDryRunOnMissingResource`): `resource` is a guess until the kind is served.
    pub awaits_kind: bool,
    /// `apply --plan`: the live resourceVersion the approved plan was made against; the write
    /// is refused by the server if the object changed since.
    pub precondition: Option<String>,
}

impl Target {
    /// The run's apply options with what this object asks for itself.
    pub fn apply_options(
        &self,
        run: &crate::cluster::ApplyOptions,
    ) -> crate::cluster::ApplyOptions {
        crate::cluster::ApplyOptions {
            force: run.force || self.force || self.policy.force_conflicts,
            strict: run.strict && !self.policy.skip_validation,
            dry_run: run.dry_run,
            resource_version: self.precondition.clone(),
        }
    }
}

/// The kinds that CustomResourceDefinitions in the render will add, by (apiVersion, kind),
/// with the CRD's name.
fn declared_kinds(rendered: &Rendered) -> HashMap<(String, String), (Resource, String)> {
    let mut kinds = HashMap::new();
    for m in &rendered.manifests {
        if !is_crd(&m.id.group, &m.id.kind) {
            continue;
        }
        let spec = &m.object["spec"];
        let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) else {
            continue;
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        for version in spec["versions"].as_array().into_iter().flatten() {
            let served = version["served"].as_bool().unwrap_or(true);
            if let (Some(name), true) = (version["name"].as_str(), served) {
                let resource = Resource {
                    group: group.to_string(),
                    version: name.to_string(),
                    kind: kind.to_string(),
                    plural: plural.to_string(),
                    namespaced,
                };
                kinds.insert(
                    (format!("{group}/{name}"), kind.to_string()),
                    (resource, m.id.name.clone()),
                );
            }
        }
    }
    kinds
}

/// A stand-in for a kind the server does not serve yet: namespaced (as most custom resources
/// are) until discovery says otherwise.
fn unserved(manifest: &Manifest) -> Resource {
    Resource {
        group: manifest.id.group.clone(),
        version: manifest.id.version.clone(),
        kind: manifest.id.kind.clone(),
        plural: format!("{}s", manifest.id.kind.to_lowercase()),
        namespaced: true,
    }
}

fn unknown_kind(manifest: &Manifest, api_version: &str, resolution: Resolution<'_>) -> Problem {
    let why = match resolution {
        Resolution::UnknownApiVersion => format!("the server does not serve `{api_version}`"),
        _ => format!("`{api_version}` has no kind `{}`", manifest.id.kind),
    };
    Problem {
        origin: manifest.origin.clone(),
        column: None,
        message: format!(
            "unknown kind `{}` for {}: {why}\nhint: check `apiVersion` and `kind`, or install the CustomResourceDefinition first",
            manifest.id.kind, manifest.id
        ),
    }
}

/// Resolves every manifest's kind. Namespaced objects without a namespace get `namespace`;
/// cluster-scoped objects lose any namespace they were given, as kubectl does.
///
/// A kind nothing serves is a problem, unless the object (or, with `skip_missing`, the app)
/// says `SkipDryRunOnMissingResource=true`: it then waits for the kind during the deploy.
pub fn targets(
    rendered: &Rendered,
    discovery: &Discovery,
    namespace: &str,
    skip_missing: bool,
) -> Result<Vec<Target>, Vec<Problem>> {
    let mut targets = Vec::with_capacity(rendered.manifests.len());
    let mut problems = Vec::new();
    let declared = declared_kinds(rendered);
    for manifest in &rendered.manifests {
        let api_version = manifest.id.api_version();
        let mut awaits_crd = None;
        let mut awaits_kind = false;
        let resource = match discovery.resolve(&api_version, &manifest.id.kind) {
            Resolution::Found(resource) => resource.clone(),
            unknown => {
                if let Some((resource, crd)) =
                    declared.get(&(api_version.clone(), manifest.id.kind.clone()))
                {
                    awaits_crd = Some(crd.clone());
                    resource.clone()
                } else if skip_missing
                    || Policy::of(&unserved(manifest), &manifest.object).skip_dry_run_on_missing
                {
                    awaits_kind = true;
                    unserved(manifest)
                } else {
                    problems.push(unknown_kind(manifest, &api_version, unknown));
                    continue;
                }
            }
        };
        let mut id = manifest.id.clone();
        let mut object = manifest.object.clone();
        super::compat::fill_port_protocols(&mut object);
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
            policy: Policy::of(&resource, &object),
            object,
            awaits_crd,
            force: false,
            awaits_kind,
            resource,
            precondition: None,
        });
    }
    if problems.is_empty() {
        Ok(targets)
    } else {
        Err(problems)
    }
}

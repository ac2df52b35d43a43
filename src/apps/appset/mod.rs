//! ApplicationSets expanded into the Applications Argo CD's controller would generate from
//! them: generators give parameter sets, each fills the template (and `templatePatch`).

pub mod generators;
pub mod template;

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use generators::Generators;
pub use generators::{Cluster, Inputs};
use template::{Mode, fill, fill_from, fill_str, merge_patch};

use crate::apps::gotemplate;

/// Argo CD's finalizer: deleting the Application deletes what it deployed.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// The Applications an ApplicationSet generates, in the order of its generators.
#[derive(Debug, Default)]
pub struct Expanded {
    pub applications: Vec<Value>,
    pub warnings: Vec<String>,
}

/// Fields of an ApplicationSet's spec kpush reads.
const READ: [&str; 6] = [
    "generators",
    "template",
    "templatePatch",
    "goTemplate",
    "goTemplateOptions",
    "syncPolicy",
];

/// Fields that only change how Argo CD's controller updates the Applications it owns, which
/// kpush does not keep as objects.
const CONTROLLER_ONLY: [&str; 3] = [
    "preservedFields",
    "ignoreApplicationDifferences",
    "strategy",
];

/// Expands one ApplicationSet. Errors name the field or expression that could not be
/// evaluated.
pub fn expand(doc: &Value, inputs: &dyn Inputs) -> Result<Expanded, Vec<String>> {
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let at = |e: String| format!("ApplicationSet `{name}`: {e}");
    let spec = doc
        .get("spec")
        .and_then(Value::as_object)
        .ok_or_else(|| vec![at("`spec` must be a mapping".into())])?;
    let mut warnings = Vec::new();
    for key in spec.keys() {
        if CONTROLLER_ONLY.contains(&key.as_str()) {
            warnings.push(at(format!(
                "`spec.{key}` is not used by kpush: each generated app deploys as its own app, in the order of their sync waves"
            )));
        } else if !READ.contains(&key.as_str()) {
            warnings.push(at(format!(
                "`spec.{key}` is not supported by kpush; ignored"
            )));
        }
    }
    let mode = if spec.get("goTemplate").and_then(Value::as_bool) == Some(true) {
        let options: Vec<String> = spec
            .get("goTemplateOptions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str().map(str::to_string))
            .collect();
        Mode::Go(
            gotemplate::Options::parse(&options)
                .map_err(|e| vec![at(format!("`spec.goTemplateOptions`: {e}"))])?,
        )
    } else {
        Mode::Fast
    };
    let sync = spec.get("syncPolicy").cloned().unwrap_or(Value::Null);
    let preserve = sync
        .get("preserveResourcesOnDeletion")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(policy) = sync.get("applicationsSync").and_then(Value::as_str) {
        warnings.push(at(format!(
            "`spec.syncPolicy.applicationsSync: {policy}` is not used by kpush: every generated app is deployed as the commit defines it"
        )));
    }
    let patch = spec.get("templatePatch").and_then(Value::as_str);
    if patch.is_some() && !mode.is_go() {
        return Err(vec![at(
            "`spec.templatePatch` needs `goTemplate: true`, as in Argo CD".into(),
        )]);
    }
    let base = spec.get("template").cloned().unwrap_or(Value::Null);
    let generators = match spec.get("generators") {
        Some(Value::Array(g)) if !g.is_empty() => g,
        _ => {
            return Err(vec![at(
                "`spec.generators` must list at least one generator".into(),
            )]);
        }
    };
    let run = Generators {
        inputs,
        mode: &mode,
        warnings: RefCell::new(Vec::new()),
    };
    let mut applications = Vec::new();
    let mut errors = Vec::new();
    for (i, generator) in generators.iter().enumerate() {
        let here = format!("spec.generators[{i}]");
        let sets = match run.generate(generator, &here) {
            Ok(sets) => sets,
            Err(e) => {
                errors.push(at(e));
                continue;
            }
        };
        for set in sets {
            let mut template = base.clone();
            if let Some(own) = &set.template {
                let mut own = own.clone();
                fill_from(&mut own, &base);
                template = own;
            }
            match application(&template, &set.params, &mode, patch, preserve) {
                Ok(app) => applications.push(app),
                Err(e) => errors.push(at(format!("{here}: {e}"))),
            }
        }
    }
    warnings.extend(run.warnings.into_inner().into_iter().map(at));
    let mut names = BTreeSet::new();
    for app in &applications {
        let app_name = app["metadata"]["name"].as_str().unwrap_or("");
        if !names.insert(app_name.to_string()) {
            errors.push(at(format!(
                "generates two Applications named `{app_name}`; make `template.metadata.name` differ per parameter set"
            )));
        }
    }
    if errors.is_empty() {
        Ok(Expanded {
            applications,
            warnings,
        })
    } else {
        Err(errors)
    }
}

/// One Application from the template and a parameter set.
fn application(
    template: &Value,
    params: &Map<String, Value>,
    mode: &Mode,
    patch: Option<&str>,
    preserve: bool,
) -> Result<Value, String> {
    let filled = fill(template, params, mode).map_err(|e| format!("`template`: {e}"))?;
    let mut app = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": filled.get("metadata").cloned().unwrap_or_else(|| Value::Object(Map::new())),
        "spec": filled.get("spec").cloned().unwrap_or(Value::Null),
    });
    if let Some(patch) = patch {
        let text = fill_str(patch, params, mode).map_err(|e| format!("`templatePatch`: {e}"))?;
        let value: Value = serde_saphyr::from_str(&text)
            .map_err(|e| format!("`templatePatch` did not render to YAML: {e}\n{text}"))?;
        if !value.is_null() {
            merge_patch(&mut app, &value);
        }
    }
    // The ApplicationSet controller deletes what an app deployed when the app leaves the set,
    // unless told to preserve it.
    if !preserve {
        let finalizers = app["metadata"]
            .as_object_mut()
            .map(|m| m.entry("finalizers").or_insert(Value::Array(Vec::new())));
        if let Some(Value::Array(list)) = finalizers
            && !list.iter().any(|f| f == RESOURCES_FINALIZER)
        {
            list.push(Value::String(RESOURCES_FINALIZER.into()));
        }
    }
    Ok(app)
}

#[cfg(test)]
mod tests;

//! Argo CD's parameter override files in an app's path: `.argocd-source.yaml`, then
//! `.argocd-source-<app>.yaml`, whose Helm parameters, kustomize images and Jsonnet arguments
//! apply on top of the app definition, as Argo CD applies them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::spec::RenderSpec;
use super::{Problem, RenderError};
use crate::config::HelmParameter;
use crate::object::Origin;
use crate::source::Snapshot;

/// The app-specific override file, where write-back records promoted tags.
pub fn override_file(path: &Path, app: &str) -> PathBuf {
    path.join(format!(".argocd-source-{app}.yaml"))
}

pub fn apply_argocd_source(snapshot: &Snapshot, spec: &mut RenderSpec) -> Result<(), RenderError> {
    let files = [
        spec.path.join(".argocd-source.yaml"),
        override_file(&spec.path, &spec.app),
    ];
    for file in files {
        let Ok(Some(bytes)) = snapshot.read(&file) else {
            continue;
        };
        let problem = |message: String| RenderError {
            problems: vec![Problem {
                origin: Origin {
                    file: file.clone(),
                    line: 0,
                },
                column: None,
                message,
            }],
        };
        let docs = crate::input::parse_documents(&file, &bytes)
            .map_err(|p| RenderError { problems: vec![p] })?;
        let Some(doc) = docs.into_iter().next().map(|d| d.value) else {
            continue;
        };
        for parameter in doc["helm"]["parameters"].as_array().into_iter().flatten() {
            let Some(name) = parameter["name"].as_str() else {
                return Err(problem("a Helm parameter has no `name`".into()));
            };
            let value = match &parameter["value"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            spec.helm.parameters.retain(|p| p.name != name);
            spec.helm.parameters.push(HelmParameter {
                name: name.to_string(),
                value,
                force_string: parameter["forceString"].as_bool().unwrap_or(false),
            });
        }
        for image in doc["kustomize"]["images"].as_array().into_iter().flatten() {
            if let Some(image) = image.as_str() {
                spec.kustomize.images.push(image.to_string());
            }
        }
        // Argo CD merges the file into the source as a JSON merge patch: a list given there
        // replaces the app's.
        if let Some(jsonnet) = doc["directory"]["jsonnet"].as_object() {
            let settings = &mut spec.directory.jsonnet;
            for (key, list) in [
                ("extVars", &mut settings.ext_vars),
                ("tlas", &mut settings.tlas),
            ] {
                let Some(given) = jsonnet.get(key) else {
                    continue;
                };
                *list = Vec::new();
                for var in given.as_array().into_iter().flatten() {
                    let Some(name) = var["name"].as_str() else {
                        return Err(problem(format!(
                            "an entry of `directory.jsonnet.{key}` has no `name`"
                        )));
                    };
                    list.push(crate::config::JsonnetVar {
                        name: name.to_string(),
                        value: match &var["value"] {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        },
                        code: var["code"].as_bool().unwrap_or(false),
                    });
                }
            }
            if let Some(libs) = jsonnet.get("libs") {
                settings.libs = Vec::new();
                for lib in libs.as_array().into_iter().flatten() {
                    let lib = lib.as_str().unwrap_or_default();
                    if crate::source::inside_repository(Path::new(lib.trim_start_matches('/')))
                        .is_none()
                    {
                        return Err(problem(format!(
                            "`directory.jsonnet.libs: {lib}` is outside the repository; library paths are relative to the repository root"
                        )));
                    }
                    settings.libs.push(lib.to_string());
                }
            }
        }
        // kpush's addition for plain manifests and templates: `images: [repo:tag]`.
        for image in doc["images"].as_array().into_iter().flatten() {
            let Some(reference) = image.as_str() else {
                continue;
            };
            let (repository, Some(tag)) = crate::images::split_reference(reference) else {
                return Err(problem(format!("image `{reference}` has no tag")));
            };
            if !spec.images.iter().any(|p| p.repository == repository) {
                spec.images.push(crate::images::Promotion {
                    alias: None,
                    repository: repository.to_string(),
                    tag: tag.to_string(),
                    helm: Default::default(),
                    kustomize_name: None,
                    kept_from: None,
                    chosen: None,
                });
            }
        }
    }
    Ok(())
}

/// The override file's content with `promotions` recorded the way the app's kind reads them:
/// Helm parameters, kustomize images, or kpush's `images` list.
pub fn record_promotions(
    existing: Option<&[u8]>,
    kind: super::SourceKind,
    promotions: &[crate::images::Promotion],
) -> Result<String, String> {
    let mut doc: Value = match existing {
        Some(bytes) => crate::input::parse_documents(Path::new(".argocd-source.yaml"), bytes)
            .map_err(|p| p.message)?
            .into_iter()
            .next()
            .map(|d| d.value)
            .unwrap_or_else(|| serde_json::json!({})),
        None => serde_json::json!({}),
    };
    if !doc.is_object() {
        doc = serde_json::json!({});
    }
    for p in promotions {
        match kind {
            super::SourceKind::Helm => {
                let mut spec = RenderSpec {
                    images: vec![p.clone()],
                    ..RenderSpec::default()
                };
                spec.promote_in_helm();
                let list = doc["helm"]["parameters"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut list: Vec<Value> = list
                    .into_iter()
                    .filter(|v| {
                        !spec
                            .helm
                            .parameters
                            .iter()
                            .any(|n| v["name"] == n.name.as_str())
                    })
                    .collect();
                list.extend(spec.helm.parameters.iter().map(
                    |n| serde_json::json!({"name": n.name, "value": n.value, "forceString": true}),
                ));
                doc["helm"]["parameters"] = Value::Array(list);
            }
            super::SourceKind::Kustomize => {
                let name = p
                    .kustomize_name
                    .clone()
                    .unwrap_or_else(|| p.repository.clone());
                let entry = format!("{name}={}:{}", p.repository, p.tag);
                let mut list: Vec<Value> = doc["kustomize"]["images"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                list.retain(|v| {
                    !v.as_str()
                        .is_some_and(|s| s.starts_with(&format!("{name}=")))
                });
                list.push(Value::String(entry));
                doc["kustomize"]["images"] = Value::Array(list);
            }
            super::SourceKind::Directory => {
                let mut list: Vec<Value> = doc["images"].as_array().cloned().unwrap_or_default();
                list.retain(|v| {
                    v.as_str()
                        .is_none_or(|s| crate::images::split_reference(s).0 != p.repository)
                });
                list.push(Value::String(p.to_string()));
                doc["images"] = Value::Array(list);
            }
        }
    }
    serde_saphyr::to_string(&doc).map_err(|e| e.to_string())
}

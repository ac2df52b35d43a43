//! Argo CD's parameter override files in an app's path: `.argocd-source.yaml`, then
//! `.argocd-source-<app>.yaml`, whose Helm parameters and kustomize images apply on top of the
//! app definition, as Argo CD applies them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::app::RenderSpec;
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
        let docs =
            super::parse_documents(&file, &bytes).map_err(|p| RenderError { problems: vec![p] })?;
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
    }
    Ok(())
}

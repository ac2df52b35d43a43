//! What rendering one app needs (no cluster), and how promoted images enter it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::tools::Tools;
use crate::config::{DirectorySpec, HelmParameter, HelmSpec, KustomizeSpec};
use crate::images::Promotion;

/// A layer of values, lowest precedence first.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueLayer {
    /// A values file in the repository (repository-relative).
    File(PathBuf),
    /// Values given inline (config, `--values` files from disk, `--set`).
    Inline(Value),
}

/// Everything rendering one app needs; no cluster.
#[derive(Debug, Clone, Default)]
pub struct RenderSpec {
    pub app: String,
    pub env: Option<String>,
    /// Repository-relative path of the app.
    pub path: PathBuf,
    /// Destination namespace, for Helm's `.Release.Namespace`.
    pub namespace: Option<String>,
    pub directory: DirectorySpec,
    pub helm: HelmSpec,
    pub kustomize: KustomizeSpec,
    pub values: Vec<ValueLayer>,
    /// Values files of every environment: never read as manifests, whichever is deployed.
    pub value_files: Vec<PathBuf>,
    pub tools: Tools,
    /// Promoted images, already checked against the policy.
    pub images: Vec<Promotion>,
    /// The process environment variables the app's config lets templates read.
    pub env_vars: BTreeMap<String, String>,
    /// `--allow-empty`: a directory whose every file was skipped may render nothing.
    pub allow_empty: bool,
    /// The cluster a chart deploys to, for `.Capabilities`; `None` without a cluster (`kpush
    /// render`, a diff between commits): then Helm's defaults.
    pub capabilities: Option<Capabilities>,
    /// A chart from a repository or registry instead of the repository's `path`.
    pub chart: Option<crate::source::charts::ChartSource>,
    /// A multi-source app's other sources that render objects: each rendered like this one
    /// (with its images and capabilities), their objects joined into one app.
    pub more: Vec<RenderSpec>,
    /// This source's path is in another git repository, fetched at its revision.
    pub origin: Option<crate::source::remote::GitOrigin>,
    /// `ref` sources in other git repositories, by name: `$name/…` values files are read
    /// from them (those of this repository are written `$/…`).
    pub refs: Vec<(String, crate::source::remote::GitOrigin)>,
    /// The Argo CD Applications and ApplicationSets the app renders deploy as apps of their
    /// own (app-of-apps): they are left out of its objects.
    pub children_apart: bool,
}

/// A server's version and API versions, as Helm's `--kube-version` and `--api-versions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capabilities {
    pub kube_version: String,
    pub api_versions: Vec<String>,
}

impl RenderSpec {
    /// Helm: the promoted tag goes to the values the policy names (`image.tag` by default), as
    /// `--set-string` parameters after everything else.
    pub fn promote_in_helm(&mut self) {
        for p in &self.images {
            let key = |k: &Option<String>, default: &str| {
                k.as_deref()
                    .unwrap_or(default)
                    .trim_start_matches('.')
                    .to_string()
            };
            let mut set = |name: String, value: String| {
                self.helm
                    .parameters
                    .retain(|existing| existing.name != name);
                self.helm.parameters.push(HelmParameter {
                    name,
                    value,
                    force_string: true,
                });
            };
            match &p.helm.image_spec {
                Some(name) => set(name.trim_start_matches('.').to_string(), p.to_string()),
                None => {
                    set(key(&p.helm.image_tag, "image.tag"), p.tag.clone());
                    if p.helm.image_name.is_some() {
                        set(
                            key(&p.helm.image_name, "image.repository"),
                            p.repository.clone(),
                        );
                    }
                }
            }
        }
    }

    /// Kustomize: the promoted tag becomes an `images:` entry (`kustomize edit set image`).
    pub fn promote_in_kustomize(&mut self) {
        for p in &self.images {
            let name = p
                .kustomize_name
                .clone()
                .unwrap_or_else(|| p.repository.clone());
            self.kustomize
                .images
                .push(format!("{name}={}:{}", p.repository, p.tag));
        }
    }
}

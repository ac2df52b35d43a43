//! App definitions: which paths to deploy where, with which sync options. Read from the repo at
//! the deployed revision: Argo CD `Application` manifests verbatim, or kpush's own format of the
//! same shape with environments.

mod parse;
mod sync_options;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

pub use parse::{ConfigError, parse_application, parse_config};
pub use sync_options::{PruneProp, SyncOptions};

use crate::object::Origin;

/// The default config file, at the repository root.
pub const DEFAULT_CONFIG: &str = "kpush.yaml";

/// One app as its definition describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppConfig {
    pub name: String,
    /// Where the definition is.
    pub origin: Origin,
    /// Argo CD's format (`argoproj.io/v1alpha1`) or kpush's.
    pub argo: bool,
    pub source: SourceSpec,
    pub destination: Destination,
    pub sync: SyncSpec,
    pub environments: BTreeMap<String, Environment>,
    /// `Kind/name:dotted.path` of values to mask in every output like Secret data.
    pub sensitive_paths: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    /// Image promotion policies: Image Updater annotations, or kpush's `images` block.
    pub images: Vec<crate::images::ImagePolicy>,
    /// kpush: whether the app may hold cluster-scoped objects (default: yes).
    pub allow_cluster_scoped: Option<bool>,
    /// kpush: choose image tags from the registries on every diff and apply, as
    /// `--update-images` does.
    pub update_images: Option<bool>,
    /// kpush: whether objects may name a namespace other than the destination (default: yes).
    pub allow_other_namespaces: Option<bool>,
    /// Argo CD's `ignoreDifferences`.
    pub ignore_differences: Vec<crate::plan::ignore::IgnoreRule>,
    /// The ApplicationSet that generated this app, if one did.
    pub generated_by: Option<String>,
    /// The app whose render holds this app's Application (app-of-apps), if any.
    pub parent: Option<String>,
    /// The apps this app renders, in the order they deploy.
    pub children: Vec<String>,
    /// `metadata.finalizers`: Argo CD's resources finalizer says deleting the app deletes
    /// what it deployed.
    pub finalizers: Vec<String>,
}

impl AppConfig {
    /// The app's sync options, with the environment's on top.
    pub fn sync_options(&self, env: Option<&Environment>) -> SyncOptions {
        match env {
            Some(e) => self.sync.options.overlay(&e.sync_options),
            None => self.sync.options.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceSpec {
    /// Repository-relative path of the app's manifests, chart or kustomization.
    pub path: PathBuf,
    pub target_revision: Option<String>,
    pub repo_url: Option<String>,
    /// A chart from the Helm repository or OCI registry at `repo_url`; `target_revision` is
    /// then its version (or semver range), and `path` is not used.
    pub chart: Option<String>,
    /// A multi-source app's `ref` sources: `$name/…` values files are read from them.
    pub refs: Vec<RefSource>,
    pub helm: HelmSpec,
    pub kustomize: KustomizeSpec,
    pub directory: DirectorySpec,
    /// Values for `.j2` templates (and Helm), lowest precedence.
    pub values: Option<Value>,
    /// Values files, relative to the app path.
    pub value_files: Vec<String>,
    /// Names of process environment variables `.j2` templates may read (`env_vars.NAME`);
    /// templates see no other variable.
    pub template_env: Vec<String>,
    /// A multi-source app's other sources that render objects, each read like this one (its
    /// own path or chart, helm, kustomize and directory settings); their objects and this
    /// one's form one app, with one inventory.
    pub more: Vec<SourceSpec>,
}

/// A `ref` source of a multi-source app: a repository (at a revision) that values files
/// written `$name/…` are read from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefSource {
    pub name: String,
    pub url: String,
    pub revision: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HelmSpec {
    pub release_name: Option<String>,
    /// Relative to the chart directory; globs allowed.
    pub value_files: Vec<String>,
    /// A YAML document as a string (Argo CD's `values`); ignored when `values_object` is set.
    pub values: Option<String>,
    pub values_object: Option<Value>,
    pub parameters: Vec<HelmParameter>,
    /// `--set-file NAME=PATH`, the path relative to the chart directory.
    pub file_parameters: Vec<(String, String)>,
    /// Missing `value_files` are skipped instead of refused.
    pub ignore_missing_value_files: bool,
    pub skip_crds: bool,
    pub skip_tests: bool,
    pub skip_schema_validation: bool,
    /// The release namespace (`.Release.Namespace`), instead of the destination namespace.
    pub namespace: Option<String>,
    /// `.Capabilities` to render with instead of the destination cluster's.
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HelmParameter {
    pub name: String,
    pub value: String,
    pub force_string: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KustomizeSpec {
    /// `name=newName:newTag`, `name:newTag` or `name@digest`, as `kustomize edit set image`.
    pub images: Vec<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    /// `kustomize edit set namespace`.
    pub namespace: Option<String>,
    /// `kustomize edit set replicas NAME=COUNT`.
    pub replicas: Vec<(String, i64)>,
    /// Added to the kustomization's `patches`, as written.
    pub patches: Vec<Value>,
    /// `kustomize edit add component`.
    pub components: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DirectorySpec {
    pub recurse: bool,
    /// Glob of files to read, relative to the app path (Argo CD's `include`).
    pub include: Option<String>,
    pub exclude: Option<String>,
    /// How the directory's `*.jsonnet` files are evaluated (Argo CD's `directory.jsonnet`).
    pub jsonnet: JsonnetSpec,
}

impl Default for DirectorySpec {
    fn default() -> Self {
        DirectorySpec {
            recurse: true,
            include: None,
            exclude: None,
            jsonnet: JsonnetSpec::default(),
        }
    }
}

/// Argo CD's `directory.jsonnet`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonnetSpec {
    /// `std.extVar(name)` values.
    pub ext_vars: Vec<JsonnetVar>,
    /// Top-level arguments, for a file whose value is a function.
    pub tlas: Vec<JsonnetVar>,
    /// Library search paths, relative to the repository root.
    pub libs: Vec<String>,
}

/// One external variable or top-level argument: a string, or Jsonnet code when `code`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonnetVar {
    pub name: String,
    pub value: String,
    pub code: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Destination {
    pub namespace: Option<String>,
    pub server: Option<String>,
    pub name: Option<String>,
    /// kpush: the kubeconfig context to deploy with.
    pub context: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncSpec {
    pub prune: Option<bool>,
    pub self_heal: Option<bool>,
    pub allow_empty: Option<bool>,
    pub options: SyncOptions,
    /// `managedNamespaceMetadata`: labels and annotations of the namespace kpush creates.
    pub namespace_labels: BTreeMap<String, String>,
    pub namespace_annotations: BTreeMap<String, String>,
}

/// Per-environment overrides (kpush's format).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    pub namespace: Option<String>,
    pub context: Option<String>,
    pub value_files: Vec<String>,
    pub values: Option<Value>,
    pub sync_options: SyncOptions,
    pub prune: Option<bool>,
    pub update_images: Option<bool>,
    pub target_revision: Option<String>,
    /// Policies that replace the app's for the same alias in this environment.
    pub images: Vec<crate::images::ImagePolicy>,
}

/// Everything a config file holds.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub apps: Vec<AppConfig>,
    /// ApplicationSets, as written: the app set stage expands them.
    pub sets: Vec<SetDefinition>,
    /// Fields kpush does not support, each reported once.
    pub warnings: Vec<String>,
}

/// An ApplicationSet document and where it is.
#[derive(Debug, Clone)]
pub struct SetDefinition {
    pub origin: Origin,
    pub value: Value,
}

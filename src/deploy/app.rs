//! One app, as the settings resolved it: what to render and where and how to deploy it.

use std::path::PathBuf;

use crate::cluster::Propagation;
use crate::object::Origin;
use crate::render::RenderSpec;

/// One app, ready to render and deploy.
#[derive(Debug, Clone)]
pub struct AppRun {
    pub name: String,
    pub env: Option<String>,
    /// The revision to render (`--rev`, the environment's or app's `targetRevision`, or HEAD).
    pub revision: String,
    pub render: RenderSpec,
    pub context: Option<String>,
    /// Argo CD's `destination.server`, matched to a kubeconfig context when no context is set.
    pub server: Option<String>,
    pub namespace: Option<String>,
    pub create_namespace: bool,
    pub prune: bool,
    pub allow_empty: bool,
    pub validate: bool,
    pub propagation: Propagation,
    pub sensitive_paths: Vec<crate::input::SensitivePath>,
    /// Who the app is, recorded on its inventory so that another app of the same name never
    /// writes or prunes it.
    pub identity: crate::inventory::AppIdentity,
    /// The config file the app came from (repository-relative); `None` with a PATH.
    pub config: Option<PathBuf>,
    /// The app's `Prune` sync option: whether objects that leave the render may be deleted.
    pub prune_rule: crate::object::Prune,
    /// `Replace=true`: objects whose immutable fields change are deleted and created again.
    pub replace: bool,
    /// The images this deploy promotes, checked against the policy.
    pub images: Vec<crate::images::Promotion>,
    /// The app's image policies: a promotion kept from an earlier deploy is checked against
    /// them again and written where they say.
    pub image_policies: Vec<crate::images::ImagePolicy>,
    /// Argo CD's selfHeal: fields people changed by hand (kubectl edit, patch, ...) are taken
    /// back; conflicts with controllers are still reported.
    pub self_heal: bool,
    /// Argo CD's `ignoreDifferences`: fields left out of the comparison, and applied as they
    /// are live.
    pub ignore_differences: Vec<crate::plan::ignore::IgnoreRule>,
    /// The app's `SkipDryRunOnMissingResource=true`: kinds the server does not serve yet are
    /// applied once it serves them.
    pub skip_dry_run_on_missing: bool,
    /// Argo CD's `managedNamespaceMetadata`: on the destination namespace kpush creates.
    pub namespace_metadata: NamespaceMetadata,
    /// Argo CD's `ServerSideApply=true` sync option: fields other managers own are taken over,
    /// as `--force-conflicts` does.
    pub force_conflicts: bool,
    /// `allowClusterScoped: false` refuses cluster-scoped objects at validation.
    pub allow_cluster_scoped: bool,
    /// Choose the tags of image policies no `--image` names from their registries.
    pub update_images: bool,
    /// `allowOtherNamespaces: false` refuses objects outside the destination namespace.
    pub allow_other_namespaces: bool,
    /// A recorded deploy to put back exactly as it was applied, instead of rendering.
    pub restore: Option<std::sync::Arc<Restore>>,
    /// The app whose render holds this app's Application (app-of-apps).
    pub parent: Option<String>,
    /// The apps this app renders, in the order they deploy.
    pub children: Vec<String>,
    /// Where those apps deploy, as the history records them.
    pub child_records: Vec<crate::inventory::history::ChildRecord>,
    /// Argo CD's resources finalizer is on the app's Application: when it leaves its
    /// parent's render, what it deployed is deleted with it.
    pub cascade: bool,
}

/// Labels and annotations for a namespace kpush creates.
#[derive(Debug, Clone, Default)]
pub struct NamespaceMetadata {
    pub labels: std::collections::BTreeMap<String, String>,
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// A recorded deploy's objects, read back from its snapshot.
#[derive(Debug)]
pub struct Restore {
    pub entry: crate::inventory::history::HistoryEntry,
    pub rendered: crate::render::Rendered,
}

impl AppRun {
    /// Where a problem about the app as a whole points: its path.
    pub fn origin(&self) -> Origin {
        Origin {
            file: self.render.path.clone(),
            line: 0,
        }
    }
}

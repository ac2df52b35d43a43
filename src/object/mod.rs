//! Identity of a Kubernetes object and where its manifest came from.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub mod hook;
pub mod policy;
#[cfg(test)]
pub mod testing;

pub use hook::{DeletePolicy, Hook, Phase};
pub use policy::{Confirmation, Policy, Prune, Stage};

/// The identity the cluster knows an object by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// API group; empty for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// `None` for cluster-scoped objects, or before the scope is known.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The `v1` Namespace `name`.
    pub fn namespace(name: &str) -> ObjectRef {
        ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: name.to_string(),
        }
    }

    /// Splits an `apiVersion` into group and version.
    pub fn split_api_version(api_version: &str) -> (&str, &str) {
        match api_version.rsplit_once('/') {
            Some((group, version)) => (group, version),
            None => ("", api_version),
        }
    }
}

/// `Deployment/shop/web`, or `Namespace/shop` for cluster-scoped objects: subject first, as in
/// every message kpush prints about an object.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// A kind as the API server serves it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The URL path segment, e.g. `deployments`.
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    /// A namespaced kind of the core group (`v1`), such as Pods or Events.
    pub fn core(kind: &str, plural: &str) -> Resource {
        Resource {
            group: String::new(),
            version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced: true,
        }
    }
}

/// Where a workload kind keeps its pod spec, as a JSON pointer; `None` for other kinds.
/// Whether an object is an Argo CD Application or ApplicationSet: in an app-of-apps, an app of
/// its own rather than an object to apply.
pub fn is_argo_app(object: &serde_json::Value) -> bool {
    object["apiVersion"] == "argoproj.io/v1alpha1"
        && matches!(
            object["kind"].as_str(),
            Some("Application" | "ApplicationSet")
        )
}

pub fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController"
        | "PodTemplate" => Some("/spec/template/spec"),
        _ => None,
    }
}

/// Where a manifest was read: a path relative to the repository root and a 1-based line.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    pub file: PathBuf,
    pub line: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file.display(), self.line)
        } else {
            write!(f, "{}", self.file.display())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_round_trips() {
        assert_eq!(ObjectRef::split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(ObjectRef::split_api_version("v1"), ("", "v1"));
        let r = ObjectRef {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
        };
        assert_eq!(r.api_version(), "apps/v1");
        assert_eq!(r.to_string(), "Deployment/shop/web");
    }
}

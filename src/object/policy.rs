//! What an object's kind and annotations ask of kpush, read once when the object is read
//! (a rendered target or an inventory member); everything after uses the [`Policy`].

use serde_json::Value;

use super::Resource;

/// Annotations kpush reads.
pub const WAVE_ANNOTATIONS: [&str; 2] = ["kpush.dev/wave", "argocd.argoproj.io/sync-wave"];
pub const REPLACE_ANNOTATION: &str = "kpush.dev/replace";
pub const PRUNE_ANNOTATION: &str = "kpush.dev/prune";
pub const ARGO_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";

/// The order writes go in; later stages may depend on earlier ones existing. Deletion runs
/// the other way: objects before their CRD and their namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Stage {
    /// What every other object lives in.
    Namespaces,
    /// What custom resources are kinds of.
    Crds,
    ClusterScoped,
    #[default]
    Namespaced,
}

impl Stage {
    pub fn of(group: &str, kind: &str, namespaced: bool) -> Stage {
        if is_namespace(group, kind) {
            Stage::Namespaces
        } else if is_crd(group, kind) {
            Stage::Crds
        } else if namespaced {
            Stage::Namespaced
        } else {
            Stage::ClusterScoped
        }
    }
}

pub fn is_namespace(group: &str, kind: &str) -> bool {
    group.is_empty() && kind == "Namespace"
}

pub fn is_crd(group: &str, kind: &str) -> bool {
    group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition"
}

/// Everything kpush decides about one object from its kind and annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub stage: Stage,
    /// `kpush.dev/wave` or Argo CD's `argocd.argoproj.io/sync-wave`; 0 when unset. Waves apply
    /// in ascending order.
    pub wave: i64,
    /// Delete and re-create the object when an immutable field changes (`kpush.dev/replace`,
    /// Argo CD's `Replace=true`, or the app's sync option).
    pub replace: bool,
    /// Why the object must never be pruned, if it must not (`kpush.dev/prune: "false"`, Argo
    /// CD's `Prune=false`).
    pub prune_protection: Option<String>,
}

impl Policy {
    pub fn of(resource: &Resource, object: &Value) -> Policy {
        let annotations = &object["metadata"]["annotations"];
        let argo: Vec<&str> = annotations[ARGO_SYNC_OPTIONS]
            .as_str()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .collect();
        let prune_protection = if annotations[PRUNE_ANNOTATION].as_str() == Some("false") {
            Some(format!("annotated `{PRUNE_ANNOTATION}: \"false\"`"))
        } else if argo.contains(&"Prune=false") {
            Some(format!("annotated `{ARGO_SYNC_OPTIONS}: Prune=false`"))
        } else {
            None
        };
        Policy {
            stage: Stage::of(&resource.group, &resource.kind, resource.namespaced),
            wave: WAVE_ANNOTATIONS
                .iter()
                .find_map(|a| annotations[*a].as_str()?.trim().parse().ok())
                .unwrap_or(0),
            replace: annotations[REPLACE_ANNOTATION].as_str() == Some("true")
                || argo.contains(&"Replace=true"),
            prune_protection,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::testing::resource;
    use serde_json::json;

    #[test]
    fn stages_follow_what_objects_live_in() {
        let cases = [
            (resource("", "Namespace", false), Stage::Namespaces),
            (
                resource("apiextensions.k8s.io", "CustomResourceDefinition", false),
                Stage::Crds,
            ),
            (
                resource("rbac.authorization.k8s.io", "ClusterRole", false),
                Stage::ClusterScoped,
            ),
            (resource("", "ConfigMap", true), Stage::Namespaced),
            // A custom kind named Namespace in another group is an ordinary object.
            (
                resource("example.com", "Namespace", true),
                Stage::Namespaced,
            ),
        ];
        for (r, stage) in cases {
            assert_eq!(Policy::of(&r, &json!({})).stage, stage, "{r:?}");
        }
        assert!(Stage::Namespaces < Stage::Crds && Stage::ClusterScoped < Stage::Namespaced);
    }

    #[test]
    fn annotations_are_read_once_into_the_policy() {
        let cm = resource("", "ConfigMap", true);
        let cases = [
            (json!({}), 0, false, false),
            (json!({"kpush.dev/wave": " -2 "}), -2, false, false),
            (
                json!({"argocd.argoproj.io/sync-wave": "5"}),
                5,
                false,
                false,
            ),
            (
                json!({"kpush.dev/wave": "1", "argocd.argoproj.io/sync-wave": "5"}),
                1,
                false,
                false,
            ),
            (json!({"kpush.dev/wave": "soon"}), 0, false, false),
            (json!({"kpush.dev/replace": "true"}), 0, true, false),
            (json!({"kpush.dev/replace": "false"}), 0, false, false),
            (
                json!({"argocd.argoproj.io/sync-options": "Prune=false, Replace=true"}),
                0,
                true,
                true,
            ),
            (json!({"kpush.dev/prune": "false"}), 0, false, true),
            (json!({"kpush.dev/prune": "true"}), 0, false, false),
        ];
        for (annotations, wave, replace, protected) in cases {
            let object = json!({"metadata": {"annotations": annotations}});
            let policy = Policy::of(&cm, &object);
            assert_eq!(policy.wave, wave, "{annotations}");
            assert_eq!(policy.replace, replace, "{annotations}");
            assert_eq!(
                policy.prune_protection.is_some(),
                protected,
                "{annotations}"
            );
        }
    }
}

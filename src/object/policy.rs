//! What an object's kind and annotations ask of kpush, read once when the object is read
//! (a rendered target or an inventory member); everything after uses the [`Policy`].

use serde_json::Value;

use super::Resource;

/// Annotations kpush reads.
pub const WAVE_ANNOTATIONS: [&str; 2] = ["kpush.dev/wave", "argocd.argoproj.io/sync-wave"];
pub const REPLACE_ANNOTATION: &str = "kpush.dev/replace";
pub const PRUNE_ANNOTATION: &str = "kpush.dev/prune";
pub const ARGO_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// What people moving from Helm and Flux already wrote to keep an object.
pub const HELM_RESOURCE_POLICY: &str = "helm.sh/resource-policy";
pub const FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";

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
    /// Argo CD's `Force=true,Replace=true`, or the app's sync options saying both). Never for
    /// the kinds [`Policy::may_recreate`] refuses.
    pub replace: bool,
    /// Whether the object may be deleted once it leaves the render.
    pub prune: Prune,
    /// Argo CD's `Validate=false` on the object: the server does not refuse its unknown
    /// fields, and kpush does not report fields the server dropped.
    pub skip_validation: bool,
    /// Argo CD's `ServerSideApply=true` on the object: fields other managers own are taken
    /// over, as Argo CD's server-side apply does.
    pub force_conflicts: bool,
    /// Argo CD's `SkipDryRunOnMissingResource=true`: a kind the server does not serve yet
    /// (another controller installs its CRD during the deploy) is applied once it is served.
    pub skip_dry_run_on_missing: bool,
    /// A sync hook: run at its phases, never applied with the app nor recorded as a member.
    pub hook: Option<super::hook::Hook>,
}

/// Whether an object that left the render may be deleted, and what says so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Prune {
    #[default]
    Allowed,
    /// Never (`kpush.dev/prune: "false"` or `disabled`, Argo CD's `Prune=false`, Helm's
    /// `helm.sh/resource-policy: keep`, Flux's `kustomize.toolkit.fluxcd.io/prune: disabled`).
    Never(String),
    /// Only when the run confirms it with `by`: Argo CD's `Prune=confirm`, and every
    /// Namespace, CustomResourceDefinition and PersistentVolumeClaim.
    Confirm { reason: String, by: Confirmation },
}

/// What confirms a deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confirmation {
    /// `--confirm-prune`.
    Prune,
    /// `--confirm-prune-namespaces`: a Namespace takes everything in it along.
    Namespaces,
    /// `--confirm-prune-crds`: a CRD takes every custom resource of its kind along.
    Crds,
    /// `--confirm-prune-volumes`: a PersistentVolumeClaim may take its volume's data along.
    Volumes,
}

impl Confirmation {
    pub fn flag(self) -> &'static str {
        match self {
            Confirmation::Prune => "--confirm-prune",
            Confirmation::Namespaces => "--confirm-prune-namespaces",
            Confirmation::Crds => "--confirm-prune-crds",
            Confirmation::Volumes => "--confirm-prune-volumes",
        }
    }
}

impl Prune {
    /// The stricter of two rules: never, then the more specific confirmation, then allowed.
    pub fn and(self, other: Prune) -> Prune {
        match (self, other) {
            (Prune::Never(r), _) | (_, Prune::Never(r)) => Prune::Never(r),
            (a @ Prune::Confirm { .. }, b @ Prune::Confirm { .. }) => {
                let by = |p: &Prune| match p {
                    Prune::Confirm { by, .. } => *by,
                    _ => Confirmation::Prune,
                };
                if by(&a) >= by(&b) { a } else { b }
            }
            (c @ Prune::Confirm { .. }, _) | (_, c @ Prune::Confirm { .. }) => c,
            _ => Prune::Allowed,
        }
    }

    /// What deleting an object of `resource` always needs, whatever its annotations say.
    fn of_kind(resource: &Resource) -> Prune {
        let Some(by) = Policy::guard_of(resource) else {
            return Prune::Allowed;
        };
        let reason = match by {
            Confirmation::Namespaces => "a Namespace: deleting it deletes everything in it",
            Confirmation::Crds => {
                "a CustomResourceDefinition: deleting it deletes every custom resource of its kind"
            }
            Confirmation::Volumes => {
                "a PersistentVolumeClaim: deleting it deletes its volume's data (unless the volume's reclaim policy is Retain)"
            }
            Confirmation::Prune => "",
        };
        Prune::Confirm {
            reason: reason.into(),
            by,
        }
    }
}

impl Policy {
    /// The flag that deleting any object of `resource` needs, because it takes much more
    /// along: a Namespace, a CustomResourceDefinition, a PersistentVolumeClaim.
    pub fn guard_of(resource: &Resource) -> Option<Confirmation> {
        match Stage::of(&resource.group, &resource.kind, resource.namespaced) {
            Stage::Namespaces => Some(Confirmation::Namespaces),
            Stage::Crds => Some(Confirmation::Crds),
            _ if resource.group.is_empty() && resource.kind == "PersistentVolumeClaim" => {
                Some(Confirmation::Volumes)
            }
            Stage::ClusterScoped | Stage::Namespaced => None,
        }
    }

    /// Whether deleting and re-creating an object of `resource` to change an immutable field
    /// may ever be done: not for a PersistentVolumeClaim (its volume's data), a Namespace
    /// (everything in it) or a CustomResourceDefinition (every custom resource of its kind).
    pub fn may_recreate(resource: &Resource) -> bool {
        let stage = Stage::of(&resource.group, &resource.kind, resource.namespaced);
        let pvc = resource.group.is_empty() && resource.kind == "PersistentVolumeClaim";
        !pvc && matches!(stage, Stage::ClusterScoped | Stage::Namespaced)
    }

    pub fn of(resource: &Resource, object: &Value) -> Policy {
        let annotations = &object["metadata"]["annotations"];
        let argo: Vec<&str> = annotations[ARGO_SYNC_OPTIONS]
            .as_str()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .collect();
        let text = |key: &str| annotations[key].as_str().unwrap_or("");
        let kpush = text(PRUNE_ANNOTATION);
        let prune = if matches!(kpush, "false" | "disabled") {
            Prune::Never(format!("annotated `{PRUNE_ANNOTATION}: \"{kpush}\"`"))
        } else if argo.contains(&"Prune=false") {
            Prune::Never(format!("annotated `{ARGO_SYNC_OPTIONS}: Prune=false`"))
        } else if text(HELM_RESOURCE_POLICY) == "keep" {
            Prune::Never(format!("annotated `{HELM_RESOURCE_POLICY}: keep`"))
        } else if text(FLUX_PRUNE) == "disabled" {
            Prune::Never(format!("annotated `{FLUX_PRUNE}: disabled`"))
        } else if argo.contains(&"Prune=confirm") {
            Prune::Confirm {
                reason: format!("annotated `{ARGO_SYNC_OPTIONS}: Prune=confirm`"),
                by: Confirmation::Prune,
            }
        } else {
            Prune::Allowed
        };
        let stage = Stage::of(&resource.group, &resource.kind, resource.namespaced);
        Policy {
            stage,
            // Helm's hook weight orders what declares no wave, as Argo CD reads it.
            wave: WAVE_ANNOTATIONS
                .iter()
                .chain([&super::hook::HELM_HOOK_WEIGHT])
                .find_map(|a| annotations[*a].as_str()?.trim().parse().ok())
                .unwrap_or(0),
            // Argo CD's Replace=true alone replaces in place; only with Force=true does it
            // delete and re-create.
            replace: annotations[REPLACE_ANNOTATION].as_str() == Some("true")
                || (argo.contains(&"Replace=true") && argo.contains(&"Force=true")),
            prune: prune.and(Prune::of_kind(resource)),
            skip_validation: argo.contains(&"Validate=false"),
            force_conflicts: argo.contains(&"ServerSideApply=true"),
            skip_dry_run_on_missing: argo.contains(&"SkipDryRunOnMissingResource=true"),
            hook: super::hook::Hook::of(object),
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
            (json!({}), 0, false),
            (json!({"kpush.dev/wave": " -2 "}), -2, false),
            (json!({"argocd.argoproj.io/sync-wave": "5"}), 5, false),
            (
                json!({"kpush.dev/wave": "1", "argocd.argoproj.io/sync-wave": "5"}),
                1,
                false,
            ),
            (json!({"kpush.dev/wave": "soon"}), 0, false),
            (json!({"kpush.dev/replace": "true"}), 0, true),
            (json!({"kpush.dev/replace": "false"}), 0, false),
            // Replace=true alone replaces in place: nothing is deleted.
            (
                json!({"argocd.argoproj.io/sync-options": "Prune=false, Replace=true"}),
                0,
                false,
            ),
            (
                json!({"argocd.argoproj.io/sync-options": "Force=true,Replace=true"}),
                0,
                true,
            ),
        ];
        for (annotations, wave, replace) in cases {
            let object = json!({"metadata": {"annotations": annotations}});
            let policy = Policy::of(&cm, &object);
            assert_eq!(policy.wave, wave, "{annotations}");
            assert_eq!(policy.replace, replace, "{annotations}");
        }
        let options = |text: &str| {
            Policy::of(
                &cm,
                &json!({"metadata": {"annotations": {ARGO_SYNC_OPTIONS: text}}}),
            )
        };
        let policy = options("Validate=false, ServerSideApply=true");
        assert!(policy.skip_validation && policy.force_conflicts);
        let policy = options("Validate=true,ServerSideApply=false");
        assert!(!policy.skip_validation && !policy.force_conflicts);
    }

    #[test]
    fn volumes_namespaces_and_crds_are_never_recreated() {
        assert!(!Policy::may_recreate(&resource(
            "",
            "PersistentVolumeClaim",
            true
        )));
        assert!(!Policy::may_recreate(&resource("", "Namespace", false)));
        assert!(!Policy::may_recreate(&resource(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            false
        )));
        assert!(Policy::may_recreate(&resource("batch", "Job", true)));
        assert!(Policy::may_recreate(&resource("", "Service", true)));
    }

    #[test]
    fn the_prune_opt_outs_of_kpush_argo_cd_helm_and_flux_are_honoured() {
        let cm = resource("", "ConfigMap", true);
        // (annotations, "never" | "confirm" | "allowed")
        let cases = [
            (json!({}), "allowed"),
            (json!({"kpush.dev/prune": "false"}), "never"),
            (json!({"kpush.dev/prune": "disabled"}), "never"),
            (json!({"kpush.dev/prune": "true"}), "allowed"),
            (
                json!({"argocd.argoproj.io/sync-options": "Prune=false"}),
                "never",
            ),
            (
                json!({"argocd.argoproj.io/sync-options": "Replace=true, Prune=confirm"}),
                "confirm",
            ),
            (
                json!({"argocd.argoproj.io/sync-options": "Prune=true"}),
                "allowed",
            ),
            (json!({"helm.sh/resource-policy": "keep"}), "never"),
            (json!({"helm.sh/resource-policy": "delete"}), "allowed"),
            (
                json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"}),
                "never",
            ),
            (
                json!({"kustomize.toolkit.fluxcd.io/prune": "enabled"}),
                "allowed",
            ),
            // Never outweighs confirm.
            (
                json!({"argocd.argoproj.io/sync-options": "Prune=confirm", "helm.sh/resource-policy": "keep"}),
                "never",
            ),
        ];
        for (annotations, expected) in cases {
            let object = json!({"metadata": {"annotations": annotations}});
            let got = match Policy::of(&cm, &object).prune {
                Prune::Allowed => "allowed",
                Prune::Never(_) => "never",
                Prune::Confirm { .. } => "confirm",
            };
            assert_eq!(got, expected, "{annotations}");
        }
        let never = || Prune::Never("a".into());
        let confirm = |by| Prune::Confirm {
            reason: "b".into(),
            by,
        };
        assert_eq!(confirm(Confirmation::Prune).and(never()), never());
        assert_eq!(
            Prune::Allowed.and(confirm(Confirmation::Prune)),
            confirm(Confirmation::Prune)
        );
        assert_eq!(
            confirm(Confirmation::Prune).and(confirm(Confirmation::Crds)),
            confirm(Confirmation::Crds)
        );
        assert_eq!(Prune::Allowed.and(Prune::Allowed), Prune::Allowed);
    }

    #[test]
    fn namespaces_crds_and_volumes_are_deleted_only_when_their_class_is_confirmed() {
        let by = |r: Resource, annotations: Value| match Policy::of(
            &r,
            &json!({"metadata": {"annotations": annotations}}),
        )
        .prune
        {
            Prune::Confirm { by, .. } => Some(by),
            _ => None,
        };
        let ns = || resource("", "Namespace", false);
        let crd = || resource("apiextensions.k8s.io", "CustomResourceDefinition", false);
        assert_eq!(by(ns(), json!({})), Some(Confirmation::Namespaces));
        assert_eq!(by(crd(), json!({})), Some(Confirmation::Crds));
        let pvc = || resource("", "PersistentVolumeClaim", true);
        assert_eq!(by(pvc(), json!({})), Some(Confirmation::Volumes));
        // Prune=confirm on a Namespace is answered by the Namespace flag, on a claim by the
        // volumes flag.
        let confirm = json!({"argocd.argoproj.io/sync-options": "Prune=confirm"});
        assert_eq!(by(ns(), confirm.clone()), Some(Confirmation::Namespaces));
        assert_eq!(by(pvc(), confirm), Some(Confirmation::Volumes));
        // A kind of that name in another group is an ordinary object.
        assert_eq!(
            by(
                resource("example.com", "PersistentVolumeClaim", true),
                json!({})
            ),
            None
        );
        // A keep annotation still keeps it for good.
        let keep = json!({"kpush.dev/prune": "false"});
        assert!(matches!(
            Policy::of(&ns(), &json!({"metadata": {"annotations": keep}})).prune,
            Prune::Never(_)
        ));
        assert_eq!(by(resource("", "ConfigMap", true), json!({})), None);
    }
}

//! Sync hooks: objects that run at a point of a deploy instead of being applied with the app.
//! Argo CD's `argocd.argoproj.io/hook` and Helm's `helm.sh/hook` are read here, once, into a
//! [`Hook`]; Helm's names map onto Argo CD's phases as Argo CD maps them.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

pub const ARGO_HOOK: &str = "argocd.argoproj.io/hook";
pub const ARGO_HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
pub const HELM_HOOK: &str = "helm.sh/hook";
pub const HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
pub const HELM_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Phase {
    /// Before anything of the app is applied; must succeed.
    PreSync,
    /// With the app's objects, in its wave.
    Sync,
    /// After every object of the deploy is healthy.
    PostSync,
    /// Only when the deploy fails.
    SyncFail,
    /// Never applied.
    Skip,
    /// Before `kpush delete` deletes the app's objects.
    PreDelete,
    /// After `kpush delete` deleted them.
    PostDelete,
    /// A chart's tests: after `PostSync`, with `--run-tests` only.
    Test,
    /// Helm's `pre-rollback` and `post-rollback`: around `kpush rollback` only.
    PreRollback,
    PostRollback,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreSync => "PreSync",
            Phase::Sync => "Sync",
            Phase::PostSync => "PostSync",
            Phase::SyncFail => "SyncFail",
            Phase::Skip => "Skip",
            Phase::PreDelete => "PreDelete",
            Phase::PostDelete => "PostDelete",
            Phase::Test => "Test",
            Phase::PreRollback => "PreRollback",
            Phase::PostRollback => "PostRollback",
        }
    }

    /// When the phase runs, for the plan.
    pub fn when(self) -> &'static str {
        match self {
            Phase::PreSync => "before the app is applied",
            Phase::Sync => "with the app, in its wave",
            Phase::PostSync => "once the app is healthy",
            Phase::SyncFail => "if the deploy fails",
            Phase::Skip => "never applied",
            Phase::PreDelete => "before `kpush delete` deletes the app",
            Phase::PostDelete => "after `kpush delete` deleted the app",
            Phase::Test => "with `--run-tests`, after PostSync",
            Phase::PreRollback => "before `kpush rollback`",
            Phase::PostRollback => "after `kpush rollback`",
        }
    }

    /// Argo CD's phase names, case as Argo CD writes them.
    fn argo(name: &str) -> Option<Phase> {
        Some(match name {
            "PreSync" => Phase::PreSync,
            "Sync" => Phase::Sync,
            "PostSync" => Phase::PostSync,
            "SyncFail" => Phase::SyncFail,
            "Skip" => Phase::Skip,
            "PreDelete" => Phase::PreDelete,
            "PostDelete" => Phase::PostDelete,
            _ => return None,
        })
    }

    /// Helm's hook names. `crd-install` is no hook (`None`): the CRD is applied with the app,
    /// before the objects of its kind, as every CRD is.
    fn helm(name: &str) -> Option<Phase> {
        Some(match name {
            "pre-install" | "pre-upgrade" => Phase::PreSync,
            "post-install" | "post-upgrade" => Phase::PostSync,
            "pre-delete" => Phase::PreDelete,
            "post-delete" => Phase::PostDelete,
            "pre-rollback" => Phase::PreRollback,
            "post-rollback" => Phase::PostRollback,
            "test" | "test-success" | "test-failure" => Phase::Test,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a hook object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum DeletePolicy {
    /// The previous object of the hook is deleted before the new one is created (the default
    /// when none is set).
    BeforeHookCreation,
    HookSucceeded,
    HookFailed,
}

impl DeletePolicy {
    fn parse(name: &str) -> Option<DeletePolicy> {
        Some(match name {
            "BeforeHookCreation" | "before-hook-creation" => DeletePolicy::BeforeHookCreation,
            "HookSucceeded" | "hook-succeeded" => DeletePolicy::HookSucceeded,
            "HookFailed" | "hook-failed" => DeletePolicy::HookFailed,
            _ => return None,
        })
    }
}

/// What an object's hook annotations ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hook {
    pub phases: BTreeSet<Phase>,
    pub delete: BTreeSet<DeletePolicy>,
    /// The annotation it came from, for messages: `argocd.argoproj.io/hook: PreSync`.
    pub declared_by: String,
}

impl Hook {
    /// The object's hook, if it is one. Argo CD's annotation wins over Helm's; a Helm hook
    /// annotation naming only `crd-install` (or nothing kpush knows) leaves an ordinary
    /// object.
    pub fn of(object: &Value) -> Option<Hook> {
        let annotations = &object["metadata"]["annotations"];
        let text = |key: &str| annotations[key].as_str().map(str::trim);
        let list = |text: &str| -> Vec<String> {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let (key, phases): (&str, BTreeSet<Phase>) = if let Some(argo) = text(ARGO_HOOK) {
            (
                ARGO_HOOK,
                list(argo).iter().filter_map(|p| Phase::argo(p)).collect(),
            )
        } else if let Some(helm) = text(HELM_HOOK) {
            (
                HELM_HOOK,
                list(helm).iter().filter_map(|p| Phase::helm(p)).collect(),
            )
        } else {
            return None;
        };
        if phases.is_empty() {
            return None;
        }
        let policies = text(ARGO_HOOK_DELETE_POLICY)
            .or_else(|| text(HELM_HOOK_DELETE_POLICY))
            .map(list)
            .unwrap_or_default();
        let mut delete: BTreeSet<DeletePolicy> = policies
            .iter()
            .filter_map(|p| DeletePolicy::parse(p))
            .collect();
        if delete.is_empty() {
            delete.insert(DeletePolicy::BeforeHookCreation);
        }
        Some(Hook {
            declared_by: format!("{key}: {}", text(key).unwrap_or_default()),
            phases,
            delete,
        })
    }

    pub fn runs_in(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }

    pub fn deletes(&self, policy: DeletePolicy) -> bool {
        self.delete.contains(&policy)
    }

    /// `PreSync,PostSync`.
    pub fn phase_list(&self) -> String {
        self.phases
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The name a hook object is created with: its `metadata.name`, or `None` when the server
/// generates one from `metadata.generateName`.
pub fn fixed_name(object: &Value) -> Option<&str> {
    object["metadata"]["name"]
        .as_str()
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    type Expected = Option<(Vec<Phase>, Vec<DeletePolicy>)>;

    fn hook(annotations: Value) -> Expected {
        Hook::of(&json!({"metadata": {"annotations": annotations}})).map(|h| {
            (
                h.phases.into_iter().collect(),
                h.delete.into_iter().collect(),
            )
        })
    }

    #[test]
    fn argo_cd_and_helm_hooks_map_onto_phases() {
        use DeletePolicy::*;
        use Phase::*;
        let cases: Vec<(Value, Expected)> = vec![
            (json!({}), None),
            (
                json!({"argocd.argoproj.io/hook": "PreSync"}),
                Some((vec![PreSync], vec![BeforeHookCreation])),
            ),
            (
                json!({"argocd.argoproj.io/hook": "PreSync, PostSync",
                       "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
                Some((vec![PreSync, PostSync], vec![HookSucceeded])),
            ),
            (
                json!({"argocd.argoproj.io/hook": "Skip"}),
                Some((vec![Skip], vec![BeforeHookCreation])),
            ),
            (
                json!({"argocd.argoproj.io/hook": "SyncFail"}),
                Some((vec![SyncFail], vec![BeforeHookCreation])),
            ),
            (
                json!({"helm.sh/hook": "pre-install,pre-upgrade",
                       "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}),
                Some((vec![PreSync], vec![BeforeHookCreation, HookSucceeded])),
            ),
            (
                json!({"helm.sh/hook": "post-install,post-upgrade"}),
                Some((vec![PostSync], vec![BeforeHookCreation])),
            ),
            (
                json!({"helm.sh/hook": "pre-delete"}),
                Some((vec![PreDelete], vec![BeforeHookCreation])),
            ),
            (
                json!({"helm.sh/hook": "post-delete", "helm.sh/hook-delete-policy": "hook-failed"}),
                Some((vec![PostDelete], vec![HookFailed])),
            ),
            (
                json!({"helm.sh/hook": "test"}),
                Some((vec![Test], vec![BeforeHookCreation])),
            ),
            (
                json!({"helm.sh/hook": "test-success"}),
                Some((vec![Test], vec![BeforeHookCreation])),
            ),
            (
                json!({"helm.sh/hook": "pre-rollback,post-rollback"}),
                Some((vec![PreRollback, PostRollback], vec![BeforeHookCreation])),
            ),
            // A CRD installed as a Helm hook is an ordinary object.
            (json!({"helm.sh/hook": "crd-install"}), None),
            // Argo CD's annotation wins over Helm's, and so does its delete policy.
            (
                json!({"argocd.argoproj.io/hook": "Sync", "helm.sh/hook": "pre-install",
                       "argocd.argoproj.io/hook-delete-policy": "HookFailed",
                       "helm.sh/hook-delete-policy": "hook-succeeded"}),
                Some((vec![Sync], vec![HookFailed])),
            ),
            // Names nobody defines leave an ordinary object.
            (json!({"argocd.argoproj.io/hook": "Later"}), None),
        ];
        for (annotations, expected) in cases {
            assert_eq!(hook(annotations.clone()), expected, "{annotations}");
        }
    }

    #[test]
    fn a_generated_name_is_no_fixed_name() {
        assert_eq!(fixed_name(&json!({"metadata": {"name": "a"}})), Some("a"));
        assert_eq!(
            fixed_name(&json!({"metadata": {"generateName": "a-"}})),
            None
        );
    }
}

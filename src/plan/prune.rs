//! Inventory members that are no longer rendered: what pruning would delete, and what it must
//! leave alone.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::{Action, Entry, Plan, SensitivePath, Subject, diff, normalize};
use crate::cluster::FIELD_MANAGER;
use crate::object::{Confirmation, ObjectRef, Policy, Prune, Resource};

/// A member of the inventory that the current render no longer declares.
#[derive(Debug, Clone)]
pub struct PruneCandidate {
    pub id: ObjectRef,
    pub resource: Resource,
    pub live: Value,
    /// Read from the live object's kind and annotations.
    pub policy: Policy,
    /// Why the object carries the app's label but is not the app's to delete.
    pub not_ours: Option<String>,
    /// `apply --plan`: delete only while the object is at the resourceVersion checked.
    pub precondition: Option<String>,
}

impl PruneCandidate {
    pub fn new(id: ObjectRef, resource: Resource, live: Value) -> PruneCandidate {
        PruneCandidate {
            policy: Policy::of(&resource, &live),
            not_ours: not_ours(&live),
            id,
            resource,
            live,
            precondition: None,
        }
    }
}

/// A label is copied with the object (`kubectl get -o yaml`, rename, create): membership also
/// needs kpush to have applied the object, and no controller to own it.
fn not_ours(live: &Value) -> Option<String> {
    let controller = live["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["controller"] == true);
    if let Some(owner) = controller {
        return Some(format!(
            "owned by its controller {}/{}, which deletes it",
            owner["kind"].as_str().unwrap_or("?"),
            owner["name"].as_str().unwrap_or("?")
        ));
    }
    let applied = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|f| f["manager"] == FIELD_MANAGER);
    (!applied).then(|| {
        "it carries the app's label, but kpush never applied it (a copy that kept the label?); delete it by hand if it is not needed".to_string()
    })
}

/// What the run says about pruning.
#[derive(Debug, Clone, Default)]
pub struct PruneRules {
    /// `--prune` (or the app's `prune: true`): without it every candidate is kept.
    pub enabled: bool,
    /// What the run confirms: `--confirm-prune`, `--confirm-prune-namespaces`,
    /// `--confirm-prune-crds`.
    pub confirmed: BTreeSet<Confirmation>,
    /// The app's own `Prune` sync option, applied to every candidate.
    pub app: Prune,
}

impl PruneRules {
    /// Why `candidate` stays, if it does.
    fn kept(&self, candidate: &PruneCandidate) -> Option<String> {
        if let Some(reason) = &candidate.not_ours {
            return Some(reason.clone());
        }
        match candidate.policy.prune.clone().and(self.app.clone()) {
            Prune::Never(reason) => Some(reason),
            Prune::Confirm { reason, by } if !self.confirmed.contains(&by) => {
                Some(format!("{reason}: deleted only with `{}`", by.flag()))
            }
            _ if !self.enabled => Some("pruning is off (pass `--prune` to delete it)".into()),
            _ => None,
        }
    }
}

/// One entry per candidate: `prune` (with the removal as a diff) or `keep` with the reason;
/// each entry keeps its candidate.
pub fn prune_entries(
    candidates: Vec<PruneCandidate>,
    rules: &PruneRules,
    sensitive: &[SensitivePath],
) -> Vec<Entry> {
    candidates
        .into_iter()
        .map(|c| {
            let kept = rules.kept(&c);
            let action = if kept.is_some() {
                Action::Keep
            } else {
                Action::Prune
            };
            let mut entry = Entry::new(c.id.clone(), None, action);
            entry.diff =
                diff::object_diff(Some(&normalize(c.live.clone())), &Value::Null, sensitive);
            entry.kept = kept;
            entry.subject = Subject::Member(Box::new(c));
            entry
        })
        .collect()
}

/// An object by what names it across API versions: group, kind, namespace and name.
type ObjectKey = (String, String, Option<String>, String);

fn object_key(id: &ObjectRef) -> ObjectKey {
    (
        id.group.clone(),
        id.kind.clone(),
        id.namespace.clone(),
        id.name.clone(),
    )
}

/// An object one app of a run drops and another declares is moving: the app that drops it
/// keeps it rather than prune it, whichever app the run writes first. `apps` are the run's
/// apps by name, with their plans.
pub fn keep_moving(apps: &mut [(&str, &mut Plan)]) {
    let declared = Declared::by(apps.iter().map(|(app, plan)| (*app, &**plan)));
    for (app, plan) in apps.iter_mut() {
        declared.keep(app, plan);
    }
}

/// Which app of the run declares each object, for [`keep_moving`] and for a plan made again.
#[derive(Debug, Default)]
pub struct Declared(HashMap<ObjectKey, String>);

impl Declared {
    pub fn by<'a>(apps: impl Iterator<Item = (&'a str, &'a Plan)>) -> Declared {
        Declared(
            apps.flat_map(|(app, plan)| {
                plan.targets()
                    .map(move |(_, t)| (object_key(&t.id), app.to_string()))
            })
            .collect(),
        )
    }

    /// Turns `app`'s prunes of objects another app declares into keeps.
    pub fn keep(&self, app: &str, plan: &mut Plan) {
        for entry in plan
            .entries
            .iter_mut()
            .filter(|e| e.action == Action::Prune)
        {
            if let Some(other) = self.0.get(&object_key(&entry.id)).filter(|a| *a != app) {
                entry.action = Action::Keep;
                entry.kept = Some(format!(
                    "app `{other}` declares it in this run: it moves there"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn candidate(annotations: Value) -> PruneCandidate {
        PruneCandidate::new(
            ObjectRef {
                group: String::new(),
                version: "v1".into(),
                kind: "Secret".into(),
                namespace: Some("shop".into()),
                name: "old".into(),
            },
            Resource {
                group: String::new(),
                version: "v1".into(),
                kind: "Secret".into(),
                plural: "secrets".into(),
                namespaced: true,
            },
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "old", "namespace": "shop", "annotations": annotations,
                                "managedFields": [{"manager": "kpush", "operation": "Apply"}]},
                   "data": {"token": "c2VjcmV0"}}),
        )
    }

    #[test]
    fn protected_objects_and_disabled_pruning_keep() {
        let confirm = json!({"argocd.argoproj.io/sync-options": "Prune=confirm"});
        let app_never = Prune::Never("the app's sync option `Prune=false`".into());
        let app_confirm = Prune::Confirm {
            reason: "the app's sync option `Prune=confirm`".into(),
            by: Confirmation::Prune,
        };
        // (annotations, --prune, --confirm-prune, the app's rule, expected)
        let cases = [
            (json!({}), true, false, Prune::Allowed, Action::Prune),
            (json!({}), false, true, Prune::Allowed, Action::Keep),
            (
                json!({"kpush.dev/prune": "false"}),
                true,
                true,
                Prune::Allowed,
                Action::Keep,
            ),
            (
                json!({"kpush.dev/prune": "disabled"}),
                true,
                true,
                Prune::Allowed,
                Action::Keep,
            ),
            (
                json!({"argocd.argoproj.io/sync-options": "Replace=true, Prune=false"}),
                true,
                false,
                Prune::Allowed,
                Action::Keep,
            ),
            (
                json!({"kpush.dev/prune": "true"}),
                true,
                false,
                Prune::Allowed,
                Action::Prune,
            ),
            (confirm.clone(), true, false, Prune::Allowed, Action::Keep),
            (confirm.clone(), true, true, Prune::Allowed, Action::Prune),
            // A confirmed prune is still a prune: off means off.
            (confirm, false, true, Prune::Allowed, Action::Keep),
            (json!({}), true, true, app_never, Action::Keep),
            (json!({}), true, false, app_confirm.clone(), Action::Keep),
            (json!({}), true, true, app_confirm, Action::Prune),
        ];
        for (annotations, enabled, confirmed, app, expected) in cases {
            let rules = PruneRules {
                enabled,
                confirmed: confirmed
                    .then_some(Confirmation::Prune)
                    .into_iter()
                    .collect(),
                app: app.clone(),
            };
            let entries = prune_entries(vec![candidate(annotations.clone())], &rules, &[]);
            assert_eq!(
                entries[0].action, expected,
                "{annotations} prune={enabled} confirmed={confirmed} app={app:?}"
            );
            assert_eq!(entries[0].kept.is_some(), expected == Action::Keep);
        }
    }

    #[test]
    fn only_what_kpush_applied_and_no_controller_owns_is_pruned() {
        let rules = PruneRules {
            enabled: true,
            ..PruneRules::default()
        };
        let action = |metadata: Value| {
            let mut c = candidate(json!({}));
            for (key, value) in metadata.as_object().unwrap() {
                c.live["metadata"][key] = value.clone();
            }
            c.not_ours = not_ours(&c.live);
            prune_entries(vec![c], &rules, &[])[0].action
        };
        assert_eq!(action(json!({})), Action::Prune);
        // A copy made with kubectl kept the label, not kpush's field manager.
        let copied =
            json!({"managedFields": [{"manager": "kubectl-create", "operation": "Update"}]});
        assert_eq!(action(copied), Action::Keep);
        assert_eq!(action(json!({"managedFields": null})), Action::Keep);
        let owned = json!({"ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": true}]});
        assert_eq!(action(owned), Action::Keep);
        let referenced = json!({"ownerReferences": [{"kind": "ConfigMap", "name": "x"}]});
        assert_eq!(action(referenced), Action::Prune);
    }

    #[test]
    fn an_object_moving_to_another_app_of_the_run_is_not_pruned() {
        let rules = PruneRules {
            enabled: true,
            ..PruneRules::default()
        };
        let dropped = || Plan {
            entries: prune_entries(vec![candidate(json!({}))], &rules, &[]),
        };
        let cm = crate::object::testing::resource("", "Secret", true);
        let mut declares = Plan {
            entries: vec![super::super::testing::rendered(
                &cm,
                "old",
                json!({}),
                Action::Create,
            )],
        };
        // Alone in its run, a dropped object is pruned.
        let mut a = dropped();
        keep_moving(&mut [("a", &mut a)]);
        assert_eq!(a.entries[0].action, Action::Prune);
        // Declared by another app of the run, it moves there.
        keep_moving(&mut [("a", &mut a), ("b", &mut declares)]);
        assert_eq!(a.entries[0].action, Action::Keep);
        assert!(a.entries[0].kept.as_deref().unwrap().contains("app `b`"));
        assert_eq!(declares.entries[0].action, Action::Create);
    }

    #[test]
    fn the_removal_diff_masks_secrets() {
        let rules = PruneRules {
            enabled: true,
            ..PruneRules::default()
        };
        let entries = prune_entries(vec![candidate(json!({}))], &rules, &[]);
        let diff = &entries[0].diff;
        assert!(diff.contains("-  token: <removed, 6 bytes>"), "{diff}");
        assert!(!diff.contains("c2VjcmV0"));
    }
}

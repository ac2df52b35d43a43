//! Comparing two renders without a cluster (`diff --from A --to B`): what a pull request
//! changes, for reviewers who have no cluster credentials.

use std::collections::BTreeMap;

use super::{Action, Entry, HookLine, Plan, SensitivePath, diff, normalize};
use crate::object::ObjectRef;
use crate::render::{Manifest, Rendered};

/// Identity without the version: moving `v1beta1` → `v1` is a change, not a remove and add.
type Key = (String, String, Option<String>, String);

fn key(id: &ObjectRef) -> Key {
    (
        id.group.clone(),
        id.kind.clone(),
        id.namespace.clone(),
        id.name.clone(),
    )
}

/// What the manifest's annotations ask for; the scope is unknown without a cluster and does not
/// matter to a comparison.
fn policy_of(m: &Manifest) -> crate::object::Policy {
    let resource = crate::object::Resource {
        group: m.id.group.clone(),
        version: m.id.version.clone(),
        kind: m.id.kind.clone(),
        plural: String::new(),
        namespaced: true,
    };
    crate::object::Policy::of(&resource, &m.object)
}

/// Objects of `new` that are added or changed relative to `old`, then those removed, in render
/// order; Secret values masked as everywhere.
pub fn compare(old: &Rendered, new: &Rendered, sensitive: &[SensitivePath]) -> Plan {
    let before: BTreeMap<Key, &Manifest> = old.manifests.iter().map(|m| (key(&m.id), m)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut entries = Vec::new();
    for m in &new.manifests {
        let k = key(&m.id);
        seen.insert(k.clone());
        let desired = normalize(m.object.clone());
        let (action, diff) = match before.get(&k) {
            None => (Action::Create, diff::object_diff(None, &desired, sensitive)),
            Some(old) => {
                let live = normalize(old.object.clone());
                if live == desired {
                    (Action::Unchanged, String::new())
                } else {
                    (
                        Action::Update,
                        diff::object_diff(Some(&live), &desired, sensitive),
                    )
                }
            }
        };
        let mut entry = Entry::new(m.id.clone(), Some(m.origin.clone()), action);
        entry.diff = diff;
        // A hook runs at its phase rather than being applied: its line says when.
        entry.hook = HookLine::of(&policy_of(m), &m.object);
        if entry.hook.is_some() {
            entry.action = Action::Hook;
        }
        entries.push(entry);
    }
    for m in &old.manifests {
        // A hook that leaves the render leaves nothing to delete.
        if seen.contains(&key(&m.id)) || policy_of(m).hook.is_some() {
            continue;
        }
        let removed = diff::object_diff(
            Some(&normalize(m.object.clone())),
            &serde_json::Value::Null,
            sensitive,
        );
        let mut entry = Entry::new(m.id.clone(), Some(m.origin.clone()), Action::Prune);
        entry.diff = removed;
        entries.push(entry);
    }
    Plan { entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Origin;
    use serde_json::json;

    fn rendered(objects: &[serde_json::Value]) -> Rendered {
        Rendered {
            manifests: objects
                .iter()
                .map(|o| Manifest::from_value(o.clone(), Origin::default()).unwrap())
                .collect(),
            chart: None,
            promoted: Vec::new(),
            fetched: Vec::new(),
            input_digest: None,
        }
    }

    fn cm(name: &str, value: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}})
    }

    #[test]
    fn added_changed_removed_and_unchanged() {
        let old = rendered(&[cm("same", "1"), cm("changed", "1"), cm("gone", "1")]);
        let new = rendered(&[cm("same", "1"), cm("changed", "2"), cm("new", "1")]);
        let plan = compare(&old, &new, &[]);
        let actions: Vec<(String, Action)> = plan
            .entries
            .iter()
            .map(|e| (e.id.name.clone(), e.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("same".to_string(), Action::Unchanged),
                ("changed".to_string(), Action::Update),
                ("new".to_string(), Action::Create),
                ("gone".to_string(), Action::Prune),
            ]
        );
        assert!(
            plan.entries[1].diff.contains("-  v: '1'")
                || plan.entries[1].diff.contains("-  v: \"1\""),
            "{}",
            plan.entries[1].diff
        );
    }

    #[test]
    fn hooks_say_when_they_run_and_leave_no_prune() {
        let hook = |name: &str, phase: &str| {
            let mut object = cm(name, "1");
            object["metadata"]["annotations"] = json!({"argocd.argoproj.io/hook": phase});
            object
        };
        let old = rendered(&[hook("gone", "PreSync"), hook("kept", "PostSync")]);
        let new = rendered(&[hook("kept", "PostSync"), hook("new", "SyncFail")]);
        let plan = compare(&old, &new, &[]);
        let lines: Vec<(&str, Action, Vec<crate::object::Phase>)> = plan
            .entries
            .iter()
            .map(|e| (e.id.name.as_str(), e.action, e.hook.clone().unwrap().phases))
            .collect();
        use crate::object::Phase::*;
        assert_eq!(
            lines,
            [
                ("kept", Action::Hook, vec![PostSync]),
                ("new", Action::Hook, vec![SyncFail]),
            ]
        );
    }

    #[test]
    fn secrets_are_masked() {
        let secret = |v: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": v}});
        let plan = compare(
            &rendered(&[secret("old-value")]),
            &rendered(&[secret("new-value!")]),
            &[],
        );
        let diff = &plan.entries[0].diff;
        assert!(diff.contains("<changed, 10 bytes>"), "{diff}");
        assert!(!diff.contains("old-value") && !diff.contains("new-value"));
    }
}

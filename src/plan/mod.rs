//! The "plan" stage: for every rendered object, what applying it would do, decided by
//! comparing the live object with the server's dry-run result. Pure: the cluster calls that
//! feed it live in `cluster`, the orchestration in `commands`.

mod diff;
mod dropped;
mod mask;
mod normalize;
mod prune;
mod target;

use serde::Serialize;
use serde_json::Value;

pub use diff::{to_yaml, unified};
pub use dropped::dropped_fields;
pub use mask::mask;
pub use normalize::normalize;
pub use prune::{PruneCandidate, prune_entries};
pub use target::{Target, targets};

use crate::cluster::{ApiFailure, FailureClass};
use crate::object::{ObjectRef, Origin};

/// What applying an object would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    /// In the inventory, no longer rendered: deleted.
    Prune,
    /// In the inventory, no longer rendered, but protected or pruning is off: left alone.
    Keep,
    Error,
}

/// What the server said about one object before anything is written.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The object as it is in the cluster, if it exists.
    pub live: Option<Value>,
    pub dry_run: DryRun,
}

#[derive(Debug, Clone)]
pub enum DryRun {
    /// The object as the server would store it.
    Done(Value),
    Failed(ApiFailure),
    /// Cannot be dry-run until something earlier in the same deploy exists (its namespace).
    Pending(String),
}

/// One object's line in the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: ObjectRef,
    /// Where the manifest is; `None` for objects found only in the inventory.
    pub origin: Option<Origin>,
    pub action: Action,
    /// Unified diff of the normalised YAML, secrets masked; empty when unchanged.
    pub diff: String,
    /// Why the server refused the object (for `Action::Error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiFailure>,
    /// Why the object could not be validated yet (its namespace or CRD comes first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// Why a `keep` entry is not pruned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
}

impl Entry {
    /// Where the entry comes from, for people: `file:line`, or `inventory`.
    pub fn source(&self) -> String {
        match &self.origin {
            Some(origin) => origin.to_string(),
            None => "inventory".to_string(),
        }
    }
}

/// Every object and what applying it would do, in render order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

/// How many entries of each action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub prune: usize,
    pub keep: usize,
    pub error: usize,
}

impl Plan {
    /// Classifies each target from what the server said about it. With `validate`, a field
    /// the server dropped from the manifest makes the object invalid.
    pub fn build(targets: &[Target], observations: Vec<Observation>, validate: bool) -> Plan {
        let entries = targets
            .iter()
            .zip(observations)
            .map(|(target, observation)| entry(target, observation, validate))
            .collect();
        Plan { entries }
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for entry in &self.entries {
            match entry.action {
                Action::Create => counts.create += 1,
                Action::Update => counts.update += 1,
                Action::Unchanged => counts.unchanged += 1,
                Action::Prune => counts.prune += 1,
                Action::Keep => counts.keep += 1,
                Action::Error => counts.error += 1,
            }
        }
        counts
    }

    pub fn has_changes(&self) -> bool {
        let c = self.counts();
        c.create + c.update + c.prune > 0
    }

    pub fn errors(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.action == Action::Error)
    }

    /// The worst failure class among the errors: a conflict or an outage is not the user's
    /// input being wrong.
    pub fn error_class(&self) -> Option<FailureClass> {
        let classes: Vec<FailureClass> = self
            .errors()
            .filter_map(|e| e.error.as_ref().map(ApiFailure::class))
            .collect();
        if classes.is_empty() {
            None
        } else if classes.contains(&FailureClass::Invalid) {
            Some(FailureClass::Invalid)
        } else if classes.contains(&FailureClass::Conflict) {
            Some(FailureClass::Conflict)
        } else {
            Some(FailureClass::Transient)
        }
    }
}

fn entry(target: &Target, observation: Observation, validate: bool) -> Entry {
    let mut entry = Entry {
        id: target.id.clone(),
        origin: Some(target.origin.clone()),
        action: Action::Unchanged,
        diff: String::new(),
        error: None,
        pending: None,
        kept: None,
    };
    let live = observation.live.map(normalize);
    let desired = match observation.dry_run {
        DryRun::Done(applied) => {
            let dropped = if validate {
                dropped_fields(&target.object, &applied)
            } else {
                Vec::new()
            };
            if !dropped.is_empty() {
                entry.action = Action::Error;
                entry.error = Some(ApiFailure::unknown_fields(&dropped));
                return entry;
            }
            normalize(applied)
        }
        DryRun::Failed(failure) => {
            entry.action = Action::Error;
            entry.error = Some(failure);
            return entry;
        }
        DryRun::Pending(reason) => {
            entry.pending = Some(reason);
            normalize(target.object.clone())
        }
    };
    match live {
        None => {
            entry.action = Action::Create;
            entry.diff = diff::object_diff(None, &desired);
        }
        Some(live) if live == desired => {}
        Some(live) => {
            entry.action = Action::Update;
            entry.diff = diff::object_diff(Some(&live), &desired);
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Resource;
    use serde_json::json;

    fn target(object: Value) -> Target {
        Target {
            id: ObjectRef {
                group: String::new(),
                version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("ns".into()),
                name: "c".into(),
            },
            origin: Origin {
                file: "c.yaml".into(),
                line: 1,
            },
            resource: Resource {
                group: String::new(),
                version: "v1".into(),
                kind: "ConfigMap".into(),
                plural: "configmaps".into(),
                namespaced: true,
            },
            object,
            awaits_crd: None,
        }
    }

    fn cm(value: &str, rv: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "ns", "resourceVersion": rv, "uid": "u",
                            "managedFields": [{"manager": "kpush"}]},
               "data": {"k": value}})
    }

    #[test]
    fn server_bookkeeping_is_not_a_change() {
        let t = target(cm("a", ""));
        let plan = Plan::build(
            std::slice::from_ref(&t),
            vec![Observation {
                live: Some(cm("a", "1")),
                dry_run: DryRun::Done(cm("a", "2")),
            }],
            true,
        );
        assert_eq!(plan.entries[0].action, Action::Unchanged);
        assert!(plan.entries[0].diff.is_empty());
        assert!(!plan.has_changes());
    }

    #[test]
    fn a_changed_value_is_one_changed_line() {
        let t = target(cm("b", ""));
        let plan = Plan::build(
            std::slice::from_ref(&t),
            vec![Observation {
                live: Some(cm("a", "1")),
                dry_run: DryRun::Done(cm("b", "1")),
            }],
            true,
        );
        let entry = &plan.entries[0];
        assert_eq!(entry.action, Action::Update);
        let changed: Vec<&str> = entry
            .diff
            .lines()
            .filter(|l| {
                (l.starts_with('+') || l.starts_with('-'))
                    && !l.starts_with("+++")
                    && !l.starts_with("---")
            })
            .collect();
        assert_eq!(changed, ["-  k: a", "+  k: b"], "{}", entry.diff);
    }

    #[test]
    fn dropped_fields_fail_validation_unless_it_is_off() {
        let mut manifest = cm("a", "");
        manifest["dataz"] = json!({"k": "v"});
        let t = target(manifest);
        let observe = || {
            vec![Observation {
                live: None,
                dry_run: DryRun::Done(cm("a", "")),
            }]
        };
        let plan = Plan::build(std::slice::from_ref(&t), observe(), true);
        assert_eq!(plan.entries[0].action, Action::Error);
        let message = &plan.entries[0].error.as_ref().unwrap().message;
        assert!(message.contains("`dataz`"), "{message}");
        let plan = Plan::build(std::slice::from_ref(&t), observe(), false);
        assert_eq!(plan.entries[0].action, Action::Create);
    }

    #[test]
    fn missing_live_object_is_a_create_and_failures_are_errors() {
        let t = target(cm("a", ""));
        let failure = ApiFailure {
            code: 422,
            reason: "Invalid".into(),
            message: "bad".into(),
        };
        let plan = Plan::build(
            &[t.clone(), t.clone(), t],
            vec![
                Observation {
                    live: None,
                    dry_run: DryRun::Done(cm("a", "")),
                },
                Observation {
                    live: None,
                    dry_run: DryRun::Failed(failure),
                },
                Observation {
                    live: None,
                    dry_run: DryRun::Pending("namespace ns is created first".into()),
                },
            ],
            true,
        );
        let actions: Vec<Action> = plan.entries.iter().map(|e| e.action).collect();
        assert_eq!(actions, [Action::Create, Action::Error, Action::Create]);
        assert_eq!(plan.error_class(), Some(FailureClass::Invalid));
        assert!(plan.entries[2].pending.is_some());
        assert_eq!(
            plan.counts(),
            Counts {
                create: 2,
                error: 1,
                ..Counts::default()
            }
        );
    }
}

//! The "plan" stage: for every rendered object, what applying it would do, decided by
//! comparing the live object with the server's dry-run result. Pure: the cluster calls that
//! feed it live in `cluster`, the orchestration in `commands`.

mod compare;
mod compat;
mod diff;
mod dropped;
pub mod ignore;
mod mask;
mod normalize;
mod ownership;
mod prune;
pub mod saved;
mod schema;
mod settled;
mod target;
#[cfg(test)]
pub mod testing;

use serde::Serialize;
use serde_json::Value;

pub use compare::compare;
pub use diff::to_yaml;
pub use dropped::{Dropped, Step, dropped_fields};
pub use mask::{SensitivePath, mask_pair_with};
pub use normalize::normalize;
pub use ownership::{Tracking, argo_tracking, foreign_owner};
pub use prune::{Declared, PruneCandidate, PruneRules, keep_moving, prune_entries};
pub use schema::ApiSchema;
pub use settled::{DIGEST_ANNOTATION, settled, stamp};
pub use target::{Target, targets};

use crate::cluster::{ApiFailure, FailureClass};
use crate::object::{ObjectRef, Origin, Policy};

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
    /// A sync hook: not applied with the app, run at its phases (see [`HookLine`]).
    Hook,
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
    /// Not sent: the live object is as the last apply of the same configuration left it.
    Settled,
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
    /// The update changes an immutable field: the object is deleted and created again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
    /// What else a `prune` deletes (a Namespace's other objects, a CRD's custom resources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_it: Option<String>,
    /// Argo CD's tracking on an object taken over with `--adopt`, removed once it is applied
    /// so that later runs do not see a foreign owner.
    #[serde(skip)]
    pub untrack: Vec<Tracking>,
    /// For a sync hook: when it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookLine>,
    /// The object the entry is about, for the steps that act on it.
    #[serde(skip)]
    pub subject: Subject,
    /// The live object it was planned against, for a saved plan.
    #[serde(skip)]
    pub live: Option<saved::LiveVersion>,
}

/// When a hook runs, for the plan and its reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookLine {
    pub phases: Vec<crate::object::Phase>,
    pub wave: i64,
    pub delete_policies: Vec<crate::object::DeletePolicy>,
    /// `metadata.generateName`: a new object each time it runs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub generated_name: bool,
}

impl HookLine {
    pub fn of(policy: &Policy, object: &Value) -> Option<HookLine> {
        let hook = policy.hook.as_ref()?;
        Some(HookLine {
            phases: hook.phases.iter().copied().collect(),
            wave: policy.wave,
            delete_policies: hook.delete.iter().copied().collect(),
            generated_name: crate::object::hook::fixed_name(object).is_none(),
        })
    }

    /// `PreSync (before the app is applied), wave -1, deleted: HookSucceeded`.
    pub fn describe(&self) -> String {
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|p| format!("{p} ({})", p.when()))
            .collect();
        let mut text = phases.join(", ");
        if self.wave != 0 {
            text.push_str(&format!(", wave {}", self.wave));
        }
        let delete: Vec<String> = self
            .delete_policies
            .iter()
            .map(|d| format!("{d:?}"))
            .collect();
        text.push_str(&format!("; delete policy {}", delete.join(",")));
        if self.generated_name {
            text.push_str("; a new object each run (generateName)");
        }
        text
    }
}

/// What a plan entry acts on: its rendered target, or the inventory member it would prune.
#[derive(Debug, Clone, Default)]
pub enum Subject {
    Target(Box<Target>),
    Member(Box<PruneCandidate>),
    /// Only compared, never sent (`diff --from --to`).
    #[default]
    Detached,
}

impl Entry {
    /// An entry with nothing to show yet: no diff, no error, no subject.
    pub fn new(id: ObjectRef, origin: Option<Origin>, action: Action) -> Entry {
        Entry {
            id,
            origin,
            action,
            diff: String::new(),
            error: None,
            pending: None,
            kept: None,
            replace: false,
            with_it: None,
            untrack: Vec::new(),
            hook: None,
            subject: Subject::Detached,
            live: None,
        }
    }

    pub fn target(&self) -> Option<&Target> {
        match &self.subject {
            Subject::Target(t) => Some(t),
            _ => None,
        }
    }

    pub fn member(&self) -> Option<&PruneCandidate> {
        match &self.subject {
            Subject::Member(m) => Some(m),
            _ => None,
        }
    }

    /// The entry creates or updates its object.
    pub fn writes(&self) -> bool {
        matches!(self.action, Action::Create | Action::Update)
    }

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

/// What the plan checks besides the server's dry run.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Fields the server would drop are errors (where `dropped` says the plan must tell).
    pub validate: bool,
    pub dropped: DroppedCheck,
    /// The ApplySet the objects join; objects owned by another one (or by another tool) are
    /// errors unless `adopt`.
    pub applyset_id: Option<String>,
    pub adopt: bool,
    /// Values masked like Secret data in every diff.
    pub sensitive: Vec<SensitivePath>,
    /// Argo CD's `ignoreDifferences`: fields left out of the comparison.
    pub ignore: Vec<ignore::IgnoreRule>,
}

/// Whether the plan tells dropped fields itself, and with which schema.
#[derive(Debug, Clone)]
pub enum DroppedCheck {
    /// Nothing to check: the server refuses unknown fields itself (strict field validation,
    /// 1.25+), or it omitted no field whose value is not a zero value.
    Skip,
    /// Servers before 1.25: a field the server omitted is an error unless its value is a
    /// zero value or the schema declares it (with no schema, or for a kind the schema does
    /// not describe, only the zero-value rule applies).
    Plan(Option<std::sync::Arc<ApiSchema>>),
}

impl Default for DroppedCheck {
    fn default() -> DroppedCheck {
        DroppedCheck::Plan(None)
    }
}

impl DroppedCheck {
    /// The fields of `target` the server dropped for real, by path.
    pub fn dropped(&self, target: &Target, applied: &Value) -> Vec<String> {
        let DroppedCheck::Plan(schema) = self else {
            return Vec::new();
        };
        dropped_fields(&target.object, applied)
            .into_iter()
            .filter(|d| !d.zero)
            .filter(|d| {
                schema
                    .as_ref()
                    .and_then(|s| s.declares(&target.id, &d.path))
                    != Some(true)
            })
            .map(|d| d.to_string())
            .collect()
    }
}

/// How many entries of each action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub prune: usize,
    pub keep: usize,
    pub hook: usize,
    pub error: usize,
}

impl Plan {
    /// Classifies each target from what the server said about it (one observation per
    /// target, in the same order); each entry keeps its target.
    pub fn build(
        targets: Vec<Target>,
        observations: Vec<Observation>,
        options: &PlanOptions,
    ) -> Plan {
        debug_assert_eq!(targets.len(), observations.len());
        let entries = targets
            .into_iter()
            .zip(observations)
            .map(|(target, observation)| {
                let mut entry = entry(&target, observation, options);
                entry.subject = Subject::Target(Box::new(target));
                entry
            })
            .collect();
        Plan { entries }
    }

    /// The rendered objects applied with the app, with their entries, in render order.
    pub fn targets(&self) -> impl Iterator<Item = (&Entry, &Target)> {
        self.entries
            .iter()
            .filter_map(|e| Some((e, e.target()?)))
            .filter(|(_, t)| t.policy.hook.is_none())
    }

    /// The sync hooks that run in `phase`, with their entries, in render order.
    pub fn hooks(&self, phase: crate::object::Phase) -> impl Iterator<Item = (&Entry, &Target)> {
        self.entries
            .iter()
            .filter_map(|e| Some((e, e.target()?)))
            .filter(move |(_, t)| t.policy.hook.as_ref().is_some_and(|h| h.runs_in(phase)))
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
                Action::Hook => counts.hook += 1,
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
        self.errors()
            .filter_map(|e| e.error.as_ref().map(ApiFailure::class))
            .max()
    }
}

/// A sync hook's line: never compared with a live object (each run creates it anew); the
/// server's verdict on creating it (a dry run) decides whether the plan is valid.
pub fn hook_entry(target: Target, check: DryRun) -> Entry {
    let mut entry = Entry::new(target.id.clone(), Some(target.origin.clone()), Action::Hook);
    entry.hook = HookLine::of(&target.policy, &target.object);
    match check {
        DryRun::Failed(failure) => {
            entry.action = Action::Error;
            entry.error = Some(failure);
        }
        DryRun::Pending(why) => entry.pending = Some(why),
        DryRun::Done(_) | DryRun::Settled => {}
    }
    entry.subject = Subject::Target(Box::new(target));
    entry
}

fn entry(target: &Target, observation: Observation, options: &PlanOptions) -> Entry {
    let mut entry = Entry::new(
        target.id.clone(),
        Some(target.origin.clone()),
        Action::Unchanged,
    );
    entry.live = observation.live.as_ref().map(saved::LiveVersion::of);
    if let (Some(live), Some(id), false) = (&observation.live, &options.applyset_id, options.adopt)
        && let Some(owner) = foreign_owner(live, id)
    {
        entry.action = Action::Error;
        entry.error = Some(ApiFailure {
            code: 412,
            reason: "Owned".into(),
            message: format!("the live object {owner}; pass `--adopt` to take it over"),
        });
        return entry;
    }
    if options.adopt
        && let Some(live) = &observation.live
    {
        // Argo CD's tracking goes unless the manifest itself sets that key.
        entry.untrack = argo_tracking(live)
            .into_iter()
            .filter(|(section, key)| target.object["metadata"][section].get(key).is_none())
            .collect();
    }
    // Ignored fields may be named by who owns them live: read before normalising drops that.
    let ignoring = options.ignore.iter().any(|r| r.matches(&target.id));
    let owners = if ignoring {
        observation.live.clone()
    } else {
        None
    };
    let mut live = observation.live.map(normalize);
    let mut desired = match observation.dry_run {
        DryRun::Done(applied) => {
            let dropped = if options.validate && !target.policy.skip_validation {
                options.dropped.dropped(target, &applied)
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
        DryRun::Failed(failure)
            if is_immutable(&failure)
                && target.policy.replace
                && Policy::may_recreate(&target.resource)
                && live.is_some() =>
        {
            entry.replace = true;
            normalize(target.object.clone())
        }
        DryRun::Failed(mut failure) => {
            if is_immutable(&failure) {
                failure.message.push_str(&immutable_hint(target));
            }
            entry.action = Action::Error;
            entry.error = Some(failure);
            return entry;
        }
        DryRun::Pending(reason) => {
            entry.pending = Some(reason);
            normalize(target.object.clone())
        }
        DryRun::Settled => return entry,
    };
    for (section, key) in &entry.untrack {
        if let Some(map) = desired["metadata"][section].as_object_mut() {
            map.remove(*key);
        }
    }
    if ignoring {
        ignore::strip(&options.ignore, &target.id, &mut desired, owners.as_ref());
        if let Some(live) = live.as_mut() {
            ignore::strip(&options.ignore, &target.id, live, owners.as_ref());
        }
    }
    match live {
        None => {
            entry.action = Action::Create;
            entry.diff = diff::object_diff(None, &desired, &options.sensitive);
        }
        Some(live) if live == desired => {}
        Some(live) => {
            entry.action = Action::Update;
            entry.diff = diff::object_diff(Some(&live), &desired, &options.sensitive);
        }
    }
    entry
}

/// What to do about an immutable field: delete and re-create when asked, never for the kinds
/// whose deletion loses data.
fn immutable_hint(target: &Target) -> String {
    if !Policy::may_recreate(&target.resource) {
        return format!(
            "\nhint: kpush never deletes and re-creates a {} to change a field (it would lose what it holds); change it by hand, or keep the field as it is",
            target.resource.kind
        );
    }
    "\nhint: to delete and re-create it, annotate it `kpush.dev/replace: \"true\"` or set the sync options `Force=true,Replace=true`".into()
}

/// The server refused to change a field that cannot change (a Job's template, a Service's
/// `clusterIP`, a selector).
fn is_immutable(failure: &ApiFailure) -> bool {
    failure.code == 422 && failure.message.contains("immutable")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Resource;
    use serde_json::json;

    fn target(object: Value) -> Target {
        let resource = Resource {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced: true,
        };
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
            policy: crate::object::Policy::of(&resource, &object),
            resource,
            object,
            awaits_crd: None,
            awaits_kind: false,
            force: false,
            precondition: None,
        }
    }

    fn validating() -> PlanOptions {
        PlanOptions {
            validate: true,
            ..PlanOptions::default()
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
            vec![t.clone()],
            vec![Observation {
                live: Some(cm("a", "1")),
                dry_run: DryRun::Done(cm("a", "2")),
            }],
            &validating(),
        );
        assert_eq!(plan.entries[0].action, Action::Unchanged);
        assert!(plan.entries[0].diff.is_empty());
        assert!(!plan.has_changes());
    }

    #[test]
    fn a_changed_value_is_one_changed_line() {
        let t = target(cm("b", ""));
        let plan = Plan::build(
            vec![t.clone()],
            vec![Observation {
                live: Some(cm("a", "1")),
                dry_run: DryRun::Done(cm("b", "1")),
            }],
            &validating(),
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
        let plan = Plan::build(vec![t.clone()], observe(), &validating());
        assert_eq!(plan.entries[0].action, Action::Error);
        let message = &plan.entries[0].error.as_ref().unwrap().message;
        assert!(message.contains("`dataz`"), "{message}");
        let plan = Plan::build(vec![t.clone()], observe(), &PlanOptions::default());
        assert_eq!(plan.entries[0].action, Action::Create);
        // A server that validates fields itself already refused what it does not know.
        let server = PlanOptions {
            dropped: DroppedCheck::Skip,
            ..validating()
        };
        let plan = Plan::build(vec![t.clone()], observe(), &server);
        assert_eq!(plan.entries[0].action, Action::Create);
    }

    #[test]
    fn zero_values_and_declared_fields_the_server_omits_are_not_dropped() {
        let mut manifest = cm("a", "");
        manifest["immutable"] = json!(false);
        manifest["metadata"]["annotations"] = json!({"note": ""});
        manifest["metadata"]["generation"] = json!(3);
        let observe = || {
            vec![Observation {
                live: None,
                dry_run: DryRun::Done(cm("a", "")),
            }]
        };
        let t = target(manifest);
        // Without a schema, only the value that is not a zero value is an error.
        let plan = Plan::build(vec![t.clone()], observe(), &validating());
        let message = &plan.entries[0].error.as_ref().unwrap().message;
        assert!(message.contains("`metadata.generation`"), "{message}");
        assert!(
            !message.contains("immutable") && !message.contains("annotations"),
            "{message}"
        );
        // The schema declares it: a field the server manages, not a typo.
        let schema = ApiSchema::new(std::sync::Arc::new(json!({"definitions": {"cm": {
            "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "ConfigMap"}],
            "properties": {"metadata": {"properties": {"generation": {"type": "integer"}}}}
        }}})));
        let with_schema = PlanOptions {
            dropped: DroppedCheck::Plan(Some(std::sync::Arc::new(schema))),
            ..validating()
        };
        let plan = Plan::build(vec![t], observe(), &with_schema);
        assert_eq!(plan.entries[0].action, Action::Create);
    }

    #[test]
    fn objects_of_another_applyset_are_not_adopted_silently() {
        let mut live = cm("a", "1");
        live["metadata"]["labels"] = json!({"applyset.kubernetes.io/part-of": "theirs"});
        let t = target(cm("a", ""));
        let observe = || {
            vec![Observation {
                live: Some(live.clone()),
                dry_run: DryRun::Done(cm("a", "1")),
            }]
        };
        let mut options = PlanOptions {
            applyset_id: Some("ours".into()),
            ..validating()
        };
        let plan = Plan::build(vec![t.clone()], observe(), &options);
        assert_eq!(plan.entries[0].action, Action::Error);
        assert_eq!(plan.error_class(), Some(FailureClass::Invalid));
        options.adopt = true;
        let plan = Plan::build(vec![t.clone()], observe(), &options);
        assert_ne!(plan.entries[0].action, Action::Error);
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
            vec![t.clone(), t.clone(), t],
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
            &validating(),
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

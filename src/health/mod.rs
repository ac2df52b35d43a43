//! Whether a live object has settled: the kstatus rules (sigs.k8s.io/cli-utils) as pure
//! functions, so waiting for a rollout and reporting it need no cluster access to be tested.
//!
//! [`health`] reads one object as the API server returns it and answers with a [`State`] and a
//! message for people. [`pod_failure`] spots pods that will not recover on their own, so a wait
//! can stop early instead of running into its timeout.

mod creation;
mod fields;
mod generic;
mod pods;
mod rules;

use serde::Serialize;
use serde_json::Value;

use crate::object::ObjectRef;

pub use creation::{CreateFailure, Creations, replica_failure, warnings_about};
pub use pods::{PodFailure, pod_failure};

/// Where an object stands, in kstatus terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Settled: the controller has caught up with the spec.
    Current,
    /// Still converging; waiting longer may help.
    InProgress,
    /// Will not converge without a change to the object or the cluster.
    Failed,
    /// Being deleted.
    Terminating,
    /// The rules cannot tell, e.g. a pod phase they do not know.
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Current => "current",
            State::InProgress => "in progress",
            State::Failed => "failed",
            State::Terminating => "terminating",
            State::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict on one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub state: State,
    /// For people, without the object's name, e.g. `2/3 replicas ready`.
    pub message: String,
}

impl Health {
    pub fn new(state: State, message: impl Into<String>) -> Health {
        Health {
            state,
            message: message.into(),
        }
    }

    fn current(message: impl Into<String>) -> Health {
        Health::new(State::Current, message)
    }

    fn in_progress(message: impl Into<String>) -> Health {
        Health::new(State::InProgress, message)
    }

    fn failed(message: impl Into<String>) -> Health {
        Health::new(State::Failed, message)
    }
}

/// The health of a live object.
///
/// Rules shared by all kinds come first (deletion, observed generation, `Stalled` and
/// `Reconciling` conditions); then the built-in kinds kstatus knows get their own rules; any
/// other kind is current unless its `Ready` condition is `False`.
pub fn health(object: &Value) -> Health {
    if !object.is_object() {
        return Health::new(State::Unknown, "not a Kubernetes object");
    }
    if let Some(verdict) = finished_job(object) {
        return verdict;
    }
    if let Some(verdict) = generic::before_kind_rules(object) {
        return verdict;
    }
    let api_version = fields::text(object, "/apiVersion").unwrap_or("");
    let (group, _) = ObjectRef::split_api_version(api_version);
    let kind = fields::text(object, "/kind").unwrap_or("");
    match (group, kind) {
        ("apps" | "extensions", "Deployment") => rules::deployment(object),
        ("apps", "StatefulSet") => rules::stateful_set(object),
        ("apps" | "extensions", "DaemonSet") => rules::daemon_set(object),
        ("apps" | "extensions", "ReplicaSet") => rules::replica_set(object),
        ("batch", "Job") => rules::job(object),
        ("", "Pod") => pods::pod(object),
        ("", "PersistentVolumeClaim") => rules::persistent_volume_claim(object),
        ("", "Service") => rules::service(object),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            rules::custom_resource_definition(object)
        }
        ("policy", "PodDisruptionBudget") => rules::pod_disruption_budget(object),
        _ => generic::after_kind_rules(object),
    }
}

/// A Job that finished says how, also while it is deleted (charts set
/// `ttlSecondsAfterFinished: 0`, and the TTL controller removes the Job as soon as it is done):
/// its final conditions, not its removal, are its result.
pub fn finished_job(object: &Value) -> Option<Health> {
    let (group, _) =
        ObjectRef::split_api_version(fields::text(object, "/apiVersion").unwrap_or(""));
    if (group, fields::text(object, "/kind").unwrap_or("")) != ("batch", "Job") {
        return None;
    }
    let finished = ["Complete", "Failed"].iter().any(|kind| {
        object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == *kind && c["status"] == "True")
    });
    finished.then(|| rules::job(object))
}

/// `summary: detail`, or just the summary when there is no detail.
fn with_detail(summary: &str, detail: &str) -> String {
    if detail.is_empty() {
        summary.to_owned()
    } else {
        format!("{summary}: {detail}")
    }
}

/// `1 pod`, `2 pods`: nouns here all take a plain `s`.
fn count(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The table tests of every health rule.
#[cfg(test)]
pub(crate) mod testing {
    use serde_json::Value;

    use super::{State, health};

    /// A case: its name, the object, and the health it must have.
    pub type Case = (&'static str, Value, State, &'static str);

    pub fn check(cases: impl IntoIterator<Item = Case>) {
        for (name, object, state, message) in cases {
            let got = health(&object);
            assert_eq!(
                (got.state, got.message.as_str()),
                (state, message),
                "{name}"
            );
        }
    }
}

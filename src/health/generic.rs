//! Rules every kind shares: deletion, the observed generation, and the `Stalled`, `Reconciling`
//! and `Ready` conditions that controllers following the kstatus conventions publish.

use serde_json::Value;

use super::Health;
use super::fields::{condition, int, text};

/// Verdicts that hold whatever the kind, checked before any kind-specific rule.
pub(super) fn before_kind_rules(object: &Value) -> Option<Health> {
    if text(object, "/metadata/deletionTimestamp").is_some() {
        return Some(terminating(object));
    }
    if let Some(waiting) = generation_not_observed(object) {
        return Some(waiting);
    }
    // A failure outranks progress, whatever order the controller listed them in.
    if let Some(stalled) = condition(object, "Stalled").filter(|c| c.is_true()) {
        return Some(Health::failed(or(stalled.explanation(), "stalled")));
    }
    if let Some(reconciling) = condition(object, "Reconciling").filter(|c| c.is_true()) {
        return Some(Health::in_progress(or(
            reconciling.explanation(),
            "reconciling",
        )));
    }
    None
}

/// The verdict for kinds without rules of their own.
pub(super) fn after_kind_rules(object: &Value) -> Health {
    match condition(object, "Ready") {
        Some(ready) if ready.is_false() => {
            Health::in_progress(or(ready.explanation(), "not ready"))
        }
        Some(ready) if ready.is_true() => Health::current(or(ready.message, "ready")),
        _ if object.get("status").is_none_or(Value::is_null) => {
            Health::current("no status to wait for")
        }
        _ => Health::current("current"),
    }
}

/// `status.observedGeneration` behind `metadata.generation`: the status describes an older
/// spec. Objects that do not publish an observed generation cannot be checked this way.
fn generation_not_observed(object: &Value) -> Option<Health> {
    let generation = int(object, "/metadata/generation")?;
    let observed = int(object, "/status/observedGeneration")?;
    (observed < generation).then(|| {
        Health::in_progress(format!(
            "waiting for the controller to observe generation {generation} (observed {observed})"
        ))
    })
}

fn terminating(object: &Value) -> Health {
    let finalizers: Vec<&str> = object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if finalizers.is_empty() {
        Health::new(super::State::Terminating, "being deleted")
    } else {
        Health::new(
            super::State::Terminating,
            format!(
                "being deleted, waiting for finalizers: {}",
                finalizers.join(", ")
            ),
        )
    }
}

fn or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}

#[cfg(test)]
mod tests {
    use super::super::State;
    use serde_json::{Value, json};

    fn custom(metadata: Value, status: Option<Value>) -> Value {
        let mut obj =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": metadata});
        if let Some(status) = status {
            obj["status"] = status;
        }
        obj
    }

    #[test]
    fn generic_rules() {
        let cases: Vec<(&str, Value, State, &str)> = vec![
            (
                "no status",
                custom(json!({"name": "w", "generation": 1}), None),
                State::Current,
                "no status to wait for",
            ),
            (
                "null status",
                custom(json!({"name": "w", "generation": 1}), Some(Value::Null)),
                State::Current,
                "no status to wait for",
            ),
            (
                "generation not observed",
                custom(
                    json!({"generation": 2}),
                    Some(json!({"observedGeneration": 1})),
                ),
                State::InProgress,
                "waiting for the controller to observe generation 2 (observed 1)",
            ),
            (
                "generation observed",
                custom(
                    json!({"generation": 2}),
                    Some(json!({"observedGeneration": 2})),
                ),
                State::Current,
                "current",
            ),
            (
                "no observed generation published",
                custom(json!({"generation": 5}), Some(json!({"phase": "Whatever"}))),
                State::Current,
                "current",
            ),
            (
                "ready true",
                custom(
                    json!({"generation": 1}),
                    Some(
                        json!({"conditions": [{"type": "Ready", "status": "True", "reason": "AllOk", "message": "All looks ok"}]}),
                    ),
                ),
                State::Current,
                "All looks ok",
            ),
            (
                "ready false",
                custom(
                    json!({"generation": 1}),
                    Some(
                        json!({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "False", "reason": "NotReadyYet"}]}),
                    ),
                ),
                State::InProgress,
                "NotReadyYet",
            ),
            (
                "ready unknown",
                custom(
                    json!({"generation": 1}),
                    Some(json!({"conditions": [{"type": "Ready", "status": "Unknown"}]})),
                ),
                State::Current,
                "current",
            ),
            (
                "unrelated condition",
                custom(
                    json!({"generation": 1}),
                    Some(json!({"conditions": [{"type": "SomeCondition", "status": "False"}]})),
                ),
                State::Current,
                "current",
            ),
            (
                "reconciling",
                custom(
                    json!({"generation": 1}),
                    Some(
                        json!({"conditions": [{"type": "Reconciling", "status": "True", "reason": "Scaling", "message": "scaling up"}]}),
                    ),
                ),
                State::InProgress,
                "scaling up",
            ),
            (
                "reconciling false",
                custom(
                    json!({"generation": 1}),
                    Some(json!({"conditions": [{"type": "Reconciling", "status": "False"}]})),
                ),
                State::Current,
                "current",
            ),
            (
                "stalled",
                custom(
                    json!({"generation": 1}),
                    Some(
                        json!({"conditions": [{"type": "Stalled", "status": "True", "reason": "BadConfig"}]}),
                    ),
                ),
                State::Failed,
                "BadConfig",
            ),
            (
                "stalled outranks reconciling",
                custom(
                    json!({"generation": 1}),
                    Some(json!({"conditions": [
                        {"type": "Reconciling", "status": "True", "message": "working"},
                        {"type": "Stalled", "status": "True", "message": "quota exceeded"}
                    ]})),
                ),
                State::Failed,
                "quota exceeded",
            ),
            (
                "stalled outranks ready",
                custom(
                    json!({"generation": 1}),
                    Some(json!({"conditions": [
                        {"type": "Ready", "status": "True"},
                        {"type": "Stalled", "status": "True"}
                    ]})),
                ),
                State::Failed,
                "stalled",
            ),
            (
                "generation outranks conditions",
                custom(
                    json!({"generation": 3}),
                    Some(
                        json!({"observedGeneration": 2, "conditions": [{"type": "Stalled", "status": "True"}]}),
                    ),
                ),
                State::InProgress,
                "waiting for the controller to observe generation 3 (observed 2)",
            ),
            (
                "deletion timestamp",
                custom(
                    json!({"generation": 1, "deletionTimestamp": "2024-05-01T10:00:00Z"}),
                    Some(json!({"conditions": [{"type": "Ready", "status": "True"}]})),
                ),
                State::Terminating,
                "being deleted",
            ),
            (
                "deletion waits on finalizers",
                custom(
                    json!({"deletionTimestamp": "2024-05-01T10:00:00Z", "finalizers": ["example.com/cleanup"]}),
                    None,
                ),
                State::Terminating,
                "being deleted, waiting for finalizers: example.com/cleanup",
            ),
            (
                "deletion outranks generation",
                custom(
                    json!({"generation": 2, "deletionTimestamp": "2024-05-01T10:00:00Z"}),
                    Some(json!({"observedGeneration": 1})),
                ),
                State::Terminating,
                "being deleted",
            ),
            (
                "kind rules see generic verdicts first",
                json!({"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"generation": 2}, "status": {"observedGeneration": 1}}),
                State::InProgress,
                "waiting for the controller to observe generation 2 (observed 1)",
            ),
            (
                "a look-alike kind in another group gets the generic rules",
                json!({"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"generation": 1}}),
                State::Current,
                "no status to wait for",
            ),
            (
                "not an object",
                json!("nope"),
                State::Unknown,
                "not a Kubernetes object",
            ),
        ];
        crate::health::testing::check(cases);
    }

    #[test]
    fn states_serialize_in_snake_case() {
        assert_eq!(json!(State::InProgress), json!("in_progress"));
        assert_eq!(json!(State::Current), json!("current"));
        assert_eq!(State::InProgress.to_string(), "in progress");
    }
}

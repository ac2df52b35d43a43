//! Lenient reads from a live object: a missing or mistyped field reads as absent, never as an
//! error, because a status that is not written yet is the normal case while a rollout starts.

use serde_json::Value;

/// An integer at a JSON pointer, e.g. `/status/readyReplicas`.
pub(super) fn int(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

/// A string at a JSON pointer; empty strings count as absent, as the API server treats them.
pub(super) fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// One entry of `status.conditions`, with absent fields read as empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Condition<'a> {
    pub kind: &'a str,
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
    pub last_transition: Option<&'a str>,
}

impl<'a> Condition<'a> {
    fn from_value(value: &'a Value) -> Condition<'a> {
        let field = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or("");
        Condition {
            kind: field("type"),
            status: field("status"),
            reason: field("reason"),
            message: field("message"),
            last_transition: value
                .get("lastTransitionTime")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty()),
        }
    }

    pub fn is_true(&self) -> bool {
        self.status == "True"
    }

    pub fn is_false(&self) -> bool {
        self.status == "False"
    }

    /// The message, or the reason when a controller left the message out.
    pub fn explanation(&self) -> &'a str {
        if self.message.is_empty() {
            self.reason
        } else {
            self.message
        }
    }
}

pub(super) fn conditions(object: &Value) -> impl Iterator<Item = Condition<'_>> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(Condition::from_value)
}

/// The first condition of the given type.
pub(super) fn condition<'a>(object: &'a Value, kind: &str) -> Option<Condition<'a>> {
    conditions(object).find(|c| c.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_are_lenient() {
        let obj = json!({
            "spec": {"replicas": 3, "float": 2.5, "name": ""},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"bogus": 1}, 7]}
        });
        assert_eq!(int(&obj, "/spec/replicas"), Some(3));
        assert_eq!(int(&obj, "/spec/float"), None);
        assert_eq!(int(&obj, "/spec/missing"), None);
        assert_eq!(text(&obj, "/spec/name"), None);
        let ready = condition(&obj, "Ready").unwrap();
        assert!(ready.is_true() && ready.explanation().is_empty());
        assert_eq!(conditions(&obj).count(), 3);
        assert!(condition(&obj, "Available").is_none());
    }
}

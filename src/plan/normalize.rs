//! Removing what the server maintains and no user changes, so comparisons show only intent.

use serde_json::Value;

const METADATA_NOISE: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// Holds a copy of the whole object: it would repeat every change, and a Secret's values.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

pub fn normalize(mut object: Value) -> Value {
    if let Value::Object(map) = &mut object {
        map.remove("status");
        if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
            for key in METADATA_NOISE {
                metadata.remove(*key);
            }
            let now_empty = match metadata.get_mut("annotations") {
                Some(Value::Object(annotations)) => {
                    annotations.remove(LAST_APPLIED);
                    // Changes with every change; the change itself is what a diff shows.
                    annotations.remove(super::DIGEST_ANNOTATION);
                    annotations.is_empty()
                }
                _ => false,
            };
            if now_empty {
                metadata.remove("annotations");
            }
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_server_fields_and_last_applied() {
        let live = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "uid": "1", "resourceVersion": "9", "generation": 2,
                         "creationTimestamp": "t", "managedFields": [],
                         "annotations": {LAST_APPLIED: "{\"data\":{\"p\":\"c2VjcmV0\"}}"}},
            "data": {"p": "c2VjcmV0"},
            "status": {"x": 1}
        });
        assert_eq!(
            normalize(live),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "data": {"p": "c2VjcmV0"}})
        );
    }

    #[test]
    fn keeps_other_annotations() {
        let o = json!({"metadata": {"annotations": {"a": "b", LAST_APPLIED: "{}"}}});
        assert_eq!(
            normalize(o),
            json!({"metadata": {"annotations": {"a": "b"}}})
        );
    }
}

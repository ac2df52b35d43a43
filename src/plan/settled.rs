//! Recognising objects that are still exactly as the last apply left them, so a redeploy need
//! not send them through a server-side dry run.
//!
//! Every applied object carries the digest of the configuration kpush applied. When the live
//! object carries the digest of today's configuration and still holds every declared value,
//! applying again would change nothing: the fields kpush manages are the ones that
//! configuration declares, and their values are in place. Anything else (a field edited or
//! removed by someone else, a value the server stores differently, an older digest) goes to
//! the server as before.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// The annotation holding the digest of the applied configuration.
pub const DIGEST_ANNOTATION: &str = "kpush.dev/config-digest";

/// Stamps `object` with the digest of everything else it declares.
pub fn stamp(object: &mut Value) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
        annotations.remove(DIGEST_ANNOTATION);
        if annotations.is_empty() {
            metadata.remove("annotations");
        }
    }
    let digest = digest(object);
    let metadata = object["metadata"].as_object_mut().expect("checked above");
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(annotations) = annotations {
        annotations.insert(DIGEST_ANNOTATION.into(), Value::String(digest));
    }
}

/// SHA-256 of the object's JSON, whose keys serde_json keeps sorted: the same configuration
/// always has the same digest. 128 bits (32 hex digits) are kept.
fn digest(object: &Value) -> String {
    let bytes = serde_json::to_vec(object).expect("a JSON value serialises");
    let mut hex = crate::digest::sha256_hex(&bytes);
    hex.truncate(32);
    hex
}

/// Whether applying `desired` (stamped) over `live` would leave the object as it is.
pub fn settled(desired: &Value, live: &Value) -> bool {
    fn stamped(o: &Value) -> Option<&str> {
        o["metadata"]["annotations"][DIGEST_ANNOTATION].as_str()
    }
    if stamped(desired).is_none()
        || stamped(desired) != stamped(live)
        || !live["metadata"]["deletionTimestamp"].is_null()
    {
        return false;
    }
    match as_stored(desired) {
        Some(stored) => holds(live, &stored),
        None => holds(live, desired),
    }
}

/// `desired` as the server would keep it, where that differs from what was sent: a Secret's
/// `stringData` moved to `data`, and `creationTimestamp: null` (which generated manifests
/// carry, and the server always sets itself) left out.
fn as_stored(desired: &Value) -> Option<Value> {
    let unset_creation = desired["metadata"]
        .as_object()
        .is_some_and(|m| m.get("creationTimestamp").is_some_and(Value::is_null));
    let string_data = secret_string_data(desired);
    if !unset_creation && string_data.is_none() {
        return None;
    }
    let mut stored = string_data.unwrap_or_else(|| desired.clone());
    if unset_creation && let Some(metadata) = stored["metadata"].as_object_mut() {
        metadata.remove("creationTimestamp");
    }
    Some(stored)
}

/// A Secret's `stringData` as the server stores it: base64 in `data`, where it wins over
/// `data` entries of the same key.
fn secret_string_data(desired: &Value) -> Option<Value> {
    let strings = desired["stringData"].as_object()?;
    if desired["kind"] != "Secret" || desired["apiVersion"] != "v1" {
        return None;
    }
    let mut stored = desired.clone();
    let object = stored.as_object_mut()?;
    object.remove("stringData");
    let data = object
        .entry("data")
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()?;
    for (key, value) in strings {
        data.insert(key.clone(), Value::String(STANDARD.encode(value.as_str()?)));
    }
    Some(stored)
}

/// Every value of `desired` is in `live`. Lists must have the same length and hold their
/// items in order (the server adds defaults inside items, never items); scalars must be
/// equal as JSON, or a number stored as the same text (a quantity: `cpu: 1` is stored as
/// `"1"`). A value the server rewrites otherwise (`0.5` CPU stored as `500m`) is not held.
fn holds(live: &Value, desired: &Value) -> bool {
    match (live, desired) {
        (Value::Object(live), Value::Object(desired)) => desired
            .iter()
            .all(|(k, d)| live.get(k).is_some_and(|l| holds(l, d))),
        (Value::Array(live), Value::Array(desired)) => {
            live.len() == desired.len() && live.iter().zip(desired).all(|(l, d)| holds(l, d))
        }
        (Value::String(live), Value::Number(desired)) => *live == desired.to_string(),
        (live, desired) => live == desired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
               "spec": {"replicas": 2, "template": {"spec": {"containers": [
                   {"name": "web", "image": "web:1", "ports": [{"containerPort": 80}]}]}}}})
    }

    /// What the server stores for `desired`: defaults and bookkeeping added.
    fn stored(desired: &Value) -> Value {
        let mut live = desired.clone();
        live["metadata"]["uid"] = json!("u1");
        live["metadata"]["resourceVersion"] = json!("7");
        live["spec"]["strategy"] = json!({"type": "RollingUpdate"});
        let container = &mut live["spec"]["template"]["spec"]["containers"][0];
        container["imagePullPolicy"] = json!("IfNotPresent");
        container["ports"][0]["protocol"] = json!("TCP");
        live["status"] = json!({"replicas": 2});
        live
    }

    fn stamped(mut object: Value) -> Value {
        stamp(&mut object);
        object
    }

    #[test]
    fn the_digest_depends_on_content_only() {
        let a = stamped(deployment());
        let again = stamped(a.clone());
        assert_eq!(a, again, "stamping twice changes nothing");
        let digest = a["metadata"]["annotations"][DIGEST_ANNOTATION]
            .as_str()
            .unwrap();
        assert_eq!(digest.len(), 32);
        let mut other = deployment();
        other["spec"]["replicas"] = json!(3);
        assert_ne!(
            stamped(other)["metadata"]["annotations"][DIGEST_ANNOTATION],
            digest
        );
    }

    #[test]
    fn settled_only_when_the_live_object_holds_todays_configuration() {
        let desired = stamped(deployment());
        let live = stored(&desired);
        assert!(settled(&desired, &live), "defaults added by the server");
        let mut quantity = live.clone();
        quantity["spec"]["replicas"] = json!("2");
        assert!(settled(&desired, &quantity), "a number stored as its text");

        type Edit = fn(&mut Value);
        let cases: &[(&str, Edit)] = &[
            ("a declared value edited", |l| {
                l["spec"]["replicas"] = json!(5)
            }),
            ("a declared field removed", |l| {
                l["metadata"]["labels"]
                    .as_object_mut()
                    .unwrap()
                    .remove("app");
            }),
            ("an item added to a list", |l| {
                l["spec"]["template"]["spec"]["containers"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "sidecar", "image": "proxy:1"}))
            }),
            ("a port added in front", |l| {
                let ports = &mut l["spec"]["template"]["spec"]["containers"][0]["ports"];
                ports
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"containerPort": 81}));
                ports.as_array_mut().unwrap().reverse();
            }),
            ("the value stored another way", |l| {
                l["spec"]["replicas"] = json!(2.0)
            }),
            ("a number stored as other text", |l| {
                l["spec"]["replicas"] = json!("2.0")
            }),
            ("applied from an older configuration", |l| {
                l["metadata"]["annotations"][DIGEST_ANNOTATION] = json!("0123")
            }),
            ("never stamped", |l| {
                l["metadata"].as_object_mut().unwrap().remove("annotations");
            }),
            ("being deleted", |l| {
                l["metadata"]["deletionTimestamp"] = json!("2026-11-26T09:00:00Z")
            }),
        ];
        for (why, edit) in cases {
            let mut changed = live.clone();
            edit(&mut changed);
            assert!(!settled(&desired, &changed), "{why}");
        }
        assert!(
            !settled(&deployment(), &stored(&deployment())),
            "nothing is settled without a digest"
        );
    }

    #[test]
    fn secret_string_data_is_compared_as_stored() {
        let desired = stamped(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "shop"},
            "data": {"user": "YWRtaW4=", "password": "b2xk"},
            "stringData": {"password": "hunter2"}}));
        let mut live = desired.clone();
        live.as_object_mut().unwrap().remove("stringData");
        live["data"] = json!({"user": "YWRtaW4=", "password": "aHVudGVyMg=="});
        live["type"] = json!("Opaque");
        assert!(settled(&desired, &live));
        live["data"]["password"] = json!("b2xk");
        assert!(!settled(&desired, &live), "edited since");
    }

    #[test]
    fn a_null_creation_timestamp_is_left_to_the_server() {
        let mut generated = deployment();
        generated["metadata"]["creationTimestamp"] = Value::Null;
        let desired = stamped(generated);
        let mut live = stored(&desired);
        live["metadata"]["creationTimestamp"] = json!("2026-11-26T09:00:00Z");
        assert!(settled(&desired, &live));
        // A null anywhere else: the live object lacks the field, and the server decides.
        let mut with_null = deployment();
        with_null["spec"]["paused"] = Value::Null;
        let desired = stamped(with_null);
        let mut live = stored(&desired);
        live["spec"].as_object_mut().unwrap().remove("paused");
        assert!(!settled(&desired, &live), "other nulls go to the server");
    }

    #[test]
    fn a_changed_configuration_is_not_settled_even_when_values_match() {
        // A label dropped from the manifest is still on the live object: applying removes it.
        let before = stamped(deployment());
        let live = stored(&before);
        let mut now = deployment();
        now["metadata"]["labels"].as_object_mut().unwrap().clear();
        assert!(!settled(&stamped(now), &live));
    }
}

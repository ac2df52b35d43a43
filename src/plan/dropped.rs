//! Fields the server silently dropped: present in the manifest, absent from the dry-run
//! result. That is how a misspelt field (`replicaz: 3`) shows itself on servers without strict
//! field validation, and for custom resources with pruning schemas.

use serde_json::Value;

/// Dotted paths of the manifest's fields that the dry-run result lacks, e.g.
/// `spec.template.spec.containers[name=web].imagePullPolcy`.
pub fn dropped_fields(manifest: &Value, applied: &Value) -> Vec<String> {
    let mut dropped = Vec::new();
    if let (Value::Object(m), Value::Object(a)) = (manifest, applied) {
        for (key, value) in m {
            // Status is not written through the main resource; a Secret's stringData is
            // merged into data by the server.
            if key == "status" || (key == "stringData" && is_secret(manifest)) {
                continue;
            }
            walk(value, a.get(key), key.clone(), &mut dropped);
        }
    }
    dropped
}

fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

fn walk(manifest: &Value, applied: Option<&Value>, path: String, dropped: &mut Vec<String>) {
    // A null asks for nothing, and an empty map or list may be defaulted away.
    if is_empty(manifest) {
        return;
    }
    let Some(applied) = applied else {
        dropped.push(path);
        return;
    };
    match (manifest, applied) {
        (Value::Object(m), Value::Object(a)) => {
            for (key, value) in m {
                walk(value, a.get(key), format!("{path}.{key}"), dropped);
            }
        }
        (Value::Array(m), Value::Array(a)) => {
            for (i, item) in m.iter().enumerate() {
                // Lists of named items (containers, ports, env) are matched by name: the
                // server may keep other managers' items in between.
                let (found, label) = match item.get("name").and_then(Value::as_str) {
                    Some(name) => (
                        a.iter()
                            .find(|x| x.get("name").and_then(Value::as_str) == Some(name)),
                        format!("{path}[name={name}]"),
                    ),
                    None => (a.get(i), format!("{path}[{i}]")),
                };
                walk(item, found, label, dropped);
            }
        }
        // Types may legitimately change (int-or-string, quantities): only presence counts.
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_misspelt_fields_at_any_depth() {
        let manifest = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "creationTimestamp": null},
            "spec": {"replicaz": 3, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx", "imagePullPolcy": "Always"}]}}},
            "status": {}
        });
        let applied = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "uid": "1"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "sidecar", "image": "x"},
                {"name": "web", "image": "nginx", "imagePullPolicy": "Always"}]}}}
        });
        assert_eq!(
            dropped_fields(&manifest, &applied),
            [
                "spec.replicaz",
                "spec.template.spec.containers[name=web].imagePullPolcy"
            ]
        );
    }

    #[test]
    fn converted_values_and_secret_string_data_are_not_drops() {
        let manifest = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                              "stringData": {"a": "b"}, "data": {}});
        let applied = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                             "data": {"a": "Yg=="}});
        assert!(dropped_fields(&manifest, &applied).is_empty());
        let manifest = json!({"spec": {"ports": [{"port": "80", "targetPort": 8080}]}});
        let applied =
            json!({"spec": {"ports": [{"port": 80, "targetPort": "8080", "protocol": "TCP"}]}});
        assert!(dropped_fields(&manifest, &applied).is_empty());
    }
}

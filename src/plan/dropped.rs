//! Fields the server silently dropped: present in the manifest, absent from the dry-run
//! result. Servers without strict field validation (before 1.25) show a field they do not
//! know that way; but every server also omits a field it knows when its value is the zero
//! value (`readOnly: false`, `minReadySeconds: 0`), or when a feature gate is off. So a
//! candidate here is only a candidate: the plan keeps those the schema does not declare.

use std::fmt;

use serde_json::Value;

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    /// An item of a list; named items (containers, ports, env) are matched by name.
    Item {
        index: usize,
        name: Option<String>,
    },
}

/// A field of the manifest that the dry-run result lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub path: Vec<Step>,
    /// The declared value is its type's zero value (`false`, `0`, `""`), which servers omit.
    pub zero: bool,
}

/// `spec.template.spec.containers[name=web].imagePullPolcy`.
impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.path.iter().enumerate() {
            match step {
                Step::Field(key) if i == 0 => write!(f, "{key}")?,
                Step::Field(key) => write!(f, ".{key}")?,
                Step::Item {
                    name: Some(name), ..
                } => write!(f, "[name={name}]")?,
                Step::Item { index, .. } => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// The manifest's fields that the dry-run result lacks, e.g.
/// `spec.template.spec.containers[name=web].imagePullPolcy`.
pub fn dropped_fields(manifest: &Value, applied: &Value) -> Vec<Dropped> {
    let mut dropped = Vec::new();
    if let (Value::Object(m), Value::Object(a)) = (manifest, applied) {
        for (key, value) in m {
            // Status is not written through the main resource; a Secret's stringData is
            // merged into data by the server.
            if key == "status" || (key == "stringData" && is_secret(manifest)) {
                continue;
            }
            let mut path = vec![Step::Field(key.clone())];
            walk(value, a.get(key), &mut path, &mut dropped);
        }
    }
    dropped
}

fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

fn walk(manifest: &Value, applied: Option<&Value>, path: &mut Vec<Step>, out: &mut Vec<Dropped>) {
    // A null asks for nothing, and an empty map or list may be defaulted away.
    if is_empty(manifest) {
        return;
    }
    let Some(applied) = applied else {
        out.push(Dropped {
            path: path.clone(),
            zero: is_zero(manifest),
        });
        return;
    };
    match (manifest, applied) {
        (Value::Object(m), Value::Object(a)) => {
            for (key, value) in m {
                path.push(Step::Field(key.clone()));
                walk(value, a.get(key), path, out);
                path.pop();
            }
        }
        (Value::Array(m), Value::Array(a)) => {
            for (index, item) in m.iter().enumerate() {
                // Lists of named items (containers, ports, env) are matched by name: the
                // server may keep other managers' items in between.
                let name = item.get("name").and_then(Value::as_str);
                let found = match name {
                    Some(name) => a
                        .iter()
                        .find(|x| x.get("name").and_then(Value::as_str) == Some(name)),
                    None => a.get(index),
                };
                path.push(Step::Item {
                    index,
                    name: name.map(str::to_string),
                });
                walk(item, found, path, out);
                path.pop();
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

/// A zero value, or a map or list holding only zero values (`{privileged: false}`).
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.values().all(is_zero),
        Value::Array(a) => a.iter().all(is_zero),
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
        let dropped = dropped_fields(&manifest, &applied);
        let paths: Vec<String> = dropped.iter().map(ToString::to_string).collect();
        assert_eq!(
            paths,
            [
                "spec.replicaz",
                "spec.template.spec.containers[name=web].imagePullPolcy"
            ]
        );
        assert!(dropped.iter().all(|d| !d.zero));
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

    #[test]
    fn zero_values_the_server_omits_are_marked() {
        let manifest = json!({"spec": {"minReadySeconds": 0, "paused": false, "name": "",
            "volumes": [{"name": "data", "readOnly": false}, {"items": [{"mode": 0.0}]}],
            "securityContext": {"privileged": false, "capabilities": {"drop": [""]}},
            "replicaz": 3, "tolerations": [{"key": "gpu"}]}});
        let applied = json!({"spec": {"volumes": [{"name": "data"}, {"items": [{}]}]}});
        let dropped: Vec<(String, bool)> = dropped_fields(&manifest, &applied)
            .iter()
            .map(|d| (d.to_string(), d.zero))
            .collect();
        assert_eq!(
            dropped,
            [
                ("spec.minReadySeconds".to_string(), true),
                ("spec.name".to_string(), true),
                ("spec.paused".to_string(), true),
                ("spec.replicaz".to_string(), false),
                ("spec.securityContext".to_string(), true),
                ("spec.tolerations".to_string(), false),
                ("spec.volumes[name=data].readOnly".to_string(), true),
                ("spec.volumes[1].items[0].mode".to_string(), true),
            ]
        );
    }
}

//! A rendered object: its identity, its origin, and its body as JSON.

use serde_json::Value;

use crate::object::{ObjectRef, Origin};

/// One object to deploy. The body is kept as plain JSON: kpush works with any kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Identity as written; the namespace is `None` when the manifest does not set one.
    pub id: ObjectRef,
    pub origin: Origin,
    pub object: Value,
}

impl Manifest {
    /// Checks the fields every Kubernetes object needs and builds the manifest, or says which
    /// field is missing.
    pub fn from_value(object: Value, origin: Origin) -> Result<Manifest, String> {
        let Value::Object(map) = &object else {
            return Err(format!(
                "expected a Kubernetes object (a mapping), found {}",
                describe(&object)
            ));
        };
        let api_version = required_str(map.get("apiVersion"), "apiVersion")?;
        let kind = required_str(map.get("kind"), "kind")?;
        let metadata = match map.get("metadata") {
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(format!(
                    "`metadata` must be a mapping, found {}",
                    describe(other)
                ));
            }
            None => return Err(format!("{kind} has no `metadata`")),
        };
        let name = required_str(metadata.get("name"), "metadata.name")?;
        let namespace = match metadata.get("namespace") {
            None | Some(Value::Null) => None,
            Some(Value::String(ns)) if !ns.is_empty() => Some(ns.clone()),
            Some(other) => {
                return Err(format!(
                    "`metadata.namespace` must be a non-empty string, found {}",
                    describe(other)
                ));
            }
        };
        let (group, version) = ObjectRef::split_api_version(api_version);
        if version.is_empty() {
            return Err(format!("`apiVersion: {api_version}` has no version"));
        }
        let id = ObjectRef {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace,
            name: name.to_string(),
        };
        Ok(Manifest { id, origin, object })
    }
}

fn required_str<'a>(value: Option<&'a Value>, field: &str) -> Result<&'a str, String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(format!("missing required field `{field}`"))
        }
        Some(other) => Err(format!(
            "`{field}` must be a string, found {}",
            describe(other)
        )),
    }
}

pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origin() -> Origin {
        Origin {
            file: "a.yaml".into(),
            line: 1,
        }
    }

    #[test]
    fn identity_comes_from_the_manifest() {
        let m = Manifest::from_value(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}),
            origin(),
        )
        .unwrap();
        assert_eq!(m.id.to_string(), "Deployment/shop/web");
        assert_eq!(m.id.group, "apps");
    }

    #[test]
    fn missing_fields_are_named() {
        let cases = [
            (
                json!({"kind": "ConfigMap", "metadata": {"name": "a"}}),
                "`apiVersion`",
            ),
            (
                json!({"apiVersion": "v1", "metadata": {"name": "a"}}),
                "`kind`",
            ),
            (
                json!({"apiVersion": "v1", "kind": "ConfigMap"}),
                "no `metadata`",
            ),
            (
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
                "`metadata.name`",
            ),
            (
                json!({"apiVersion": 1, "kind": "ConfigMap", "metadata": {"name": "a"}}),
                "must be a string",
            ),
            (json!(["a"]), "found a list"),
            (json!("text"), "found a string"),
        ];
        for (value, expected) in cases {
            let err = Manifest::from_value(value.clone(), origin()).unwrap_err();
            assert!(err.contains(expected), "{value}: {err}");
        }
    }
}

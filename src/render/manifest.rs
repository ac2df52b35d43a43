//! A rendered object: its identity, its origin, and its body as JSON.

use crate::input::describe;
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
        let name = match (metadata.get("name"), metadata.get("generateName")) {
            // The server names a hook's object each time it runs; an object applied with the
            // app needs a name of its own to be found again.
            (None | Some(Value::Null), Some(Value::String(prefix))) if !prefix.is_empty() => {
                if crate::object::Hook::of(&object).is_none() {
                    return Err(format!(
                        "{kind} has `metadata.generateName: {prefix}` and no `metadata.name`: only a sync hook may have a generated name, because kpush applies every other object by name (server-side apply) to find it again on the next deploy\nhint: set `metadata.name`, or make it a hook (`argocd.argoproj.io/hook: PreSync`, `Sync`, `PostSync`…)"
                    ));
                }
                prefix.as_str()
            }
            (name, _) => required_str(name, "metadata.name")?,
        };
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
        if crate::object::hook::fixed_name(&object).is_some() {
            check_name(group, kind, name)?;
        }
        for field in ["labels", "annotations"] {
            string_map(metadata.get(field), field)?;
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

/// Names the server refuses whatever the kind: they are part of the object's URL. Built-in
/// kinds whose names are DNS names are checked too; other kinds (RBAC allows `system:x`,
/// custom resources have their own rules) are left to the server.
fn check_name(group: &str, kind: &str, name: &str) -> Result<(), String> {
    if name == "." || name == ".." || name.contains('/') || name.contains('%') {
        return Err(format!(
            "`metadata.name: {name}` is not a valid name: it may not be `.` or `..` or contain `/` or `%`"
        ));
    }
    let rule = match (group, kind) {
        ("", "Namespace") => Some((is_dns_label(name), "a DNS label")),
        ("", "Service") => Some((
            is_dns_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase()),
            "a DNS-1035 label: it starts with a letter",
        )),
        ("", "ConfigMap" | "Secret" | "ServiceAccount" | "Pod" | "PersistentVolumeClaim")
        | ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job" | "CronJob")
        | ("networking.k8s.io", "Ingress") => Some((is_dns_subdomain(name), "a DNS subdomain")),
        _ => None,
    };
    match rule {
        Some((false, what)) => Err(format!(
            "`metadata.name: {name}` is not a valid {kind} name: it must be {what} (lowercase letters, digits, `-`{})",
            if what == "a DNS subdomain" {
                " and `.`, at most 253 characters"
            } else {
                ", at most 63 characters"
            }
        )),
        _ => Ok(()),
    }
}

/// RFC 1123 label.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

/// Labels and annotations are maps of strings; `version: 1.0` unquoted is a common slip that
/// the server would refuse. (An empty value, `null`, is left to the server.)
fn string_map(value: Option<&Value>, field: &str) -> Result<(), String> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(map)) => {
            match map.iter().find(|(_, v)| !v.is_string() && !v.is_null()) {
                Some((key, v)) => Err(format!(
                    "`metadata.{field}.{key}` must be a string, found {} (quote it)",
                    describe(v)
                )),
                None => Ok(()),
            }
        }
        Some(other) => Err(format!(
            "`metadata.{field}` must be a mapping, found {}",
            describe(other)
        )),
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

    fn object(kind: &str, metadata: Value) -> Value {
        let api = match kind {
            "Deployment" => "apps/v1",
            "ClusterRole" => "rbac.authorization.k8s.io/v1",
            "Widget" => "example.com/v1",
            _ => "v1",
        };
        json!({"apiVersion": api, "kind": kind, "metadata": metadata})
    }

    #[test]
    fn names_the_server_always_refuses() {
        let cases = [
            (
                "ConfigMap",
                json!({"name": "a/b"}),
                "may not be `.` or `..`",
            ),
            (
                "ClusterRole",
                json!({"name": ".."}),
                "may not be `.` or `..`",
            ),
            ("Widget", json!({"name": "50%"}), "contain `/` or `%`"),
            (
                "ConfigMap",
                json!({"name": "Web"}),
                "not a valid ConfigMap name",
            ),
            ("Deployment", json!({"name": "web_1"}), "a DNS subdomain"),
            ("Namespace", json!({"name": "a.b"}), "a DNS label"),
            ("Service", json!({"name": "1web"}), "starts with a letter"),
            (
                "ConfigMap",
                json!({"name": "a", "labels": ["x"]}),
                "`metadata.labels` must be a mapping, found a list",
            ),
            (
                "ConfigMap",
                json!({"name": "a", "labels": {"v": 1.0}}),
                "`metadata.labels.v` must be a string, found a number",
            ),
            (
                "ConfigMap",
                json!({"name": "a", "annotations": "x"}),
                "`metadata.annotations` must be a mapping",
            ),
        ];
        for (kind, metadata, expected) in cases {
            let err = Manifest::from_value(object(kind, metadata.clone()), origin()).unwrap_err();
            assert!(err.contains(expected), "{kind} {metadata}: {err}");
        }
    }

    #[test]
    fn names_other_kinds_allow_are_left_to_the_server() {
        let fine = [
            ("ClusterRole", json!({"name": "system:Aggregate-to-edit"})),
            ("Widget", json!({"name": "Upper_Case"})),
            (
                "ConfigMap",
                json!({"name": "kube-root-ca.crt", "labels": null}),
            ),
            ("Secret", json!({"name": "s", "labels": {"empty": null}})),
            ("Service", json!({"name": "web-1"})),
            (
                "Deployment",
                json!({"name": "a.b-c", "annotations": {"x": ""}}),
            ),
        ];
        for (kind, metadata) in fine {
            Manifest::from_value(object(kind, metadata.clone()), origin())
                .unwrap_or_else(|e| panic!("{kind} {metadata}: {e}"));
        }
    }
}

//! The server's OpenAPI v2 document, asked one question: does a kind declare a field? A field
//! the schema declares and the server omitted is a zero value or a default, never a typo.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::dropped::Step;
use crate::object::ObjectRef;

/// The kinds of one OpenAPI v2 document, by group, version and kind.
#[derive(Debug)]
pub struct ApiSchema {
    doc: Arc<Value>,
    kinds: HashMap<(String, String, String), String>,
}

impl ApiSchema {
    pub fn new(doc: Arc<Value>) -> ApiSchema {
        let mut kinds = HashMap::new();
        for (name, definition) in doc["definitions"].as_object().into_iter().flatten() {
            let gvks = definition["x-kubernetes-group-version-kind"].as_array();
            for gvk in gvks.into_iter().flatten() {
                let text = |key: &str| gvk[key].as_str().unwrap_or("").to_string();
                kinds.insert((text("group"), text("version"), text("kind")), name.clone());
            }
        }
        ApiSchema { doc, kinds }
    }

    /// Whether the kind of `id` declares the field at `path`; `None` when the document does not
    /// describe the kind.
    pub fn declares(&self, id: &ObjectRef, path: &[Step]) -> Option<bool> {
        let key = (id.group.clone(), id.version.clone(), id.kind.clone());
        let name = self.kinds.get(&key)?;
        let mut schema = &self.doc["definitions"][name];
        for step in path {
            schema = self.resolve(schema);
            if schema["x-kubernetes-preserve-unknown-fields"] == true {
                return Some(true);
            }
            schema = match step {
                Step::Field(key) => {
                    match (schema.get("properties"), schema.get("additionalProperties")) {
                        (Some(properties), _) if properties.get(key).is_some() => &properties[key],
                        // A map: any key is declared, with the map's value schema.
                        (_, Some(Value::Bool(any))) => return Some(*any),
                        (_, Some(values)) => values,
                        (Some(_), None) => return Some(false),
                        // No properties: an object of any shape (RawExtension, FieldsV1).
                        (None, None) => return Some(true),
                    }
                }
                Step::Item { .. } => match schema.get("items") {
                    Some(items) => items,
                    None => return Some(true),
                },
            };
        }
        Some(true)
    }

    /// Removes the fields of `object` (of kind `id`) the schema does not declare, as a server
    /// without field validation drops them; returns their paths. Nothing is removed from a
    /// kind the document does not describe.
    pub fn strip_undeclared(&self, id: &ObjectRef, object: &mut Value) -> Vec<String> {
        let mut removed = Vec::new();
        self.strip(id, &mut Vec::new(), object, &mut removed);
        removed
    }

    fn strip(
        &self,
        id: &ObjectRef,
        path: &mut Vec<Step>,
        value: &mut Value,
        removed: &mut Vec<String>,
    ) {
        match value {
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    path.push(Step::Field(key.clone()));
                    match self.declares(id, path) {
                        Some(false) => {
                            map.remove(&key);
                            let dropped = super::dropped::Dropped {
                                path: path.clone(),
                                zero: false,
                            };
                            removed.push(dropped.to_string());
                        }
                        Some(true) => {
                            if let Some(child) = map.get_mut(&key) {
                                self.strip(id, path, child, removed);
                            }
                        }
                        None => {}
                    }
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    path.push(Step::Item { index, name: None });
                    self.strip(id, path, item, removed);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// Follows `$ref` (and a lone `allOf`) to the schema it names.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..32 {
            if let Some(name) = schema["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/definitions/"))
            {
                schema = &self.doc["definitions"][name];
            } else if let Some([only]) = schema["allOf"].as_array().map(Vec::as_slice) {
                schema = only;
            } else {
                break;
            }
        }
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A slice of a real document: Deployment → PodSpec → Container, with maps, lists,
    /// `$ref`s and a custom resource that keeps unknown fields.
    fn schema() -> ApiSchema {
        ApiSchema::new(Arc::new(json!({"definitions": {
            "io.k8s.api.apps.v1.Deployment": {
                "x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}],
                "properties": {
                    "metadata": {"$ref": "#/definitions/meta.ObjectMeta"},
                    "spec": {"$ref": "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"}
                }
            },
            "io.k8s.api.apps.v1.DeploymentSpec": {"properties": {
                "minReadySeconds": {"type": "integer"},
                "template": {"properties": {"spec": {"allOf": [{"$ref": "#/definitions/core.PodSpec"}]}}}
            }},
            "core.PodSpec": {"properties": {
                "hostNetwork": {"type": "boolean"},
                "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
                "containers": {"type": "array", "items": {"$ref": "#/definitions/core.Container"}}
            }},
            "core.Container": {"properties": {"name": {"type": "string"}, "volumeMounts": {
                "type": "array", "items": {"properties": {"readOnly": {"type": "boolean"}}}}}},
            "meta.ObjectMeta": {"properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "managedFields": {"type": "array", "items": {"type": "object"}}
            }},
            "com.example.v1.Gadget": {
                "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Gadget"}],
                "properties": {"spec": {"properties": {
                    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}
            }
        }})))
    }

    fn id(group: &str, kind: &str) -> ObjectRef {
        ObjectRef {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: Some("shop".into()),
            name: "x".into(),
        }
    }

    fn path(text: &str) -> Vec<Step> {
        text.split('.')
            .flat_map(|part| match part.strip_suffix("[]") {
                Some(field) => vec![
                    Step::Field(field.into()),
                    Step::Item {
                        index: 0,
                        name: None,
                    },
                ],
                None => vec![Step::Field(part.into())],
            })
            .collect()
    }

    #[test]
    fn declared_fields_are_told_from_unknown_ones() {
        let schema = schema();
        let deployment = id("apps", "Deployment");
        let cases = [
            ("spec.minReadySeconds", true),
            ("spec.template.spec.hostNetwork", true),
            (
                "spec.template.spec.containers[].volumeMounts[].readOnly",
                true,
            ),
            ("spec.template.spec.nodeSelector.disktype", true),
            ("metadata.labels.app", true),
            ("metadata.managedFields[].anything", true),
            ("spec.replicaz", false),
            ("spec.template.spec.containers[].imagePullPolcy", false),
            ("spec.template.spec.hostNetwrk", false),
        ];
        for (field, declared) in cases {
            assert_eq!(
                schema.declares(&deployment, &path(field)),
                Some(declared),
                "{field}"
            );
        }
        let gadget = id("example.com", "Gadget");
        assert_eq!(
            schema.declares(&gadget, &path("spec.config.any.depth")),
            Some(true)
        );
        assert_eq!(schema.declares(&gadget, &path("spec.colour")), Some(false));
        assert_eq!(
            schema.declares(&id("example.com", "Widget"), &path("spec")),
            None
        );
    }

    #[test]
    fn undeclared_fields_are_stripped_and_named() {
        let schema = schema();
        let mut deployment = json!({"metadata": {"labels": {"app": "web"}}, "spec": {
            "replicaz": 2, "minReadySeconds": 0,
            "template": {"spec": {"containers": [{"name": "web", "imagePullPolcy": "Always"}]}}}});
        let removed = schema.strip_undeclared(&id("apps", "Deployment"), &mut deployment);
        assert_eq!(
            removed,
            [
                "spec.replicaz",
                "spec.template.spec.containers[0].imagePullPolcy"
            ]
        );
        assert_eq!(
            deployment,
            json!({"metadata": {"labels": {"app": "web"}}, "spec": {"minReadySeconds": 0,
                "template": {"spec": {"containers": [{"name": "web"}]}}}})
        );
        // A kind the document does not describe is left as written.
        let mut widget = json!({"spec": {"colour": "red"}});
        assert!(
            schema
                .strip_undeclared(&id("example.com", "Widget"), &mut widget)
                .is_empty()
        );
        assert_eq!(widget["spec"]["colour"], "red");
    }
}

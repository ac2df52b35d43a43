//! Plan entries for the engine's unit tests: objects of a kind, with annotations, as targets
//! or inventory members.

use serde_json::{Value, json};

use super::{Action, Entry, PruneCandidate, Subject, Target};
use crate::object::{ObjectRef, Origin, Policy, Resource};

pub use crate::object::testing::resource;

/// The object `name` of `resource` (in `shop` when namespaced) with `annotations`.
pub fn object(resource: &Resource, name: &str, annotations: Value) -> (ObjectRef, Value) {
    let id = ObjectRef {
        group: resource.group.clone(),
        version: resource.version.clone(),
        kind: resource.kind.clone(),
        namespace: resource.namespaced.then(|| "shop".to_string()),
        name: name.into(),
    };
    let object = json!({"apiVersion": id.api_version(), "kind": id.kind,
                        "metadata": {"name": name, "annotations": annotations}});
    (id, object)
}

/// A rendered object's entry.
pub fn rendered(resource: &Resource, name: &str, annotations: Value, action: Action) -> Entry {
    let (id, object) = object(resource, name, annotations);
    let mut entry = Entry::new(id.clone(), None, action);
    let policy = Policy::of(resource, &object);
    entry.hook = super::HookLine::of(&policy, &object);
    entry.subject = Subject::Target(Box::new(Target {
        policy,
        id,
        origin: Origin {
            file: format!("{name}.yaml").into(),
            line: 1,
        },
        resource: resource.clone(),
        object,
        awaits_crd: None,
        awaits_kind: false,
        force: false,
        precondition: None,
    }));
    entry
}

/// An inventory member's entry.
pub fn member(resource: &Resource, name: &str, annotations: Value, action: Action) -> Entry {
    let (id, live) = object(resource, name, annotations);
    let mut entry = Entry::new(id.clone(), None, action);
    entry.subject = Subject::Member(Box::new(PruneCandidate::new(id, resource.clone(), live)));
    entry
}

//! What a confirmed deletion of a Namespace, a CustomResourceDefinition or a
//! PersistentVolumeClaim takes along: the objects in the namespace that are not the app's, the
//! custom resources of the CRD's kind in the whole cluster, the claim's volume. The plan shows
//! it before anything is deleted.

use std::collections::BTreeSet;

use crate::cluster::Cluster;
use crate::inventory::PART_OF_LABEL;
use crate::object::{Confirmation, Policy, Resource};
use crate::plan::{Action, Plan, PruneCandidate};

/// Names listed before the rest is only counted.
const SHOWN: usize = 5;

/// Kinds checked in every namespace besides the app's own: what holds data or runs.
const ALWAYS: [(&str, &str); 4] = [
    ("Pod", "pods"),
    ("PersistentVolumeClaim", "persistentvolumeclaims"),
    ("Secret", "secrets"),
    ("ConfigMap", "configmaps"),
];

/// What the cluster puts in every namespace: not anyone's data.
fn made_by_the_cluster(kind: &str, metadata: &serde_json::Value) -> bool {
    match kind {
        "ConfigMap" => metadata["name"] == "kube-root-ca.crt",
        // The token of the `default` service account (servers before 1.24).
        "Secret" => metadata["annotations"]["kubernetes.io/service-account.name"] == "default",
        _ => false,
    }
}

/// Fills `with_it` of every Namespace, CRD and PersistentVolumeClaim the plan prunes.
pub(in crate::deploy) async fn with_it(cluster: &Cluster, plan: &mut Plan, applyset: &str) {
    let takes_along = plan.entries.iter().any(|e| {
        e.action == Action::Prune
            && e.member()
                .is_some_and(|m| Policy::guard_of(&m.resource).is_some())
    });
    if !takes_along {
        return;
    }
    let mut kinds: BTreeSet<Resource> = plan
        .targets()
        .map(|(_, t)| t.resource.clone())
        .filter(|r| r.namespaced)
        .collect();
    kinds.extend(
        ALWAYS
            .iter()
            .map(|(kind, plural)| Resource::core(kind, plural)),
    );
    for entry in &mut plan.entries {
        let Some(member) = entry.member().filter(|_| entry.action == Action::Prune) else {
            continue;
        };
        entry.with_it = match Policy::guard_of(&member.resource) {
            Some(Confirmation::Namespaces) => {
                Some(in_namespace(cluster, member, &kinds, applyset).await)
            }
            Some(Confirmation::Crds) => Some(custom_resources(cluster, member).await),
            Some(Confirmation::Volumes) => Some(volume(cluster, &member.live).await),
            Some(Confirmation::Prune) | None => None,
        };
    }
}

async fn in_namespace(
    cluster: &Cluster,
    namespace: &PruneCandidate,
    kinds: &BTreeSet<Resource>,
    applyset: &str,
) -> String {
    let ns = namespace.id.name.as_str();
    let others = format!("{PART_OF_LABEL}!={applyset}");
    let mut found = Vec::new();
    for kind in kinds {
        match cluster.metadata_labelled(kind, Some(ns), &others).await {
            Ok(objects) => found.extend(
                objects
                    .iter()
                    .filter(|m| !made_by_the_cluster(&kind.kind, m))
                    .filter_map(|m| Some(format!("{}/{}", kind.kind, m["name"].as_str()?))),
            ),
            Err(failure) => return format!("cannot tell what else is in it: {failure}"),
        }
    }
    if found.is_empty() {
        return "nothing that is not part of the app".into();
    }
    format!(
        "{} object(s) that are not part of the app: {}",
        found.len(),
        shown(&found)
    )
}

async fn custom_resources(cluster: &Cluster, crd: &PruneCandidate) -> String {
    let Some(resource) = kind_of(&crd.live) else {
        return "cannot tell which kind it defines".into();
    };
    let names = cluster
        .metadata_labelled(&resource, None, "")
        .await
        .map(|objects| {
            objects
                .iter()
                .filter_map(|m| {
                    let name = m["name"].as_str()?;
                    Some(match m["namespace"].as_str() {
                        Some(ns) => format!("{ns}/{name}"),
                        None => name.to_string(),
                    })
                })
                .collect::<Vec<_>>()
        });
    match names {
        Ok(names) if names.is_empty() => format!("no {} in the cluster", resource.kind),
        Ok(names) => format!(
            "{} {} custom resource(s) in the cluster: {}",
            names.len(),
            resource.kind,
            shown(&names)
        ),
        Err(failure) => format!("cannot tell how many {} exist: {failure}", resource.kind),
    }
}

/// What becomes of a claim's volume: its reclaim policy decides.
async fn volume(cluster: &Cluster, claim: &serde_json::Value) -> String {
    let Some(name) = claim["spec"]["volumeName"]
        .as_str()
        .filter(|n| !n.is_empty())
    else {
        return "no volume: the claim is not bound".into();
    };
    let volumes = Resource {
        namespaced: false,
        ..Resource::core("PersistentVolume", "persistentvolumes")
    };
    let id = crate::object::ObjectRef {
        group: String::new(),
        version: "v1".into(),
        kind: "PersistentVolume".into(),
        namespace: None,
        name: name.to_string(),
    };
    match cluster.get(&volumes, &id).await {
        Ok(Some(pv)) => reclaimed(name, &pv),
        Ok(None) => format!("its volume {name}, which does not exist"),
        Err(failure) => format!(
            "its volume {name}, with its data if its reclaim policy is Delete (cannot read it: {failure})"
        ),
    }
}

fn reclaimed(name: &str, pv: &serde_json::Value) -> String {
    match pv["spec"]["persistentVolumeReclaimPolicy"].as_str() {
        Some("Retain") => {
            format!("nothing: its volume {name} is kept (reclaim policy Retain), data and all")
        }
        Some(policy) => format!("its volume {name} and its data (reclaim policy {policy})"),
        None => format!("its volume {name}, with its data unless the provisioner retains it"),
    }
}

/// The kind a live CRD defines, at its storage version.
fn kind_of(crd: &serde_json::Value) -> Option<Resource> {
    let spec = &crd["spec"];
    let versions = spec["versions"].as_array()?;
    let version = versions
        .iter()
        .find(|v| v["storage"] == true)
        .or_else(|| versions.first())?;
    Some(Resource {
        group: spec["group"].as_str()?.to_string(),
        version: version["name"].as_str()?.to_string(),
        kind: spec["names"]["kind"].as_str()?.to_string(),
        plural: spec["names"]["plural"].as_str()?.to_string(),
        namespaced: spec["scope"].as_str() != Some("Cluster"),
    })
}

/// The first names, then how many more.
fn shown(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_crd_defines_its_kind_at_the_storage_version() {
        let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1beta1", "storage": false}, {"name": "v1", "storage": true}]}});
        let r = kind_of(&crd).unwrap();
        assert_eq!(
            (r.version.as_str(), r.plural.as_str(), r.namespaced),
            ("v1", "widgets", true)
        );
        assert!(kind_of(&json!({"spec": {}})).is_none());
    }

    #[test]
    fn a_volume_goes_by_its_reclaim_policy() {
        let pv =
            |policy: serde_json::Value| json!({"spec": {"persistentVolumeReclaimPolicy": policy}});
        assert_eq!(
            reclaimed("pv-1", &pv(json!("Delete"))),
            "its volume pv-1 and its data (reclaim policy Delete)"
        );
        assert_eq!(
            reclaimed("pv-1", &pv(json!("Retain"))),
            "nothing: its volume pv-1 is kept (reclaim policy Retain), data and all"
        );
        assert_eq!(
            reclaimed("pv-1", &json!({})),
            "its volume pv-1, with its data unless the provisioner retains it"
        );
    }

    #[test]
    fn long_lists_are_counted() {
        let names: Vec<String> = (0..7).map(|i| format!("n{i}")).collect();
        assert_eq!(shown(&names), "n0, n1, n2, n3, n4 and 2 more");
        assert_eq!(shown(&names[..2]), "n0, n1");
    }
}

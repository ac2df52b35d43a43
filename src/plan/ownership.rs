//! Objects that belong to someone else are not taken over silently: another ApplySet, a Helm
//! release, or an Argo CD application.

use serde_json::Value;

use crate::inventory::PART_OF_LABEL;

const HELM_RELEASE: &str = "meta.helm.sh/release-name";
const ARGO_TRACKING: &str = "argocd.argoproj.io/tracking-id";
/// Argo CD's label tracking (its default before 3.0). Charts set the same label themselves,
/// so it counts only when an Argo CD field manager wrote it.
const ARGO_INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// A metadata key Argo CD tracks an object with: (`labels` or `annotations`, key).
pub type Tracking = (&'static str, &'static str);

/// How Argo CD tracks the live object, if it does.
pub fn argo_tracking(live: &Value) -> Vec<Tracking> {
    let metadata = &live["metadata"];
    let mut tracking = Vec::new();
    if metadata["annotations"][ARGO_TRACKING].is_string() {
        tracking.push(("annotations", ARGO_TRACKING));
    }
    if metadata["labels"][ARGO_INSTANCE_LABEL].is_string() && argo_wrote_instance_label(live) {
        tracking.push(("labels", ARGO_INSTANCE_LABEL));
    }
    tracking
}

fn argo_wrote_instance_label(live: &Value) -> bool {
    let key = format!("f:{ARGO_INSTANCE_LABEL}");
    live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["manager"]
                .as_str()
                .is_some_and(|n| n.starts_with("argocd"))
        })
        .any(|m| m["fieldsV1"]["f:metadata"]["f:labels"].get(&key).is_some())
}

/// Who else owns the live object, if anyone but the ApplySet `our_id`.
pub fn foreign_owner(live: &Value, our_id: &str) -> Option<String> {
    let metadata = &live["metadata"];
    if let Some(other) = metadata["labels"][PART_OF_LABEL].as_str()
        && other != our_id
    {
        return Some(format!(
            "belongs to another ApplySet (`{PART_OF_LABEL}: {other}`)"
        ));
    }
    let annotations = &metadata["annotations"];
    if let Some(release) = annotations[HELM_RELEASE].as_str() {
        return Some(format!("belongs to the Helm release `{release}`"));
    }
    if let Some(app) = annotations[ARGO_TRACKING].as_str() {
        return Some(format!("is tracked by Argo CD (`{app}`)"));
    }
    // Once the object is a member (adopted), a label its manifest declares as well stays,
    // and Argo CD's old write of it is no longer tracking.
    let ours = metadata["labels"][PART_OF_LABEL].as_str() == Some(our_id);
    if !ours && argo_tracking(live).contains(&("labels", ARGO_INSTANCE_LABEL)) {
        let app = metadata["labels"][ARGO_INSTANCE_LABEL]
            .as_str()
            .unwrap_or("");
        return Some(format!(
            "is tracked by Argo CD (label `{ARGO_INSTANCE_LABEL}: {app}`)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owners_are_recognised() {
        let with = |labels: Value, annotations: Value| json!({"metadata": {"labels": labels, "annotations": annotations}});
        let cases = [
            (with(json!({}), json!({})), None),
            (with(json!({PART_OF_LABEL: "ours"}), json!({})), None),
            (
                with(json!({PART_OF_LABEL: "theirs"}), json!({})),
                Some("another ApplySet"),
            ),
            (
                with(json!({}), json!({HELM_RELEASE: "web"})),
                Some("Helm release `web`"),
            ),
            (
                with(
                    json!({}),
                    json!({ARGO_TRACKING: "app:apps/Deployment:ns/web"}),
                ),
                Some("Argo CD"),
            ),
            // A chart's own instance label is not Argo CD's tracking...
            (with(json!({ARGO_INSTANCE_LABEL: "web"}), json!({})), None),
            // ...unless an Argo CD manager wrote it.
            (
                json!({"metadata": {"labels": {ARGO_INSTANCE_LABEL: "web"}, "managedFields": [
                    {"manager": "helm", "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}}},
                    {"manager": "argocd-controller", "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/instance": {}}}}}
                ]}}),
                Some("label `app.kubernetes.io/instance: web`"),
            ),
            // Adopted, with the manifest declaring the label too: a member, nobody else's.
            (
                json!({"metadata": {"labels": {ARGO_INSTANCE_LABEL: "web", PART_OF_LABEL: "ours"}, "managedFields": [
                    {"manager": "argocd-controller", "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/instance": {}}}}}
                ]}}),
                None,
            ),
        ];
        for (live, expected) in cases {
            let found = foreign_owner(&live, "ours");
            match expected {
                None => assert_eq!(found, None, "{live}"),
                Some(text) => assert!(found.unwrap().contains(text), "{live}"),
            }
        }
    }
}

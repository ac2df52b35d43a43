//! Objects that belong to someone else are not taken over silently: another ApplySet, a Helm
//! release, or an Argo CD application.

use serde_json::Value;

use crate::inventory::PART_OF_LABEL;

const HELM_RELEASE: &str = "meta.helm.sh/release-name";
const ARGO_TRACKING: &str = "argocd.argoproj.io/tracking-id";

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

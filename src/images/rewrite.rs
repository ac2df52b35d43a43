//! Putting promoted tags into plain manifests: every container image (init and ephemeral
//! containers too) whose repository matches gets the new tag.

use serde_json::Value;

use super::{Promotion, split_reference};

/// Rewrites matching container images in a workload object; returns how many it changed.
pub fn rewrite_images(object: &mut Value, promotions: &[Promotion]) -> usize {
    let kind = object["kind"].as_str().unwrap_or("").to_string();
    let Some(pointer) = crate::object::pod_spec_pointer(&kind) else {
        return 0;
    };
    let Some(spec) = object.pointer_mut(pointer) else {
        return 0;
    };
    let mut changed = 0;
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in containers {
            let Some(image) = container.get("image").and_then(Value::as_str) else {
                continue;
            };
            let (repository, _) = split_reference(image);
            if let Some(p) = promotions.iter().find(|p| p.repository == repository) {
                let new = p.to_string();
                if new != image {
                    container["image"] = Value::String(new);
                    changed += 1;
                }
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::HelmTarget;
    use serde_json::json;

    #[test]
    fn matching_repositories_get_the_tag() {
        let promotion = Promotion {
            alias: Some("web".into()),
            repository: "registry:5000/shop/web".into(),
            tag: "2.4.1".into(),
            helm: HelmTarget::default(),
            kustomize_name: None,
            kept_from: None,
            chosen: None,
        };
        let mut deploy = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"name": "migrate", "image": "registry:5000/shop/web:1.0"}],
            "containers": [{"name": "web", "image": "registry:5000/shop/web@sha256:abc"}, {"name": "proxy", "image": "envoy:1.30"}]}}}});
        assert_eq!(
            rewrite_images(&mut deploy, std::slice::from_ref(&promotion)),
            2
        );
        let spec = &deploy["spec"]["template"]["spec"];
        assert_eq!(
            spec["initContainers"][0]["image"],
            "registry:5000/shop/web:2.4.1"
        );
        assert_eq!(
            spec["containers"][0]["image"],
            "registry:5000/shop/web:2.4.1"
        );
        assert_eq!(spec["containers"][1]["image"], "envoy:1.30");
        let mut cm = json!({"kind": "ConfigMap", "data": {"image": "registry:5000/shop/web:1.0"}});
        assert_eq!(rewrite_images(&mut cm, &[promotion]), 0);
    }
}

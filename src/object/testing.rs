//! Kinds for unit tests.

use super::Resource;

/// A kind as discovery would serve it: `("apps", "Deployment", true)`.
pub fn resource(group: &str, kind: &str, namespaced: bool) -> Resource {
    Resource {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        plural: format!("{}s", kind.to_lowercase()),
        namespaced,
    }
}

//! Which app an inventory belongs to, recorded on its parent: two apps that happen to get the
//! same name (`svc-a/deploy/prod` and `svc-b/deploy/prod` are both `prod`) must never share
//! one inventory, or the second would prune the first.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Annotation on the parent: the app's identity, as JSON.
pub const OWNER_ANNOTATION: &str = "kpush.dev/app";

/// An app as its source names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppIdentity {
    /// The repository's `origin`, host and path only (`github.com/org/repo`); absent without
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// `path:<dir>` for an app deployed by PATH, `config:<file>#<app>` for a definition.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl AppIdentity {
    /// The identity a live parent records, if it records one.
    pub fn recorded(parent: &Value) -> Option<AppIdentity> {
        let text = parent["metadata"]["annotations"][OWNER_ANNOTATION].as_str()?;
        serde_json::from_str(text).ok()
    }

    pub fn to_annotation(&self) -> String {
        serde_json::to_string(self).expect("an identity serialises")
    }

    /// Whether both name the same app. A repository known on one side only (a checkout
    /// without `origin`) does not tell them apart.
    pub fn same_app(&self, other: &AppIdentity) -> bool {
        self.source == other.source
            && self.env == other.env
            && match (&self.repo, &other.repo) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// `path:svc-a/deploy/prod (env prod) in github.com/org/repo`
impl fmt::Display for AppIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.source)?;
        if let Some(env) = &self.env {
            write!(f, " (environment `{env}`)")?;
        }
        if let Some(repo) = &self.repo {
            write!(f, " in {repo}")?;
        }
        Ok(())
    }
}

/// A repository URL as host and path: `git@host:a/b.git` and `https://host/a/b` are the same.
pub fn repository_key(url: &str) -> String {
    let url = url.trim().trim_end_matches('/').trim_end_matches(".git");
    let url = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let url = url.rsplit_once('@').map(|(_, rest)| rest).unwrap_or(url);
    url.replacen(':', "/", 1).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(repo: Option<&str>, source: &str, env: Option<&str>) -> AppIdentity {
        AppIdentity {
            repo: repo.map(str::to_string),
            source: source.into(),
            env: env.map(str::to_string),
        }
    }

    #[test]
    fn apps_that_share_a_name_are_told_apart() {
        let a = id(Some("github.com/org/mono"), "path:svc-a/deploy/prod", None);
        let b = id(Some("github.com/org/mono"), "path:svc-b/deploy/prod", None);
        assert!(a.same_app(&a.clone()));
        assert!(!a.same_app(&b));
        assert!(!a.same_app(&id(
            Some("github.com/org/mono"),
            "path:svc-a/deploy/prod",
            Some("prod")
        )));
        assert!(!a.same_app(&id(
            Some("github.com/org/other"),
            "path:svc-a/deploy/prod",
            None
        )));
        // A checkout without origin cannot tell repositories apart.
        assert!(a.same_app(&id(None, "path:svc-a/deploy/prod", None)));
    }

    #[test]
    fn the_identity_round_trips_through_the_parent() {
        let a = id(None, "config:kpush.yaml#web", Some("prod"));
        let parent = json!({"metadata": {"annotations": {OWNER_ANNOTATION: a.to_annotation()}}});
        assert_eq!(AppIdentity::recorded(&parent), Some(a));
        assert_eq!(AppIdentity::recorded(&json!({})), None);
    }

    #[test]
    fn repository_urls_compare_by_host_and_path() {
        let key = repository_key;
        assert_eq!(
            key("git@github.com:argoproj/argocd-example-apps.git"),
            key("https://github.com/argoproj/argocd-example-apps.git")
        );
        assert_eq!(
            key("https://github.com/a/b/"),
            key("https://github.com/a/b.git")
        );
        assert_ne!(key("https://github.com/a/b"), key("https://github.com/a/c"));
    }
}

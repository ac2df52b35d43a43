//! Which tags an image may be promoted to: Argo CD Image Updater's rules (`allow-tags`,
//! `ignore-tags`, a semver constraint in `image-list`), per app and environment.

use std::collections::BTreeMap;

use regex::Regex;

use super::HelmTarget;
use super::strategy::{self, Strategy};

const PREFIX: &str = "argocd-image-updater.argoproj.io/";

/// The rule `allow-tags` states.
#[derive(Debug, Clone)]
pub enum TagRule {
    Any,
    Regex(Regex),
}

impl PartialEq for TagRule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TagRule::Any, TagRule::Any) => true,
            (TagRule::Regex(a), TagRule::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl TagRule {
    /// `any`, or `regexp:<re>`.
    pub fn parse(text: &str) -> Result<TagRule, String> {
        let text = text.trim();
        if text == "any" {
            return Ok(TagRule::Any);
        }
        let pattern = text
            .strip_prefix("regexp:")
            .ok_or_else(|| format!("allow-tags `{text}` is not `any` or `regexp:<expression>`"))?;
        Regex::new(pattern)
            .map(TagRule::Regex)
            .map_err(|e| format!("allow-tags `{text}`: {e}"))
    }
}

/// What an image alias may be promoted to, and where its tag goes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePolicy {
    pub alias: String,
    pub repository: String,
    /// A semver range such as `^2.0` or `~1.4`; with the `digest` strategy, the tag followed.
    pub constraint: Option<String>,
    /// How `--update-images` picks a tag from the registry.
    pub strategy: Strategy,
    /// Where the registry's credentials are (`env:VARIABLE`); else the docker config.
    pub pull_secret: Option<String>,
    pub allow: Option<TagRule>,
    /// Tags never deployed (`*` wildcards allowed).
    pub ignore: Vec<String>,
    pub helm: HelmTarget,
    pub kustomize_name: Option<String>,
}

impl ImagePolicy {
    pub fn new(alias: &str, repository: &str) -> ImagePolicy {
        ImagePolicy {
            alias: alias.to_string(),
            repository: repository.to_string(),
            constraint: None,
            strategy: Strategy::default(),
            pull_secret: None,
            allow: None,
            ignore: Vec::new(),
            helm: HelmTarget::default(),
            kustomize_name: None,
        }
    }

    /// Why `tag` may not be deployed, naming the rule; `None` when it may.
    pub fn refuses(&self, tag: &str) -> Option<String> {
        // `tag@sha256:…` (the digest strategy) is judged by its tag.
        let tag = tag.split('@').next().unwrap_or(tag);
        if let Some(TagRule::Regex(re)) = &self.allow
            && !re.is_match(tag)
        {
            return Some(format!("allow-tags `regexp:{}`", re.as_str()));
        }
        if let Some(pattern) = self.ignore.iter().find(|p| wildcard(p, tag)) {
            return Some(format!("ignore-tags `{pattern}`"));
        }
        let Some(constraint) = &self.constraint else {
            return None;
        };
        match self.strategy {
            Strategy::Semver => {
                match strategy::version(tag).map(|v| strategy::within(constraint, &v)) {
                    Some(Ok(true)) => None,
                    Some(Err(e)) => Some(e),
                    _ => Some(format!("the semver constraint `{constraint}`")),
                }
            }
            // The digest strategy follows one tag; it deploys as `tag@sha256:…`.
            Strategy::Digest if tag != constraint => Some(format!(
                "the digest strategy follows the tag `{constraint}` only"
            )),
            _ => None,
        }
    }

    /// The tags among `tags` this policy may deploy.
    pub fn allowed<'a>(&self, tags: &'a [String]) -> Vec<&'a String> {
        tags.iter().filter(|t| self.refuses(t).is_none()).collect()
    }
}

fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => text.strip_prefix(head).is_some_and(|rest| {
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| wildcard(tail, &rest[i..]))
        }),
    }
}

/// Policies from an Application's Image Updater annotations.
pub fn policies_from_annotations(
    annotations: &BTreeMap<String, String>,
) -> Result<Vec<ImagePolicy>, String> {
    let Some(list) = annotations.get(&format!("{PREFIX}image-list")) else {
        return Ok(Vec::new());
    };
    let mut policies = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (alias, image) = item.split_once('=').unwrap_or(("", item));
        // `repo:constraint`; a colon before the last slash is a registry port.
        let (repository, constraint) = super::split_reference(image);
        let alias = if alias.is_empty() {
            repository.rsplit('/').next().unwrap_or(repository)
        } else {
            alias
        };
        let mut policy = ImagePolicy::new(alias, repository);
        policy.constraint = constraint.filter(|c| !c.is_empty()).map(str::to_string);
        let get = |key: &str| annotations.get(&format!("{PREFIX}{alias}.{key}")).cloned();
        policy.allow = get("allow-tags").map(|t| TagRule::parse(&t)).transpose()?;
        policy.ignore = get("ignore-tags")
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        policy.helm = HelmTarget {
            image_name: get("helm.image-name"),
            image_tag: get("helm.image-tag"),
            image_spec: get("helm.image-spec"),
        };
        policy.kustomize_name = get("kustomize.image-name");
        if let Some(text) = get("update-strategy") {
            policy.strategy = Strategy::parse(&text)?;
        }
        policy.pull_secret = get("pull-secret");
        policies.push(policy);
    }
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_policy_allows_snapshots_only() {
        let annotations: BTreeMap<String, String> = [
            (
                format!("{PREFIX}image-list"),
                "web=registry.example/shop/web".to_string(),
            ),
            (
                format!("{PREFIX}web.allow-tags"),
                r"regexp:2\.\d+\.\d+-SNAPSHOT".to_string(),
            ),
            (
                format!("{PREFIX}web.helm.image-tag"),
                ".image.tag".to_string(),
            ),
        ]
        .into();
        let policies = policies_from_annotations(&annotations).unwrap();
        let web = &policies[0];
        assert_eq!(web.alias, "web");
        assert_eq!(web.repository, "registry.example/shop/web");
        assert_eq!(web.helm.image_tag.as_deref(), Some(".image.tag"));
        assert_eq!(web.refuses("2.3.0-SNAPSHOT"), None);
        assert!(web.refuses("2.3.0").unwrap().contains("allow-tags"));
        assert!(web.refuses("latest").is_some());
    }

    #[test]
    fn constraints_and_ignore_lists() {
        let mut p = ImagePolicy::new("api", "ghcr.io/shop/api");
        p.constraint = Some("^2.1".into());
        p.ignore = vec!["2.1.9".into(), "*-rc*".into()];
        assert_eq!(p.refuses("2.4.0"), None);
        assert_eq!(p.refuses("v2.2.0"), None);
        assert!(
            p.refuses("3.0.0")
                .unwrap()
                .contains("semver constraint `^2.1`")
        );
        assert!(p.refuses("2.1.9").unwrap().contains("ignore-tags `2.1.9`"));
        assert!(
            p.refuses("2.5.0-rc1")
                .unwrap()
                .contains("ignore-tags `*-rc*`")
        );
        assert!(p.refuses("latest").is_some());
        let annotations: BTreeMap<String, String> = [(
            format!("{PREFIX}image-list"),
            "api=ghcr.io/shop/api:~1.4, registry:5000/tools".to_string(),
        )]
        .into();
        let policies = policies_from_annotations(&annotations).unwrap();
        assert_eq!(policies[0].constraint.as_deref(), Some("~1.4"));
        assert_eq!(policies[1].alias, "tools");
        assert_eq!(policies[1].repository, "registry:5000/tools");
        assert!(TagRule::parse("regexp:(").is_err());
        assert!(TagRule::parse("semver").is_err());
    }
}

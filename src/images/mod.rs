//! Image promotion: the pipeline names the tag it built (`--image web=2.4.1-SNAPSHOT`), the
//! app's policy (Argo CD Image Updater's annotations, or kpush's `images` block) decides
//! whether that tag may go to this environment, and the render puts it in place. All of it
//! happens before any cluster call.

mod policy;
mod rewrite;
pub mod strategy;
mod update;

pub use policy::{ImagePolicy, TagRule, policies_from_annotations};
pub use rewrite::rewrite_images;
pub use strategy::Strategy;
pub use update::{Choice, choose};

use std::fmt;

/// One image to deploy: which policy it answers to, and the reference to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub alias: Option<String>,
    pub repository: String,
    pub tag: String,
    /// Where to put the tag in Helm values and kustomize images.
    pub helm: HelmTarget,
    pub kustomize_name: Option<String>,
    /// Promoted by an earlier deploy (its revision) and kept because this run names no tag for
    /// it, as Argo CD keeps an Image Updater override until the next one.
    pub kept_from: Option<u64>,
    /// Chosen from the registry's tags by `--update-images`: how (for the plan).
    pub chosen: Option<String>,
}

/// The Helm values an image is written to (`image.repository` / `image.tag` by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelmTarget {
    pub image_name: Option<String>,
    pub image_tag: Option<String>,
    pub image_spec: Option<String>,
}

impl fmt::Display for Promotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// What `--image` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageArg {
    pub alias: Option<String>,
    pub repository: Option<String>,
    pub tag: String,
}

/// `ALIAS=TAG`, `ALIAS=REPO:TAG` or `REPO:TAG`.
pub fn parse_image_arg(text: &str) -> Result<ImageArg, String> {
    let text = text.trim();
    let (alias, reference) = match text.split_once('=') {
        Some((alias, reference)) => (Some(alias.trim().to_string()), reference.trim()),
        None => (None, text),
    };
    let (repository, tag) = split_reference(reference);
    let bad = || format!("`--image {text}` is not ALIAS=TAG, ALIAS=REPO:TAG or REPO:TAG");
    match (&alias, repository, tag) {
        (_, _, Some("")) => Err(bad()),
        (Some(a), _, _) if a.is_empty() => Err(bad()),
        (Some(_), repo, Some(tag)) => Ok(ImageArg {
            alias,
            repository: Some(repo.to_string()),
            tag: tag.to_string(),
        }),
        // `alias=tag`: no colon, the whole right side is the tag.
        (Some(_), tag, None) if !tag.is_empty() => Ok(ImageArg {
            alias,
            repository: None,
            tag: tag.to_string(),
        }),
        (None, repo, Some(tag)) if !repo.is_empty() => Ok(ImageArg {
            alias: None,
            repository: Some(repo.to_string()),
            tag: tag.to_string(),
        }),
        _ => Err(bad()),
    }
}

/// `registry:5000/web:1.2` → (`registry:5000/web`, `1.2`); a colon before the last slash is a
/// port, not a tag.
pub fn split_reference(reference: &str) -> (&str, Option<&str>) {
    let reference = reference.split('@').next().unwrap_or(reference);
    match reference.rfind(':') {
        Some(i) if !reference[i..].contains('/') => (&reference[..i], Some(&reference[i + 1..])),
        _ => (reference, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_arguments() {
        let arg = |alias: Option<&str>, repo: Option<&str>, tag: &str| ImageArg {
            alias: alias.map(str::to_string),
            repository: repo.map(str::to_string),
            tag: tag.to_string(),
        };
        let cases = [
            (
                "web=2.4.1-SNAPSHOT",
                arg(Some("web"), None, "2.4.1-SNAPSHOT"),
            ),
            (
                "web=registry:5000/shop/web:2.4.1",
                arg(Some("web"), Some("registry:5000/shop/web"), "2.4.1"),
            ),
            (
                "ghcr.io/shop/web:2.4.1",
                arg(None, Some("ghcr.io/shop/web"), "2.4.1"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_image_arg(text).unwrap(), expected, "{text}");
        }
        for bad in ["web", "=1.0", "web=", "web=repo:"] {
            assert!(parse_image_arg(bad).is_err(), "{bad}");
        }
    }
}

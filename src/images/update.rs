//! `--update-images`: for an image policy the run names no tag for, the registry's tags,
//! filtered by the policy and picked by its update strategy, as Argo CD Image Updater picks
//! them. The chosen tag is promoted like one given with `--image`.

use futures::StreamExt;

use super::{ImagePolicy, Promotion, Strategy};
use crate::registry::{RegistryError, Repository};

/// How many image configs are read at once for `newest-build`.
const CONCURRENT_READS: usize = 8;

/// What the registry offered for one policy.
pub enum Choice {
    Chosen(Promotion),
    /// No tag qualifies; says why (the image stays as it is).
    Nothing(String),
}

/// The tag `policy`'s strategy picks from its repository's tags now.
pub async fn choose(policy: &ImagePolicy) -> Result<Choice, RegistryError> {
    let repository = Repository::open(&policy.repository, policy.pull_secret.as_deref())?;
    let (tag, how) = match policy.strategy {
        Strategy::Digest => {
            let Some(tag) = &policy.constraint else {
                return Err(RegistryError {
                    repo: policy.repository.clone(),
                    message: format!(
                        "image `{}` has the digest strategy but names no tag to follow",
                        policy.alias
                    ),
                    hint: Some(format!(
                        "name it in the policy: `{}:latest` in image-list, or `constraint: latest`",
                        policy.repository
                    )),
                });
            };
            let digest = repository.digest(tag).await?;
            (
                format!("{tag}@{digest}"),
                format!("digest: `{tag}` is {digest} now"),
            )
        }
        strategy => {
            let tags = repository.tags().await?;
            let allowed = policy.allowed(&tags);
            let mut candidates: Vec<(String, Option<jiff::Timestamp>)> =
                allowed.iter().map(|t| ((*t).clone(), None)).collect();
            if strategy == Strategy::NewestBuild {
                let dated: Vec<Result<_, RegistryError>> = futures::stream::iter(allowed)
                    .map(|tag| {
                        let repository = &repository;
                        async move { Ok((tag.clone(), repository.created(tag).await?)) }
                    })
                    .buffer_unordered(CONCURRENT_READS)
                    .collect()
                    .await;
                candidates = dated.into_iter().collect::<Result<_, _>>()?;
            }
            let Some(tag) = super::strategy::pick(strategy, &candidates) else {
                return Ok(Choice::Nothing(format!(
                    "image `{}`: none of the {} tag(s) of {} qualifies ({} of them allowed by the policy; {})",
                    policy.alias,
                    tags.len(),
                    policy.repository,
                    candidates.len(),
                    match strategy {
                        Strategy::Semver => "semver takes tags that are versions",
                        Strategy::NewestBuild => "newest-build takes images with a build date",
                        _ => "the strategy found none",
                    }
                )));
            };
            let rule = match (&policy.constraint, strategy) {
                (Some(c), Strategy::Semver) => format!("semver `{c}`"),
                _ => strategy.name().to_string(),
            };
            let built = candidates
                .iter()
                .find(|(t, _)| *t == tag)
                .and_then(|(_, created)| *created)
                .map(|c| format!(", built {c}"))
                .unwrap_or_default();
            let how = format!(
                "{rule}: chosen from {} allowed of {} tag(s) in the registry{built}",
                candidates.len(),
                tags.len()
            );
            (tag, how)
        }
    };
    // The same check a tag given with `--image` passes.
    if let Some(rule) = policy.refuses(&tag) {
        return Ok(Choice::Nothing(format!(
            "image `{}`: the registry's {tag} is refused by {rule}",
            policy.alias
        )));
    }
    Ok(Choice::Chosen(Promotion {
        alias: Some(policy.alias.clone()),
        repository: policy.repository.clone(),
        tag,
        helm: policy.helm.clone(),
        kustomize_name: policy.kustomize_name.clone(),
        kept_from: None,
        chosen: Some(how),
    }))
}

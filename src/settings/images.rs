//! The images a run promotes (`--image`, `--images-file`, `KPUSH_IMAGES`), each checked
//! against the policy of the app it is for.

use crate::cli::SourceArgs;
use crate::images::{ImageArg, ImagePolicy, Promotion, parse_image_arg};

use super::error::SettingsError;

/// `--image`, `--images-file` and `KPUSH_IMAGES`, parsed.
pub(super) fn image_args(source: &SourceArgs) -> Result<Vec<ImageArg>, SettingsError> {
    let mut texts: Vec<String> = source.images.clone();
    if let Some(file) = &source.images_file {
        let text = std::fs::read_to_string(file).map_err(|error| SettingsError::ImagesFile {
            file: file.clone(),
            error,
        })?;
        texts.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                .filter(|l| !l.is_empty()),
        );
    }
    if let Ok(env) = std::env::var("KPUSH_IMAGES") {
        texts.extend(
            env.split([',', '\n'])
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
    }
    texts
        .iter()
        .map(|t| parse_image_arg(t).map_err(SettingsError::ImageArg))
        .collect()
}

/// The app's policies with the environment's replacing those of the same alias.
pub(super) fn effective_policies(app: &[ImagePolicy], env: &[ImagePolicy]) -> Vec<ImagePolicy> {
    let mut policies = app.to_vec();
    for over in env {
        match policies.iter_mut().find(|p| p.alias == over.alias) {
            Some(p) => {
                let repository = p.repository.clone();
                *p = over.clone();
                if p.repository.is_empty() {
                    p.repository = repository;
                }
            }
            None => policies.push(over.clone()),
        }
    }
    policies
}

/// The images to promote for one app, each checked against its policy. A repository that no
/// policy of an app with policies names is for another app, and skipped.
pub(super) fn promotions(
    args: &[ImageArg],
    policies: &[ImagePolicy],
    app: &str,
    env: Option<&str>,
) -> Result<Vec<Promotion>, SettingsError> {
    let mut out = Vec::new();
    for arg in args {
        let policy = match (&arg.alias, &arg.repository) {
            // An alias another app of the run defines; `resolve` checks that some app does.
            (Some(alias), _) => match policies.iter().find(|p| &p.alias == alias) {
                Some(p) => Some(p),
                None => continue,
            },
            (None, Some(repo)) => match policies.iter().find(|p| &p.repository == repo) {
                Some(p) => Some(p),
                None if policies.is_empty() => None,
                None => continue,
            },
            (None, None) => continue,
        };
        let repository = arg
            .repository
            .clone()
            .or_else(|| policy.map(|p| p.repository.clone()))
            .unwrap_or_default();
        if let Some(p) = policy {
            if p.repository != repository {
                return Err(SettingsError::WrongRepository {
                    alias: p.alias.clone(),
                    repository,
                    expected: p.repository.clone(),
                });
            }
            if let Some(rule) = p.refuses(&arg.tag) {
                return Err(SettingsError::TagRefused {
                    alias: p.alias.clone(),
                    tag: arg.tag.clone(),
                    app: app.to_string(),
                    env: env.map(str::to_string),
                    rule: rule.to_string(),
                });
            }
        }
        out.push(Promotion {
            alias: policy
                .map(|p| p.alias.clone())
                .or_else(|| arg.alias.clone()),
            repository,
            tag: arg.tag.clone(),
            helm: policy.map(|p| p.helm.clone()).unwrap_or_default(),
            kustomize_name: policy.and_then(|p| p.kustomize_name.clone()),
            kept_from: None,
            chosen: None,
        });
    }
    Ok(out)
}

/// Every alias an `--image` names must be defined by some app of the run.
pub(super) fn check_aliases(
    args: &[ImageArg],
    known: &std::collections::BTreeSet<String>,
) -> Result<(), SettingsError> {
    match args
        .iter()
        .filter_map(|a| a.alias.as_ref())
        .find(|a| !known.contains(*a))
    {
        Some(alias) => Err(SettingsError::UnknownAlias {
            alias: alias.clone(),
            known: known.iter().cloned().collect(),
        }),
        None => Ok(()),
    }
}

/// `--update-images`: each app's policies that no `--image` names get the tag their registry
/// and strategy choose, promoted like a named one. Returns what could not be updated, as
/// warnings (the image stays as the manifests or an earlier promotion have it).
pub async fn update_from_registries(
    apps: &mut [crate::deploy::AppRun],
) -> Result<Vec<String>, crate::error::Error> {
    let mut warnings = Vec::new();
    let mut any_policy = false;
    for run in apps.iter_mut().filter(|run| run.update_images) {
        let policies: Vec<ImagePolicy> = run
            .image_policies
            .iter()
            .filter(|p| {
                !run.images
                    .iter()
                    .any(|i| i.alias.as_deref() == Some(&p.alias))
            })
            .cloned()
            .collect();
        any_policy |= !run.image_policies.is_empty();
        for policy in policies {
            match crate::images::choose(&policy).await? {
                crate::images::Choice::Chosen(promotion) => {
                    tracing::info!(app = %run.name, image = %promotion, "chosen from the registry");
                    run.images.push(promotion);
                }
                crate::images::Choice::Nothing(why) => {
                    warnings.push(format!(
                        "app `{}`: {why}; the image is not updated",
                        run.name
                    ));
                }
            }
        }
        run.render.images = run.images.clone();
    }
    if !any_policy {
        warnings.push(
            "--update-images: no app of this run has an image policy (Image Updater annotations or kpush's `images` block); nothing to update".to_string(),
        );
    }
    Ok(warnings)
}

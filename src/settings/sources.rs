//! Where each source of a multi-source app is read: this repository (at the commit deployed),
//! or another git repository fetched at the source's `targetRevision`.

use crate::config::{AppConfig, SourceSpec};
use crate::render::RenderSpec;
use crate::source::remote::GitOrigin;

/// Sets, for each source of `render` (built from `app`), whether it and the `ref` sources its
/// values files name are read from this repository or fetched. An app with a single `source`
/// is always read from this repository (a `repoURL` that is not a remote is a warning): kpush
/// deploys the commit the pipeline checked out.
pub(super) fn place(app: &AppConfig, render: &mut RenderSpec, remotes: &[String]) {
    let multi = !app.source.more.is_empty() || !app.source.refs.is_empty();
    let local = |url: &str| {
        !multi
            || url.is_empty()
            || remotes.is_empty()
            || remotes.iter().any(|r| super::same_repo(r, url))
    };
    let origin = |url: &str, revision: &Option<String>| GitOrigin {
        url: url.to_string(),
        revision: revision.clone().unwrap_or_else(|| "HEAD".to_string()),
    };
    let foreign_refs: Vec<(String, GitOrigin)> = app
        .source
        .refs
        .iter()
        .filter(|r| !local(&r.url))
        .map(|r| (r.name.clone(), origin(&r.url, &r.revision)))
        .collect();
    let place_one = |spec: &mut RenderSpec, source: &SourceSpec| {
        for file in &mut spec.helm.value_files {
            let Some(rest) = file.strip_prefix('$') else {
                continue;
            };
            let (name, within) = rest.split_once('/').unwrap_or((rest, ""));
            if !foreign_refs.iter().any(|(n, _)| n == name) {
                *file = format!("$/{within}");
            }
        }
        spec.refs = foreign_refs.clone();
        let url = source.repo_url.as_deref().unwrap_or("");
        if source.chart.is_none() && !local(url) {
            spec.origin = Some(origin(url, &source.target_revision));
        }
    };
    place_one(render, &app.source);
    for (spec, source) in render.more.iter_mut().zip(&app.source.more) {
        place_one(spec, source);
    }
}
